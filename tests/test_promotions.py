"""Code-linked promotions through the API: the seed's 10% example, typed refusals that write
nothing, limits under 200 and 20 concurrent redemptions, linked codes, returns giving codes
back, uploads reported per row, and generated codes' uniqueness and alphabet."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, insert, select

from app.catalog.models import Product
from app.promotions import rules
from app.promotions import service as promotions_service
from app.promotions.models import PromoCode, PromoCodeRedemption
from tests.client import add_transaction, no_lock_errors_logged, post_at_once, purchase_day
from tests.conftest import POSTGRES_URL, TEST_NOW, org_config
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile
from tests.snapshots import table_counts
from tests.test_products import waiting_backends

NOW = TEST_NOW
products = Product.__table__

PROMOTION_FIELDS = """
id name validFrom validUntil action minimumBillAmount eligibleItemCodes percent amount freeItemCode bundleItemCodes
codeRedemptionLimit customerCodeRedemptionLimit redemptionLimit customerTransactionLimit redemptionsCount codesCount
"""

CREATE_PROMOTION = f"""
mutation Create($input: CartPromotionInput!) {{
  createPromotion(input: $input) {{
    __typename
    ... on CartPromotionCreated {{ replayed promotion {{ {PROMOTION_FIELDS} }} }}
    ... on Error {{ code message field }}
  }}
}}
"""

ADD_WITH_PROMO = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      replayed
      transaction {
        id number amount discount promoDiscount billingTime
        customer { userId }
        sideEffects { __typename ... on PromoCodeSideEffect { code promotionId promotionName discount linked } }
      }
    }
    ... on Error { code message field }
  }
}
"""

VALIDATE = """
query Validate($input: ValidatePromoCodeInput!) {
  validatePromoCode(input: $input) {
    __typename
    ... on PromoCodeValidated { code promotionId promotionName discount amountAfterDiscount }
    ... on Error { code message field }
  }
}
"""

STATUS = """
query Status($code: String!, $first: Int = 10, $after: String) {
  promoCodeStatus(code: $code, first: $first, after: $after) {
    __typename
    ... on PromoCodeStatus {
      code source redemptionsCount redemptionsLeft
      promotion { id name redemptionsCount codeRedemptionLimit }
      redemptions {
        nodes { id customerId transactionId transactionNumber discount linked reversed reversalTransactionId }
        pageInfo { hasNextPage endCursor }
      }
    }
    ... on Error { code message field }
  }
}
"""

LINK = """
mutation Link($input: LinkPromoCodeInput!) {
  linkPromoCode(input: $input) {
    __typename
    ... on PromoCodeLinked { replayed link { id code customerId mode promotionName usedAt usedTransactionId } }
    ... on Error { code message field }
  }
}
"""

LINKED = """
query Linked($customer: CustomerLookupInput!) {
  linkedPromoCodes(customer: $customer) {
    __typename
    ... on LinkedPromoCodes { customerId links { code mode usedAt usedTransactionId } }
    ... on Error { code message field }
  }
}
"""

GENERATE = """
mutation Generate($input: GeneratePromoCodesInput!) {
  generatePromoCodes(input: $input) {
    __typename
    ... on PromoCodesGenerated { generated replayed promotion { codesCount } }
    ... on Error { code message field }
  }
}
"""

UPLOAD = """
mutation Upload($input: UploadPromoCodesInput!) {
  uploadPromoCodes(input: $input) {
    __typename
    ... on PromoCodesUploaded { rows stored errors { row column code errorCode message } promotion { codesCount } }
    ... on Error { code message field }
  }
}
"""


# --- Helpers --------------------------------------------------------------------------------


def promotion_input(**overrides):
    document = {
        "name": "10% off a bill over 100",
        "validFrom": (NOW - timedelta(days=1)).isoformat(),
        "validUntil": (NOW + timedelta(days=30)).isoformat(),
        "action": "PERCENT_OFF",
        "percent": "10",
        "minimumBillAmount": "100",
    }
    document.update(overrides)
    return document


async def create_promotion(api, **overrides):
    result = (await api.data(CREATE_PROMOTION, {"input": promotion_input(**overrides)}))["createPromotion"]
    assert result["__typename"] == "CartPromotionCreated", result
    return result["promotion"]


# What addTransaction answers for a bill, read with the promotion fields.
add = functools.partial(add_transaction, query=ADD_WITH_PROMO)


def small_bill(amount, **overrides):
    """A one-line bill of `amount` for a new customer."""
    return bill(
        amount=amount,
        grossAmount=amount,
        discount="0",
        lineItems=[
            {"serial": 1, "itemCode": "SHIRT-01", "qty": "1", "rate": amount, "value": amount, "amount": amount}
        ],
        **overrides,
    )


def promo_effects(result):
    return [effect for effect in result["transaction"]["sideEffects"] if effect["__typename"] == "PromoCodeSideEffect"]


async def status(api, code, **variables):
    return (await api.data(STATUS, {"code": code, **variables}))["promoCodeStatus"]


async def counters_match(database, org_id):
    async with database.read() as connection:
        return await promotions_service.reconcile_promotions(connection, org_id) == []


async def upload(database, org, promotion, csv_text):
    config = await org_config(database, org.org_id)
    report = await promotions_service.upload_codes(
        database, config, int(promotion["id"]), csv_text, "REJECT_ALL", now=TEST_NOW
    )
    assert report.errors == []


async def redemption_rows(database):
    async with database.read() as connection:
        return (
            await connection.execute(
                select(func.count())
                .select_from(PromoCodeRedemption.__table__)
                .where(PromoCodeRedemption.__table__.c.reversed_at.is_(None))
            )
        ).scalar_one()


# --- The seed's example and the typed refusals ----------------------------------------------


async def test_seed_example_ten_percent_off_a_bill_over_100(api, database, org):
    promotion = await create_promotion(api, commonCode="ZN34C")
    assert (promotion["action"], promotion["percent"], promotion["minimumBillAmount"], promotion["codesCount"]) == (
        "PERCENT_OFF",
        "10",
        "100",
        1,
    )

    validated = (await api.data(VALIDATE, {"input": {"code": "zn34c", "cart": {"amount": "123.45"}}}))[
        "validatePromoCode"
    ]
    assert validated == {
        "__typename": "PromoCodeValidated",
        "code": "ZN34C",
        "promotionId": promotion["id"],
        "promotionName": "10% off a bill over 100",
        "discount": "12.35",
        "amountAfterDiscount": "111.1",
    }

    result = await add(api, small_bill("123.45", promoCodes=["zn34c"]))
    assert result["__typename"] == "TransactionAdded", result
    # 10% of 123.45 is 12.345: rounded half up to the currency's 2 places.
    assert result["transaction"]["promoDiscount"] == "12.35"
    assert promo_effects(result) == [
        {
            "__typename": "PromoCodeSideEffect",
            "code": "ZN34C",
            "promotionId": promotion["id"],
            "promotionName": "10% off a bill over 100",
            "discount": "12.35",
            "linked": False,
        }
    ]
    # The seed's "more than 100": 100 itself qualifies (at least), 99.99 does not.
    assert promo_effects(await add(api, small_bill("100", couponRedemptions=["ZN34C"])))[0]["discount"] == "10"
    found = await status(api, "ZN34C")
    assert (found["redemptionsCount"], found["redemptionsLeft"], found["promotion"]["redemptionsCount"]) == (2, None, 2)
    assert [node["discount"] for node in found["redemptions"]["nodes"]] == ["10", "12.35"]
    assert found["redemptions"]["nodes"][1]["transactionId"] == result["transaction"]["id"]
    assert found["redemptions"]["nodes"][1]["customerId"] == result["transaction"]["customer"]["userId"]
    assert await counters_match(database, org.org_id)


async def test_each_refusal_has_its_own_type_and_writes_nothing(api, database):
    await create_promotion(api, commonCode="CURRENT10")
    await create_promotion(
        api,
        name="ended",
        commonCode="ENDED10",
        validFrom="2020-01-01T00:00:00+05:30",
        validUntil="2020-02-01T00:00:00+05:30",
    )
    await create_promotion(
        api,
        name="later",
        commonCode="LATER10",
        validFrom=(NOW + timedelta(days=2)).isoformat(),
        validUntil=(NOW + timedelta(days=9)).isoformat(),
    )
    await create_promotion(
        api,
        name="shirts only",
        commonCode="SHIRTS5",
        action="FIXED_AMOUNT_OFF",
        percent=None,
        amount="5",
        minimumBillAmount=None,
        eligibleItemCodes=["SHIRT-99"],
    )
    before = await table_counts(database)
    cases = [
        ("NOPE99", "123.45", "PromoCodeUnknownError", "PROMO_CODE_UNKNOWN"),
        ("ENDED10", "123.45", "PromoCodeExpiredError", "PROMO_CODE_EXPIRED"),
        ("LATER10", "123.45", "PromoCodeNotYetActiveError", "PROMO_CODE_NOT_YET_ACTIVE"),
        ("CURRENT10", "99.99", "PromoConditionsNotMetError", "PROMO_CONDITIONS_NOT_MET"),
        ("SHIRTS5", "500", "PromoConditionsNotMetError", "PROMO_CONDITIONS_NOT_MET"),
    ]
    for code, amount, typename, error_code in cases:
        result = await add(api, small_bill(amount, promoCodes=["CURRENT10", code] if code != "CURRENT10" else [code]))
        assert (result["__typename"], result["code"]) == (typename, error_code), result
        assert result["field"] == ("input.promoCodes[1]" if code != "CURRENT10" else "input.promoCodes[0]")
        validated = (
            await api.data(
                VALIDATE,
                {
                    "input": {
                        "code": code,
                        "cart": {
                            "amount": amount,
                            "lineItems": [{"itemCode": "SHIRT-01", "qty": "1", "amount": amount}],
                        },
                    }
                },
            )
        )["validatePromoCode"]
        assert (validated["__typename"], validated["code"], validated["field"]) == (typename, error_code, "input.code")
    assert await table_counts(database) == before


async def test_a_code_named_twice_or_two_codes_of_one_promotion_are_refused(api, database, org):
    promotion = await create_promotion(api)
    await upload(database, org, promotion, "code\nPAIR-A\nPAIR-B\n")
    before = await table_counts(database)
    twice = await add(api, small_bill("200", promoCodes=["PAIR-A"], couponRedemptions=["pair-a"]))
    assert (twice["__typename"], twice["field"]) == ("InvalidInputError", "input.couponRedemptions[0]")
    same = await add(api, small_bill("200", promoCodes=["PAIR-A", "PAIR-B"]))
    assert (same["__typename"], same["field"]) == ("InvalidInputError", "input.promoCodes[1]")
    assert await table_counts(database) == before


async def test_a_non_loyalty_bill_redeems_a_code_and_a_replay_does_not_redeem_twice(api, database, org):
    await create_promotion(api, commonCode="WALKIN", codeRedemptionLimit=5)
    anonymous = small_bill(
        "250", type="NOT_INTERESTED", customer=None, promoCodes=["WALKIN"], idempotencyKey="walk-in-1"
    )
    first = await add(api, anonymous)
    assert (first["__typename"], first["transaction"]["customer"], first["transaction"]["promoDiscount"]) == (
        "TransactionAdded",
        None,
        "25",
    )
    again = await add(api, anonymous)
    assert (again["replayed"], again["transaction"]["id"], again["transaction"]["promoDiscount"]) == (
        True,
        first["transaction"]["id"],
        "25",
    )
    same_payload = await add(api, {**anonymous, "idempotencyKey": None})
    assert same_payload["replayed"] is True
    spelled_otherwise = await add(api, {**anonymous, "idempotencyKey": None, "promoCodes": [" walkin "]})
    assert (spelled_otherwise["replayed"], spelled_otherwise["transaction"]["id"]) == (True, first["transaction"]["id"])
    found = await status(api, "WALKIN")
    assert (found["redemptionsCount"], found["redemptionsLeft"]) == (1, 4)
    assert found["redemptions"]["nodes"][0]["customerId"] is None
    assert await counters_match(database, org.org_id)


# --- Limits under concurrency ---------------------------------------------------------------


async def test_200_concurrent_redemptions_of_a_code_limited_to_100(api, database, org, caplog):
    caplog.set_level(logging.INFO)
    await create_promotion(api, commonCode="HOLIMAN100", codeRedemptionLimit=100)
    documents = [small_bill("150", promoCodes=["HOLIMAN100"]) for _ in range(200)]

    results = await post_at_once(api, ADD_WITH_PROMO, documents)

    kinds = [result["__typename"] for result in results]
    assert kinds.count("TransactionAdded") == 100
    assert kinds.count("PromoCodeLimitReachedError") == 100
    assert {result["code"] for result in results if result["__typename"] != "TransactionAdded"} == {
        "PROMO_CODE_LIMIT_REACHED"
    }
    assert {
        result["transaction"]["promoDiscount"] for result in results if result["__typename"] == "TransactionAdded"
    } == {"15"}
    found = await status(api, "HOLIMAN100", first=100)
    assert (found["redemptionsCount"], found["redemptionsLeft"], found["promotion"]["redemptionsCount"]) == (
        100,
        0,
        100,
    )
    assert await redemption_rows(database) == 100
    assert await counters_match(database, org.org_id)
    # Only the successful bills were written.
    assert (await table_counts(database))["transactions"] == 100
    assert no_lock_errors_logged(caplog)


async def test_a_customer_limit_of_1_holds_against_20_concurrent_bills(api, database, org, caplog):
    caplog.set_level(logging.INFO)
    await create_promotion(api, commonCode="ONCEEACH", customerCodeRedemptionLimit=1)
    mobile = new_mobile()
    documents = [small_bill("150", customer={"mobile": mobile}, promoCodes=["ONCEEACH"]) for _ in range(20)]

    results = await post_at_once(api, ADD_WITH_PROMO, documents)

    kinds = [result["__typename"] for result in results]
    assert kinds.count("TransactionAdded") == 1
    assert kinds.count("PromoCodeCustomerLimitReachedError") == 19
    assert await redemption_rows(database) == 1
    assert await counters_match(database, org.org_id)
    assert no_lock_errors_logged(caplog)
    # Another customer still may.
    other = await add(api, small_bill("150", promoCodes=["ONCEEACH"]))
    assert other["__typename"] == "TransactionAdded"


async def test_transactions_per_customer_and_per_promotion_limits(api, database, org):
    promotion = await create_promotion(api, customerTransactionLimit=1, redemptionLimit=2)
    await upload(database, org, promotion, "code\nTXN-A\nTXN-B\nTXN-C\n")
    mobile = new_mobile()
    assert (await add(api, small_bill("200", customer={"mobile": mobile}, promoCodes=["TXN-A"])))[
        "__typename"
    ] == "TransactionAdded"
    # A second code of the same promotion: the customer's one bill is used.
    second = await add(api, small_bill("200", customer={"mobile": mobile}, promoCodes=["TXN-B"]))
    assert (second["__typename"], second["field"]) == ("PromoCodeCustomerLimitReachedError", "input.promoCodes[0]")
    assert (await add(api, small_bill("200", promoCodes=["TXN-B"])))["__typename"] == "TransactionAdded"
    # Two redemptions across all codes: the promotion is used up.
    third = await add(api, small_bill("200", promoCodes=["TXN-C"]))
    assert third["__typename"] == "PromoCodeLimitReachedError"
    validated = (await api.data(VALIDATE, {"input": {"code": "TXN-C", "cart": {"amount": "200"}}}))["validatePromoCode"]
    assert validated["__typename"] == "PromoCodeLimitReachedError"
    assert await counters_match(database, org.org_id)


@pytest.mark.skipif(not POSTGRES_URL, reason="bills run side by side on PostgreSQL only")
@pytest.mark.parametrize(
    "limits",
    [{}, {"codeRedemptionLimit": 10, "redemptionLimit": 10}],
    ids=["without limits", "with limits on the code and the promotion"],
)
async def test_a_bill_held_open_does_not_hold_back_another_applying_the_same_promotion(api, database, org, limits):
    # Given a promotion's common code, and a bill applying it held open mid-transaction after the
    # code was applied (it waits on a new product another session holds uncommitted).
    await create_promotion(api, commonCode="EVERYONE", **limits)
    held_bill = small_bill("150", promoCodes=["EVERYONE"])
    held_bill["lineItems"][0]["itemCode"] = "HELD-01"
    async with holding_product(database, org, "HELD-01") as holder:
        held = asyncio.create_task(add(api, held_bill))
        await until_waiting(holder, held)

        # When another customer's bill applies the same code.
        other = await answered_beside(holder, add(api, small_bill("150", promoCodes=["EVERYONE"])))

        # Then it was added while the first bill is still open, and only the held bill waits.
        assert [effect["code"] for effect in promo_effects(other)] == ["EVERYONE"]
        assert not held.done()
        await holder.rollback()
    assert [effect["code"] for effect in promo_effects(await held)] == ["EVERYONE"]
    found = await status(api, "EVERYONE")
    assert (found["redemptionsCount"], found["promotion"]["redemptionsCount"]) == (2, 2)
    assert await redemption_rows(database) == 2
    assert await counters_match(database, org.org_id)


@pytest.mark.skipif(not POSTGRES_URL, reason="bills run side by side on PostgreSQL only")
async def test_an_exchange_held_open_after_giving_a_code_back_does_not_hold_back_a_bill_applying_it(api, database, org):
    # Given a bill that applied a promotion's code, and an exchange returning all of it held open
    # mid-transaction after the return gave the code back (its new purchase waits on a new
    # product another session holds uncommitted).
    await create_promotion(api, commonCode="SWAPPED")
    mobile = new_mobile()
    first = await add(api, small_bill("300", customer={"mobile": mobile}, promoCodes=["SWAPPED"]))
    transaction = first["transaction"]
    exchange = exchange_of(transaction, mobile, "SWAP-1", "HELD-02", "100")
    async with holding_product(database, org, "HELD-02") as holder:
        held = asyncio.create_task(api.data(RETURN_TRANSACTION, {"input": exchange}))
        await until_waiting(holder, held)

        # When another customer's bill applies the same code.
        other = await answered_beside(holder, add(api, small_bill("150", promoCodes=["SWAPPED"])))

        # Then it was added while the exchange is still open (the code's and the promotion's
        # counters are given back as the exchange's last statements), and only the exchange waits.
        assert [effect["code"] for effect in promo_effects(other)] == ["SWAPPED"]
        assert not held.done()
        await holder.rollback()
    returned = (await held)["returnTransaction"]
    assert returned["__typename"] == "TransactionReturned", returned
    found = await status(api, "SWAPPED")
    assert (found["redemptionsCount"], found["promotion"]["redemptionsCount"]) == (1, 1)
    assert [node["reversed"] for node in found["redemptions"]["nodes"]] == [False, True]
    assert await counters_match(database, org.org_id)


def exchange_of(transaction, mobile, number, item_code, rate):
    """A MIXED return of a one-line bill (all of it) that buys one `item_code` at `rate` as `number`."""
    return {
        "type": "MIXED",
        "returnType": "LINE_ITEM",
        "number": transaction["number"],
        "purchaseTime": purchase_day(transaction),
        "tillCode": "till-1",
        "customer": {"mobile": mobile},
        "parentBillNumber": number,
        "lineItems": [
            {"type": "RETURN", "serial": 1, "qty": "1"},
            {"type": "REGULAR", "itemCode": item_code, "qty": "1", "rate": rate},
        ],
    }


@contextlib.asynccontextmanager
async def holding_product(database, org, item_code):
    """A session that has inserted the product `item_code` and not committed: a write naming it
    waits on this session until it rolls back (PostgreSQL)."""
    async with database.write_engine.connect() as holder:
        await holder.begin()
        await holder.execute(
            insert(products).values(
                org_id=org.org_id, item_code=item_code, variant_code="", description="", created_at=NOW
            )
        )
        yield holder


async def until_waiting(holder, held):
    """Until the held write waits on the holder's product (each turn a few ms)."""
    for _ in range(3000):
        if held.done() or await waiting_backends(holder) == 1:
            break
        await asyncio.sleep(0.01)
    assert await waiting_backends(holder) == 1


async def answered_beside(holder, request):
    """The answer to `request`, asserted to come while the held write still waits, and with no
    other backend waiting (a request waiting on the held write's locks is never answered here)."""
    other = asyncio.create_task(request)
    for _ in range(3000):  # until it is answered, or waits on a lock the held write holds
        if other.done() or await waiting_backends(holder) > 1:
            break
        await asyncio.sleep(0.01)
    assert await waiting_backends(holder) == 1
    assert other.done()
    return await other


# --- Returns ----------------------------------------------------------------------------------


async def test_a_full_return_gives_the_code_back(api, database, org):
    await create_promotion(api, commonCode="JUSTONE", codeRedemptionLimit=1)
    mobile = new_mobile()
    first = await add(api, small_bill("300", customer={"mobile": mobile}, promoCodes=["JUSTONE"]))
    assert first["__typename"] == "TransactionAdded"
    assert (await add(api, small_bill("300", promoCodes=["JUSTONE"])))["__typename"] == "PromoCodeLimitReachedError"

    transaction = first["transaction"]
    returned = (
        await api.data(
            RETURN_TRANSACTION,
            {
                "input": {
                    "type": "RETURN",
                    "returnType": "FULL",
                    "number": transaction["number"],
                    "purchaseTime": purchase_day(transaction),
                    "tillCode": "till-1",
                    "customer": {"mobile": mobile},
                }
            },
        )
    )["returnTransaction"]
    assert returned["__typename"] == "TransactionReturned", returned

    found = await status(api, "JUSTONE")
    assert (found["redemptionsCount"], found["redemptionsLeft"]) == (0, 1)
    node = found["redemptions"]["nodes"][0]
    assert (node["reversed"], node["reversalTransactionId"]) == (True, returned["transaction"]["id"])
    assert await counters_match(database, org.org_id)
    again = await add(api, small_bill("300", promoCodes=["JUSTONE"]))
    assert (again["__typename"], again["transaction"]["promoDiscount"]) == ("TransactionAdded", "30")


async def test_a_partial_return_keeps_the_code_redeemed(api, database, org):
    await create_promotion(api, commonCode="PARTIAL1", codeRedemptionLimit=1)
    mobile = new_mobile()
    first = await add(api, small_bill("300", customer={"mobile": mobile}, promoCodes=["PARTIAL1"]))
    returned = (
        await api.data(
            RETURN_TRANSACTION,
            {
                "input": {
                    "type": "RETURN",
                    "returnType": "AMOUNT",
                    "amount": "100",
                    "number": first["transaction"]["number"],
                    "purchaseTime": purchase_day(first["transaction"]),
                    "tillCode": "till-1",
                    "customer": {"mobile": mobile},
                }
            },
        )
    )["returnTransaction"]
    assert returned["__typename"] == "TransactionReturned", returned
    found = await status(api, "PARTIAL1")
    assert (found["redemptionsCount"], found["redemptions"]["nodes"][0]["reversed"]) == (1, False)
    assert await counters_match(database, org.org_id)


# --- Linked codes -----------------------------------------------------------------------------


async def test_a_linked_code_applies_on_the_customers_next_qualifying_bill_only(api, database, org):
    promotion = await create_promotion(api, name="coalition coupon")
    await upload(database, org, promotion, "code\nPAPER-1\n")
    owner, stranger = new_mobile(), new_mobile()
    await add(api, small_bill("10", customer={"mobile": owner}))  # registers the owner

    linked = (await api.data(LINK, {"input": {"code": "paper-1", "customer": by_mobile(owner)}}))["linkPromoCode"]
    assert linked["__typename"] == "PromoCodeLinked", linked
    assert (linked["replayed"], linked["link"]["code"], linked["link"]["mode"], linked["link"]["usedAt"]) == (
        False,
        "PAPER-1",
        "NEXT_CHECKOUT",
        None,
    )
    again = (await api.data(LINK, {"input": {"code": "PAPER-1", "customer": by_mobile(owner)}}))["linkPromoCode"]
    assert (again["replayed"], again["link"]["id"]) == (True, linked["link"]["id"])
    await add(api, small_bill("10", customer={"mobile": stranger}))
    taken = (await api.data(LINK, {"input": {"code": "PAPER-1", "customer": by_mobile(stranger)}}))["linkPromoCode"]
    assert (taken["__typename"], taken["code"]) == ("ConflictError", "PROMO_CODE_LINKED_TO_ANOTHER_CUSTOMER")

    # Another customer's bill: not applied. The owner's bill under the minimum: skipped silently.
    assert promo_effects(await add(api, small_bill("500", customer={"mobile": stranger}))) == []
    small = await add(api, small_bill("50", customer={"mobile": owner}))
    assert (small["__typename"], promo_effects(small)) == ("TransactionAdded", [])
    # The owner's next qualifying bill: applied without being named.
    applied = await add(api, small_bill("500", customer={"mobile": owner}))
    assert [(effect["code"], effect["discount"], effect["linked"]) for effect in promo_effects(applied)] == [
        ("PAPER-1", "50", True)
    ]
    # Used up: the bill after that gets nothing.
    assert promo_effects(await add(api, small_bill("500", customer={"mobile": owner}))) == []
    links = (await api.data(LINKED, {"customer": by_mobile(owner)}))["linkedPromoCodes"]
    assert [(link["code"], link["usedTransactionId"]) for link in links["links"]] == [
        ("PAPER-1", applied["transaction"]["id"])
    ]
    found = await status(api, "PAPER-1")
    assert [(node["linked"], node["transactionId"]) for node in found["redemptions"]["nodes"]] == [
        (True, applied["transaction"]["id"])
    ]
    assert await counters_match(database, org.org_id)


async def test_a_linked_code_at_its_shared_limit_is_skipped_and_the_bill_goes_through(api, database, org):
    # Given a common code with 2 redemptions, linked to a customer for every checkout, and another promotion.
    await create_promotion(api, name="first two", commonCode="FIRST2", codeRedemptionLimit=2)
    await create_promotion(api, name="anyone", commonCode="ANYONE10")
    owner = new_mobile()
    await add(api, small_bill("10", customer={"mobile": owner}))
    link = {"code": "FIRST2", "customer": by_mobile(owner), "mode": "EVERY_CHECKOUT"}
    assert (await api.data(LINK, {"input": link}))["linkPromoCode"]["__typename"] == "PromoCodeLinked"

    # When the owner's bill names the other code, and another customer's bill names the linked one.
    first = await add(api, small_bill("200", customer={"mobile": owner}, promoCodes=["ANYONE10"]))
    other = await add(api, small_bill("200", promoCodes=["FIRST2"]))
    later = await add(api, small_bill("200", customer={"mobile": owner}, promoCodes=["ANYONE10"]))
    named = await add(api, small_bill("200", customer={"mobile": owner}, promoCodes=["FIRST2"]))

    # Then the linked code applies while it has redemptions left, then is skipped silently; named, it is refused.
    assert [(effect["code"], effect["discount"], effect["linked"]) for effect in promo_effects(first)] == [
        ("ANYONE10", "20", False),
        ("FIRST2", "20", True),
    ]
    assert [effect["code"] for effect in promo_effects(other)] == ["FIRST2"]
    assert [(effect["code"], effect["linked"]) for effect in promo_effects(later)] == [("ANYONE10", False)]
    assert (named["__typename"], named["field"]) == ("PromoCodeLimitReachedError", "input.promoCodes[0]")
    found = await status(api, "FIRST2")
    assert (found["redemptionsCount"], found["redemptionsLeft"], found["promotion"]["redemptionsCount"]) == (2, 0, 2)
    assert (await status(api, "ANYONE10"))["redemptionsCount"] == 2
    assert await counters_match(database, org.org_id)


async def test_an_exchange_that_gives_a_limited_linked_code_back_can_apply_it_again(api, database, org):
    # Given a code with one redemption, linked to a customer for every checkout, used by their bill.
    await create_promotion(api, name="just one", commonCode="ONCE1", codeRedemptionLimit=1)
    owner = new_mobile()
    await add(api, small_bill("10", customer={"mobile": owner}))
    link = {"code": "ONCE1", "customer": by_mobile(owner), "mode": "EVERY_CHECKOUT"}
    assert (await api.data(LINK, {"input": link}))["linkPromoCode"]["__typename"] == "PromoCodeLinked"
    first = await add(api, small_bill("200", customer={"mobile": owner}))
    assert [(effect["code"], effect["linked"]) for effect in promo_effects(first)] == [("ONCE1", True)]

    # When an exchange returns all of that bill and buys something else.
    transaction = first["transaction"]
    exchange = exchange_of(transaction, owner, "SWAP-2", "SHIRT-02", "200")
    returned = (await api.data(RETURN_TRANSACTION, {"input": exchange}))["returnTransaction"]

    # Then the new purchase applies the code its return gave back, and the code counts one redemption.
    assert returned["__typename"] == "TransactionReturned", returned
    purchase = returned["exchangePurchase"]
    found = await status(api, "ONCE1")
    assert (found["redemptionsCount"], found["redemptionsLeft"], found["promotion"]["redemptionsCount"]) == (1, 0, 1)
    assert sorted(
        (node["transactionNumber"], node["discount"], node["linked"], node["reversed"], node["reversalTransactionId"])
        for node in found["redemptions"]["nodes"]
    ) == [
        (transaction["number"], "20", True, True, returned["transaction"]["id"]),
        ("SWAP-2", "20", True, False, None),
    ]
    assert purchase["number"] == "SWAP-2"
    assert await counters_match(database, org.org_id)


async def test_linking_an_unknown_or_ended_code_is_refused(api):
    await create_promotion(
        api, name="ended", commonCode="GONE10", validFrom="2020-01-01T00:00:00Z", validUntil="2020-02-01T00:00:00Z"
    )
    mobile = new_mobile()
    await add(api, small_bill("10", customer={"mobile": mobile}))
    for code, typename in (("NOSUCH", "PromoCodeUnknownError"), ("GONE10", "PromoCodeExpiredError")):
        result = (await api.data(LINK, {"input": {"code": code, "customer": by_mobile(mobile)}}))["linkPromoCode"]
        assert (result["__typename"], result["field"]) == (typename, "input.code")
    nobody = await api.data(LINK, {"input": {"code": "GONE10x", "customer": by_mobile(new_mobile())}})
    assert nobody["linkPromoCode"]["__typename"] == "PromoCodeUnknownError"


# --- Codes: generated, uploaded --------------------------------------------------------------


async def test_generated_codes_are_unique_and_use_the_alphabet(api, database):
    promotion = await create_promotion(api)
    result = (
        await api.data(
            GENERATE, {"input": {"promotionId": promotion["id"], "count": 3000, "length": 6, "prefix": "hx-"}}
        )
    )["generatePromoCodes"]
    assert (result["__typename"], result["generated"], result["promotion"]["codesCount"]) == (
        "PromoCodesGenerated",
        3000,
        3000,
    )
    more_input = {"promotionId": promotion["id"], "count": 500, "idempotencyKey": "more-500"}
    more = (await api.data(GENERATE, {"input": more_input}))["generatePromoCodes"]
    assert (more["generated"], more["replayed"], more["promotion"]["codesCount"]) == (500, False, 3500)
    again = (await api.data(GENERATE, {"input": more_input}))["generatePromoCodes"]
    assert (again["generated"], again["replayed"], again["promotion"]["codesCount"]) == (0, True, 3500)
    reused = (await api.data(GENERATE, {"input": {**more_input, "count": 10}}))["generatePromoCodes"]
    assert (reused["__typename"], reused["code"]) == ("IdempotencyKeyReusedError", "IDEMPOTENCY_KEY_REUSED")
    async with database.read() as connection:
        stored = list((await connection.execute(select(PromoCode.__table__.c.code))).scalars())
    assert len(stored) == len(set(stored)) == 3500
    pattern = re.compile(f"^HX-[{rules.ALPHABET}]{{6}}$")
    assert sum(1 for code in stored if pattern.match(code)) == 3000
    assert all(re.match(f"^[{rules.ALPHABET}]{{8}}$", code) for code in stored if not code.startswith("HX-"))
    assert not set("0O1IL").intersection("".join(stored).replace("HX-", ""))
    too_short = await api.data(GENERATE, {"input": {"promotionId": promotion["id"], "count": 100_000, "length": 4}})
    assert (too_short["generatePromoCodes"]["__typename"], too_short["generatePromoCodes"]["field"]) == (
        "InvalidInputError",
        "input.length",
    )


async def test_generation_tops_up_codes_that_collide(api, database, org, clock):
    promotion = await create_promotion(api)
    config = await org_config(database, org.org_id)
    request = rules.check_generation(50, 8, None)
    first = await promotions_service.generate_codes(
        database, config, int(promotion["id"]), request, random_bytes=random.Random(7).randbytes, now=clock.now()
    )
    assert first.count == 50
    # The same random source again: its first 50 codes all exist, the next batches top them up.
    bigger = rules.check_generation(80, 8, None)
    topped_up = await promotions_service.generate_codes(
        database,
        config,
        int(promotion["id"]),
        bigger,
        batch_size=50,
        random_bytes=random.Random(7).randbytes,
        now=clock.now(),
    )
    assert topped_up.count == 80
    async with database.read() as connection:
        stored = list((await connection.execute(select(PromoCode.__table__.c.code))).scalars())
    assert len(stored) == len(set(stored)) == 130


CODES_COUNTS = "query { cartPromotions(first: 10) { nodes { id codesCount } } }"


def scripted_codes(*batches):
    """A code source for generation that answers each request for random bytes with the next
    batch of codes, as the bytes that spell them (each byte below len(ALPHABET) stands for its
    letter), padded to the size asked for with bytes that rejection sampling drops."""
    answers = iter(batches)
    calls = []

    def random_bytes(size):
        codes = next(answers)
        calls.append(codes)
        spelled = bytes(rules.ALPHABET.index(character) for character in "".join(codes))
        return spelled + b"\xff" * max(0, size - len(spelled))

    return random_bytes, calls


def generate_with(monkeypatch, random_bytes):
    """Generation through the API, its random bytes taken from `random_bytes`."""
    original = rules.random_codes
    monkeypatch.setattr(
        rules, "random_codes", lambda count, length, prefix: original(count, length, prefix, random_bytes)
    )


async def stored_codes(database):
    codes = PromoCode.__table__.c
    async with database.read() as connection:
        query = select(
            codes.org_id, codes.promotion_id, codes.code, codes.source, codes.redemptions_count, codes.created_at
        )
        return [tuple(row) for row in await connection.execute(query.order_by(codes.code))]


async def codes_counts(api):
    return {node["id"]: node["codesCount"] for node in (await api.data(CODES_COUNTS))["cartPromotions"]["nodes"]}


async def test_generation_skips_codes_the_organisation_has_and_repeats_then_tops_them_up(
    api, database, org, monkeypatch, clock
):
    taken = await create_promotion(api, commonCode="BBBBBB")
    promotion = await create_promotion(api)
    # Round 1: AAAAAA twice (the second is skipped) and BBBBBB (the other promotion's common code):
    # 3 of 5 go in. Round 2 (2 wanted): CCCCCC again and EEEEEE. Round 3 (1 wanted): FFFFFF.
    random_bytes, calls = scripted_codes(
        ["AAAAAA", "AAAAAA", "BBBBBB", "CCCCCC", "DDDDDD"], ["CCCCCC", "EEEEEE"], ["FFFFFF"]
    )
    generate_with(monkeypatch, random_bytes)

    result = (await api.data(GENERATE, {"input": {"promotionId": promotion["id"], "count": 5, "length": 6}}))[
        "generatePromoCodes"
    ]

    assert result == {
        "__typename": "PromoCodesGenerated",
        "generated": 5,
        "replayed": False,
        "promotion": {"codesCount": 5},
    }
    assert len(calls) == 3
    # Stored as generated codes of the promotion at the request's time (the common code is the other's).
    assert await stored_codes(database) == [
        (org.org_id, int(promotion["id"]), "AAAAAA", "GENERATED", 0, clock.now()),
        (org.org_id, int(taken["id"]), "BBBBBB", "COMMON", 0, clock.now()),
        *(
            (org.org_id, int(promotion["id"]), code, "GENERATED", 0, clock.now())
            for code in ("CCCCCC", "DDDDDD", "EEEEEE", "FFFFFF")
        ),
    ]
    assert await codes_counts(api) == {promotion["id"]: 5, taken["id"]: 1}
    assert await counters_match(database, org.org_id)


async def test_generation_that_finds_no_new_codes_stops_with_a_conflict_keeping_what_it_generated(
    api, database, org, monkeypatch
):
    promotion = await create_promotion(api)
    # Round 1 spells GGGGGG twice: 3 of 4 go in. Every later round spells a stored code again.
    random_bytes, calls = scripted_codes(["GGGGGG", "HHHHHH", "JJJJJJ", "GGGGGG"], *[["HHHHHH"]] * 100)
    generate_with(monkeypatch, random_bytes)

    result = (await api.data(GENERATE, {"input": {"promotionId": promotion["id"], "count": 4, "length": 6}}))[
        "generatePromoCodes"
    ]

    assert result == {
        "__typename": "ConflictError",
        "code": "CONFLICT",
        "message": "generated 3 of 4: too many collisions, use longer codes",
        "field": "input.length",
    }
    # One batch for the 4 codes and the extra top-up rounds, then it gives up.
    assert len(calls) == 1 + promotions_service.GENERATE_ROUNDS_EXTRA
    assert [row[2] for row in await stored_codes(database)] == ["GGGGGG", "HHHHHH", "JJJJJJ"]
    assert await codes_counts(api) == {promotion["id"]: 3}
    assert await counters_match(database, org.org_id)


async def test_a_batch_that_fails_writes_none_of_its_codes(api, database, org, clock, monkeypatch):
    promotion = await create_promotion(api)
    config = await org_config(database, org.org_id)
    random_bytes, _ = scripted_codes(["KKKKKK", "MMMMMM"], ["NNNNNN", "PPPPPP"])
    counted = []
    count_new_codes = promotions_service.repository.count_new_codes

    async def fail_on_the_second_batch(connection, **arguments):
        counted.append(arguments["count"])
        await count_new_codes(connection, **arguments)
        if len(counted) == 2:
            raise RuntimeError("the database went away")

    monkeypatch.setattr(promotions_service.repository, "count_new_codes", fail_on_the_second_batch)

    with pytest.raises(RuntimeError, match="the database went away"):
        await promotions_service.generate_codes(
            database,
            config,
            int(promotion["id"]),
            rules.check_generation(4, 6, None),
            batch_size=2,
            random_bytes=random_bytes,
            now=clock.now(),
        )

    # The first batch committed with its count; the second's codes and count rolled back together.
    assert counted == [2, 2]
    assert [row[2] for row in await stored_codes(database)] == ["KKKKKK", "MMMMMM"]
    assert await codes_counts(api) == {promotion["id"]: 2}
    assert await counters_match(database, org.org_id)


async def test_an_upload_reports_each_bad_row(api, database):
    promotion = await create_promotion(api, commonCode="TAKEN-1")
    csv_text = "Code,notes\nGOOD-1,first\nbad code!,x\nGOOD-2,\ngood-1,again\nTAKEN-1,exists\n,empty\nGOOD-3,\n"

    rejected = (await api.data(UPLOAD, {"input": {"promotionId": promotion["id"], "csv": csv_text}}))[
        "uploadPromoCodes"
    ]
    expected_errors = [
        {
            "row": 3,
            "column": "code",
            "code": "bad code!",
            "errorCode": "INVALID_CODE",
            "message": "may hold only letters, digits, '-' and '_'",
        },
        {
            "row": 5,
            "column": "code",
            "code": "good-1",
            "errorCode": "DUPLICATE_IN_FILE",
            "message": "same code as row 2",
        },
        {
            "row": 6,
            "column": "code",
            "code": "TAKEN-1",
            "errorCode": "CODE_EXISTS",
            "message": "the code already exists in this organisation",
        },
        {"row": 7, "column": "code", "code": "", "errorCode": "INVALID_CODE", "message": "must be 4 to 40 characters"},
    ]
    assert rejected == {
        "__typename": "PromoCodesUploaded",
        "rows": 7,
        "stored": 0,
        "errors": expected_errors,
        "promotion": {"codesCount": 1},
    }

    kept = (
        await api.data(
            UPLOAD, {"input": {"promotionId": promotion["id"], "csv": csv_text, "errorPolicy": "SKIP_INVALID"}}
        )
    )["uploadPromoCodes"]
    assert (kept["rows"], kept["stored"], kept["errors"], kept["promotion"]["codesCount"]) == (7, 3, expected_errors, 4)
    no_header = (await api.data(UPLOAD, {"input": {"promotionId": promotion["id"], "csv": "number\n1\n"}}))[
        "uploadPromoCodes"
    ]
    assert (no_header["__typename"], no_header["field"]) == ("InvalidInputError", "input.csv")
    assert (await add(api, small_bill("200", promoCodes=["GOOD-2"])))["transaction"]["promoDiscount"] == "20"


async def test_promotion_terms_are_checked(api, database):
    before = await table_counts(database)
    cases = [
        ({"validUntil": (NOW - timedelta(days=2)).isoformat()}, "input.validUntil"),
        ({"percent": "120"}, "input.percent"),
        ({"percent": None}, "input.percent"),
        ({"amount": "5"}, "input.amount"),
        (
            {"action": "BUNDLE_PRICE", "percent": None, "amount": "10", "bundleItemCodes": ["A"]},
            "input.bundleItemCodes",
        ),
        ({"codeRedemptionLimit": 0}, "input.codeRedemptionLimit"),
        ({"commonCode": "no spaces"}, "input.commonCode"),
        ({"name": " "}, "input.name"),
        ({"name": "nul\u0000name"}, "input.name"),
        ({"description": "nul\u0000"}, "input.description"),
        ({"eligibleItemCodes": ["SHIRT\u0000"]}, "input.eligibleItemCodes[0]"),
        ({"eligibleAttributes": [{"name": "brand", "value": "x\u0000"}]}, "input.eligibleAttributes[0]"),
    ]
    for overrides, field in cases:
        result = (await api.data(CREATE_PROMOTION, {"input": promotion_input(**overrides)}))["createPromotion"]
        assert (result["__typename"], result["field"]) == ("InvalidInputError", field), (overrides, result)
    assert await table_counts(database) == before
    await create_promotion(api, commonCode="ONLYONE")
    clash = (await api.data(CREATE_PROMOTION, {"input": promotion_input(commonCode="onlyone")}))["createPromotion"]
    assert (clash["__typename"], clash["code"], clash["field"]) == (
        "ConflictError",
        "PROMO_CODE_EXISTS",
        "input.commonCode",
    )


async def test_member_care_pages_a_codes_redemptions(api):
    await create_promotion(api, commonCode="PAGED")
    ids = [(await add(api, small_bill("200", promoCodes=["PAGED"])))["transaction"]["id"] for _ in range(5)]
    first = await status(api, "PAGED", first=2)
    assert [node["transactionId"] for node in first["redemptions"]["nodes"]] == ids[::-1][:2]
    assert first["redemptions"]["pageInfo"]["hasNextPage"] is True
    rest = await status(api, "PAGED", first=10, after=first["redemptions"]["pageInfo"]["endCursor"])
    assert [node["transactionId"] for node in rest["redemptions"]["nodes"]] == ids[::-1][2:]
    assert rest["redemptions"]["pageInfo"]["hasNextPage"] is False
    assert (await status(api, "NOTACODE"))["__typename"] == "PromoCodeUnknownError"


# --- The hot path -----------------------------------------------------------------------------


async def test_bills_without_codes_touch_promotions_only_through_one_link_lookup(api, database):
    await create_promotion(api, commonCode="UNUSED10")
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(database.write_engine.sync_engine, "before_cursor_execute", record)
    try:
        anonymous = await add(api, small_bill("200", type="NOT_INTERESTED", customer=None))
        anonymous_statements = list(statements)
        statements.clear()
        member = await add(api, small_bill("200"))
    finally:
        event.remove(database.write_engine.sync_engine, "before_cursor_execute", record)
    assert anonymous["__typename"] == member["__typename"] == "TransactionAdded"
    assert [statement for statement in anonymous_statements if "promo" in statement] == []
    touching = [statement for statement in statements if "promo" in statement]
    assert len(touching) == 1
    assert "FROM promo_code_links" in touching[0]


async def test_an_every_checkout_link_applies_while_the_limits_allow(api, database, org):
    await create_promotion(
        api, commonCode="ALWAYS5", action="FIXED_AMOUNT_OFF", percent=None, amount="5", customerCodeRedemptionLimit=2
    )
    mobile = new_mobile()
    await add(api, small_bill("10", customer={"mobile": mobile}))
    linked = (
        await api.data(
            LINK,
            {"input": {"code": "ALWAYS5", "customer": by_mobile(mobile), "mode": "EVERY_CHECKOUT"}},
        )
    )["linkPromoCode"]
    assert linked["link"]["mode"] == "EVERY_CHECKOUT"
    applied = [promo_effects(await add(api, small_bill("200", customer={"mobile": mobile}))) for _ in range(3)]
    # Twice (the customer's limit on the code), then skipped silently: the bill still goes through.
    assert [[(effect["code"], effect["discount"], effect["linked"]) for effect in effects] for effects in applied] == [
        [("ALWAYS5", "5", True)],
        [("ALWAYS5", "5", True)],
        [],
    ]
    # Named on the bill, the same code now fails with the typed error.
    named = await add(api, small_bill("200", customer={"mobile": mobile}, promoCodes=["ALWAYS5"]))
    assert named["__typename"] == "PromoCodeCustomerLimitReachedError"
    assert await counters_match(database, org.org_id)


async def test_item_conditions_and_bundles_on_a_posted_bill(api):
    await create_promotion(
        api,
        name="acme brand",
        commonCode="BRAND10",
        minimumBillAmount=None,
        eligibleAttributes=[{"name": "brand", "value": "acme"}],
    )
    await create_promotion(
        api,
        name="outfit",
        commonCode="OUTFIT",
        action="BUNDLE_PRICE",
        percent=None,
        amount="1000",
        minimumBillAmount=None,
        bundleItemCodes=["SHIRT-01", "JEANS-01"],
    )
    await create_promotion(
        api,
        name="free socks",
        commonCode="SOCKS",
        action="FREE_PRODUCT",
        percent=None,
        minimumBillAmount="1000",
        freeItemCode="SOCKS-01",
    )
    document = bill(promoCodes=["BRAND10", "OUTFIT", "SOCKS"])  # shirts 2 x 450, jeans 700, socks 200: 1,800
    document["lineItems"][1]["attributes"] = [{"name": "brand", "value": "acme"}]
    result = await add(api, document)
    assert result["__typename"] == "TransactionAdded", result
    # 10% of the acme jeans (700); one shirt (450) and the jeans (700) for 1,000 save 150; socks free.
    assert [(effect["code"], effect["discount"]) for effect in promo_effects(result)] == [
        ("BRAND10", "70"),
        ("OUTFIT", "150"),
        ("SOCKS", "200"),
    ]
    assert result["transaction"]["promoDiscount"] == "420"
    without_jeans = bill(promoCodes=["OUTFIT"])
    without_jeans["lineItems"] = without_jeans["lineItems"][:1]
    refused = await add(api, without_jeans)
    assert (refused["__typename"], refused["message"]) == (
        "PromoConditionsNotMetError",
        "the cart lacks the bundle's JEANS-01",
    )


async def test_a_code_the_stacking_cap_cuts_to_nothing_is_not_used_up(api, database, org):
    await create_promotion(
        api,
        name="all of it",
        commonCode="ALL50",
        action="FIXED_AMOUNT_OFF",
        percent=None,
        amount="50",
        minimumBillAmount=None,
    )
    await create_promotion(
        api,
        name="ten more",
        commonCode="MORE10",
        action="FIXED_AMOUNT_OFF",
        percent=None,
        amount="10",
        minimumBillAmount=None,
    )
    paper = await create_promotion(
        api, name="paper coupon", action="FIXED_AMOUNT_OFF", percent=None, amount="5", minimumBillAmount=None
    )
    await upload(database, org, paper, "code\nPAPER-9\n")
    owner = new_mobile()
    await add(api, small_bill("10", customer={"mobile": owner}))
    linked = (await api.data(LINK, {"input": {"code": "PAPER-9", "customer": by_mobile(owner)}}))["linkPromoCode"]
    assert linked["__typename"] == "PromoCodeLinked", linked

    # Named after a code that takes the whole bill: refused, and the bill is not written.
    before = await table_counts(database)
    refused = await add(api, small_bill("50", customer={"mobile": owner}, promoCodes=["ALL50", "MORE10"]))
    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "PromoConditionsNotMetError",
        "PROMO_CONDITIONS_NOT_MET",
        "input.promoCodes[1]",
    )
    assert await table_counts(database) == before
    # The linked code has nothing left to take on this bill: it waits for the next one.
    whole = await add(api, small_bill("50", customer={"mobile": owner}, promoCodes=["ALL50"]))
    assert [(effect["code"], effect["discount"]) for effect in promo_effects(whole)] == [("ALL50", "50")]
    later = await add(api, small_bill("80", customer={"mobile": owner}))
    assert [(effect["code"], effect["discount"], effect["linked"]) for effect in promo_effects(later)] == [
        ("PAPER-9", "5", True)
    ]
    assert await counters_match(database, org.org_id)


LIST_PROMOTIONS = """
query List($first: Int!, $after: String) {
  cartPromotions(first: $first, after: $after) { nodes { id name validUntil } pageInfo { hasNextPage endCursor } }
}
"""

END_PROMOTION = """
mutation End($id: ID!) {
  endPromotion(id: $id) {
    __typename
    ... on CartPromotion { id validUntil }
    ... on Error { code message field }
  }
}
"""


async def test_promotions_are_listed_newest_first_and_an_ended_one_stops_its_codes(api, database, org):
    first = await create_promotion(api, name="first", commonCode="FIRST10")
    second = await create_promotion(api, name="second", commonCode="SECOND10")
    later = await create_promotion(
        api,
        name="later",
        validFrom=(NOW + timedelta(days=2)).isoformat(),
        validUntil=(NOW + timedelta(days=9)).isoformat(),
    )
    page = (await api.data(LIST_PROMOTIONS, {"first": 2}))["cartPromotions"]
    assert [node["name"] for node in page["nodes"]] == ["later", "second"]
    assert page["pageInfo"]["hasNextPage"]
    rest = (await api.data(LIST_PROMOTIONS, {"first": 2, "after": page["pageInfo"]["endCursor"]}))["cartPromotions"]
    assert ([node["name"] for node in rest["nodes"]], rest["pageInfo"]["hasNextPage"]) == (["first"], False)
    assert [node["id"] for node in page["nodes"] + rest["nodes"]] == [later["id"], second["id"], first["id"]]

    ended = (await api.data(END_PROMOTION, {"id": first["id"]}))["endPromotion"]
    assert ended["__typename"] == "CartPromotion", ended
    again = (await api.data(END_PROMOTION, {"id": first["id"]}))["endPromotion"]
    assert again["validUntil"] == ended["validUntil"]
    before = await table_counts(database)
    refused = await add(api, small_bill("200", promoCodes=["FIRST10"]))
    assert (refused["__typename"], refused["code"]) == ("PromoCodeExpiredError", "PROMO_CODE_EXPIRED")
    assert await table_counts(database) == before
    assert promo_effects(await add(api, small_bill("200", promoCodes=["SECOND10"])))[0]["discount"] == "20"

    not_started = (await api.data(END_PROMOTION, {"id": later["id"]}))["endPromotion"]
    assert (not_started["__typename"], not_started["code"], not_started["field"]) == (
        "ConflictError",
        "PROMOTION_NOT_STARTED",
        "id",
    )
    unknown = (await api.data(END_PROMOTION, {"id": "999999"}))["endPromotion"]
    assert unknown["__typename"] == "NotFoundError"
