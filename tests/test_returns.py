"""returnTransaction through the API, as a till posts it: FULL, LINE_ITEM and AMOUNT returns with
exact points, returns adding up, over-returns refused, spent points, redemption reversals, tier
downgrades, exchanges (MIXED), not-interested returns, replays, and concurrent partial returns.

The test bill (tests.factories.bill): 1,800 net at bronze (1 point per 100), 18 points; lines
1 SHIRT-01 2 x 450, 2 JEANS-01 1 x 700, 3 SOCKS-01 1 x 200.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.conversions.service import convert_promised_points
from app.kernel.enums import IdentifierType
from app.ledger.models import PointLot
from app.redemptions.models import PointRedemption, PointRedemptionReversal
from app.redemptions.rules import RedemptionInput
from app.redemptions.service import redeem_points
from tests.client import add, find_customer, ledger_entries, purchase_day
from tests.conftest import TEST_NOW, org_config
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile, org_spec
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts

lots = PointLot.__table__
redemptions = PointRedemption.__table__
redemption_reversals = PointRedemptionReversal.__table__

# --- Helpers --------------------------------------------------------------------------------


async def purchase(api, **overrides):
    """A bill posted with addTransaction; returns its transaction (with the customer's mobile)."""
    overrides.setdefault("customer", {"mobile": new_mobile()})
    transaction = (await add(api, bill(**overrides)))["transaction"]
    transaction["mobile"] = overrides["customer"].get("mobile") if overrides["customer"] else None
    return transaction


def return_of(transaction, return_type="FULL", **overrides):
    """A returnTransaction input for this bill, at the till it was bought."""
    document = {
        "type": "RETURN",
        "returnType": return_type,
        "number": transaction["number"],
        "purchaseTime": purchase_day(transaction),
        "tillCode": transaction["tillCode"],
        "customer": {"mobile": transaction["mobile"]},
    }
    document.update(overrides)
    return document


async def post_return(api, document, **kwargs):
    return (await api.data(RETURN_TRANSACTION, {"input": document}, **kwargs))["returnTransaction"]


async def returned(api, document, **kwargs):
    result = await post_return(api, document, **kwargs)
    assert result["__typename"] == "TransactionReturned", result
    return result


def points_effect(transaction):
    return next(effect for effect in transaction["sideEffects"] if effect["__typename"] == "PointsReturnedSideEffect")


async def redeem(database, credentials, mobile, points):
    """A POINTS_REDEMPTION through the redemptions service; returns the redemption id."""
    org = await org_config(database, credentials.org_id)
    result = await redeem_points(
        database,
        org,
        RedemptionInput(
            customer_type=IdentifierType.MOBILE, customer_value=mobile, points=Decimal(points), till_code="till-1"
        ),
        now=TEST_NOW,
    )
    return result.redemption.id


# --- FULL, LINE_ITEM, AMOUNT ----------------------------------------------------------------


async def test_a_full_return_takes_back_every_point_and_purchase_in_one_transaction_return_event(api, database):
    bought = await purchase(api)

    result = await returned(api, return_of(bought, parentBillNumber="RET-1"))

    ret, original = result["transaction"], result["returnedTransaction"]
    assert (
        result["replayed"],
        result["pointsReturned"],
        result["pointsNotRecovered"],
        result["redemptionPointsReversed"],
    ) == (False, "18", "0", "0")
    assert result["itemStatus"] == {"success": True, "code": 600, "message": "Return added successfully"}
    assert result["exchangePurchase"] is None
    assert (
        ret["type"],
        ret["returnType"],
        ret["number"],
        ret["parentBillNumber"],
        ret["amount"],
        ret["eligibleAmount"],
        ret["returnedPoints"],
        ret["returnedTransactionId"],
    ) == ("RETURN", "FULL", bought["number"], "RET-1", "1800", "1800", "18", bought["id"])
    assert [
        (line["serial"], line["itemCode"], line["qty"], line["amount"], line["lineType"], line["returnsSerial"])
        for line in ret["lineItems"]
    ] == [
        (1, "SHIRT-01", "2", "900", "RETURN", 1),
        (2, "JEANS-01", "1", "700", "RETURN", 2),
        (3, "SOCKS-01", "1", "200", "RETURN", 3),
    ]
    assert points_effect(ret) == {
        "__typename": "PointsReturnedSideEffect",
        "programCode": "main",
        "returnedPoints": "18",
        "pointsNotRecovered": "0",
    }
    assert (original["pointsEarned"], original["returnedAmount"], original["returnedPoints"]) == ("18", "1800", "18")
    assert [line["returnedQty"] for line in original["lineItems"]] == ["2", "1", "1"]
    owner = ret["customer"]
    assert (owner["loyaltyPoints"], owner["lifetimePurchases"]) == ("0", "0")
    assert [(s["programCode"], s["cumulativePurchases"], s["returned"]) for s in owner["pointsSummaries"]] == [
        ("main", "0", "18"),
        ("cafe", "0", "0"),
    ]

    newest = (await ledger_entries(api, by_mobile(bought["mobile"]), first=1))[0]
    assert {
        key: newest[key]
        for key in (
            "eventType",
            "entryKind",
            "entryType",
            "points",
            "pointsOnEvent",
            "balanceAfter",
            "transactionId",
            "transactionNumber",
            "tillCode",
        )
    } == {
        "eventType": "TRANSACTION_RETURN",
        "entryKind": "POINTS_RETURN",
        "entryType": "DEBIT",
        "points": "18",
        "pointsOnEvent": "-18",
        "balanceAfter": "0",
        "transactionId": ret["id"],
        "transactionNumber": "RET-1",
        "tillCode": "till-1",
    }
    await assert_reconciled(database)


async def test_line_item_returns_add_up_and_a_full_return_then_takes_back_exactly_the_rest(api, database):
    bought = await purchase(api)

    shirt = await returned(api, return_of(bought, "LINE_ITEM", lineItems=[{"serial": 1, "qty": "1"}]))
    jeans = await returned(api, return_of(bought, "LINE_ITEM", lineItems=[{"itemCode": "JEANS-01", "qty": "1"}]))
    rest = await returned(api, return_of(bought, "FULL"))

    # 450 of 1,800 eligible: floor(4.5) = 4. Then 1,150 in all: floor(11.5) = 11, so 7 more. Then the last 7.
    assert [(r["transaction"]["amount"], r["pointsReturned"]) for r in (shirt, jeans, rest)] == [
        ("450", "4"),
        ("700", "7"),
        ("650", "7"),
    ]
    assert [(line["returnsSerial"], line["qty"], line["amount"]) for line in rest["transaction"]["lineItems"]] == [
        (1, "1", "450"),
        (3, "1", "200"),
    ]
    original = rest["returnedTransaction"]
    assert (original["returnedAmount"], original["returnedPoints"]) == ("1800", "18")
    assert [line["returnedQty"] for line in original["lineItems"]] == ["2", "1", "1"]
    assert (await find_customer(api, by_mobile(bought["mobile"])))["loyaltyPoints"] == "0"
    await assert_reconciled(database)


async def test_an_amount_return_takes_back_the_eligible_share_of_the_points(api, database):
    bought = await purchase(api)

    first = await returned(api, return_of(bought, "AMOUNT", amount="600"))
    second = await returned(api, return_of(bought, "AMOUNT", amount="250.5"))

    assert (first["transaction"]["amount"], first["transaction"]["eligibleAmount"], first["pointsReturned"]) == (
        "600",
        "600",
        "6",
    )
    # 850.5 in all: floor(8.505) = 8, so 2 more.
    assert (second["transaction"]["amount"], second["pointsReturned"]) == ("250.5", "2")
    assert second["transaction"]["lineItems"] == []
    original = second["returnedTransaction"]
    assert (original["returnedAmount"], original["returnedPoints"]) == ("850.5", "8")
    assert [line["returnedQty"] for line in original["lineItems"]] == ["0", "0", "0"]
    found = await find_customer(api, by_mobile(bought["mobile"]))
    assert (found["loyaltyPoints"], found["lifetimePurchases"]) == ("10", "949.5")
    await assert_reconciled(database)


async def test_a_line_that_did_not_earn_comes_back_without_taking_points(api, database):
    lines = bill()["lineItems"]
    lines[2] = {**lines[2], "outlierStatus": "INTERNAL"}  # the socks earned nothing: eligible 1,600, 16 points
    bought = await purchase(api, lineItems=lines)

    socks = await returned(api, return_of(bought, "LINE_ITEM", lineItems=[{"serial": 3, "qty": "1"}]))

    assert (socks["transaction"]["amount"], socks["transaction"]["eligibleAmount"], socks["pointsReturned"]) == (
        "200",
        "0",
        "0",
    )
    assert socks["returnedTransaction"]["pointsEarned"] == "16"
    await assert_reconciled(database)


# --- What cannot be returned ----------------------------------------------------------------


async def test_returns_beyond_the_bill_say_what_is_left_name_the_field_and_write_nothing(api, database):
    bought = await purchase(api)
    await returned(api, return_of(bought, "LINE_ITEM", lineItems=[{"serial": 1, "qty": "1"}]))
    before = await table_counts(database)

    too_many = await post_return(
        api, return_of(bought, "LINE_ITEM", lineItems=[{"serial": 2, "qty": "1"}, {"serial": 1, "qty": "2"}])
    )
    too_much = await post_return(api, return_of(bought, "AMOUNT", amount="1350.01"))
    no_line = await post_return(api, return_of(bought, "LINE_ITEM", lineItems=[{"serial": 9, "qty": "1"}]))
    no_item = await post_return(api, return_of(bought, "LINE_ITEM", lineItems=[{"itemCode": "HAT-01", "qty": "1"}]))

    assert too_many == {
        "__typename": "ReturnExceedsBillError",
        "code": "RETURN_EXCEEDS_BILL",
        "message": "only 1 of line 1 (SHIRT-01) is left to return",
        "field": "input.lineItems[1].qty",
        "remainingAmount": "1350",
        "remainingPoints": "14",
        "remainingQty": "1",
    }
    assert too_much == {
        "__typename": "ReturnExceedsBillError",
        "code": "RETURN_EXCEEDS_BILL",
        "message": "only 1350 of the bill is left to return",
        "field": "input.amount",
        "remainingAmount": "1350",
        "remainingPoints": "14",
        "remainingQty": None,
    }
    assert (no_line["__typename"], no_line["code"], no_line["field"]) == (
        "NotFoundError",
        "LINE_ITEM_NOT_FOUND",
        "input.lineItems[0].serial",
    )
    assert (no_item["code"], no_item["field"]) == ("LINE_ITEM_NOT_FOUND", "input.lineItems[0].itemCode")
    assert await table_counts(database) == before


async def test_a_full_return_of_a_fully_returned_bill_is_refused(api, database):
    bought = await purchase(api)
    await returned(api, return_of(bought, "FULL"))
    before = await table_counts(database)

    again = await post_return(api, return_of(bought, "FULL"))
    more = await post_return(api, return_of(bought, "AMOUNT", amount="1"))

    assert again == {
        "__typename": "ReturnExceedsBillError",
        "code": "ALREADY_FULLY_RETURNED",
        "message": "the bill was already returned in full: nothing is left to return",
        "field": "input.returnType",
        "remainingAmount": "0",
        "remainingPoints": "0",
        "remainingQty": None,
    }
    assert (more["code"], more["field"], more["remainingAmount"]) == ("RETURN_EXCEEDS_BILL", "input.amount", "0")
    assert await table_counts(database) == before


async def test_the_bill_is_found_by_number_date_and_store_of_this_org_only(api, org_api, database):
    bought = await purchase(api)
    other = await org_api(org_spec("other"))
    await purchase(other, number="OTHER-ONLY")
    before = await table_counts(database)

    from_other_org = await post_return(other, return_of(bought))
    wrong_day = await post_return(
        api,
        return_of(
            bought, purchaseTime=(datetime.fromisoformat(purchase_day(bought)) - timedelta(days=1)).date().isoformat()
        ),
    )
    wrong_store = await post_return(api, return_of(bought, tillCode="till-2"))
    other_orgs_number = await post_return(api, return_of(bought, number="OTHER-ONLY"))

    for result in (from_other_org, wrong_day, wrong_store, other_orgs_number):
        assert (result["__typename"], result["code"], result["field"]) == (
            "NotFoundError",
            "TRANSACTION_NOT_FOUND",
            "input.number",
        )
    assert await table_counts(database) == before


async def test_the_customer_must_be_the_bills(api, database):
    bought = await purchase(api)
    someone_else = await purchase(api)
    before = await table_counts(database)

    wrong = await post_return(api, return_of(bought, customer={"mobile": someone_else["mobile"]}))
    unknown = await post_return(api, return_of(bought, customer={"mobile": new_mobile()}))
    missing = await post_return(api, return_of(bought, customer=None))

    assert (wrong["code"], wrong["field"]) == ("CUSTOMER_MISMATCH", "input.customer")
    assert (unknown["code"], unknown["field"]) == ("CUSTOMER_NOT_FOUND", "input.customer")
    assert (missing["code"], missing["field"]) == ("IDENTIFIER_REQUIRED", "input.customer")
    assert await table_counts(database) == before


async def test_a_bill_whose_customer_was_merged_is_returned_by_the_survivor(api, database):
    bought = await purchase(api, customer={"mobile": new_mobile(), "email": "victim@example.com"})
    survivor = await purchase(api, lineItems=[], amount="1000")
    # The victim's email on the survivor's bill merges the victim into the survivor (10 + 18 points).
    await purchase(
        api, lineItems=[], amount="0", customer={"mobile": survivor["mobile"], "email": "victim@example.com"}
    )

    result = await returned(api, return_of(bought, customer={"mobile": survivor["mobile"]}))

    assert result["pointsReturned"] == "18"
    assert result["transaction"]["customer"]["userId"] == survivor["customer"]["userId"]
    assert (await find_customer(api, by_mobile(survivor["mobile"])))["loyaltyPoints"] == "10"
    await assert_reconciled(database)


# --- Points already spent -------------------------------------------------------------------


async def test_points_come_back_from_the_bills_own_lot_first(api, database, clock):
    mobile = new_mobile()
    older = await purchase(
        api,
        customer={"mobile": mobile},
        lineItems=[],
        amount="1000",
        billingTime=(clock.now() - timedelta(days=62)).isoformat(),
    )
    newer = await purchase(api, customer={"mobile": mobile})

    await returned(api, return_of(newer, "FULL"))

    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(lots.c.points, lots.c.points_remaining, lots.c.expires_at).order_by(lots.c.id)
            )
        ).all()
    # The older lot expires first, yet the return took the newer bill's own lot.
    assert older["customer"]["loyaltyPoints"] == "10"
    assert [(row.points, row.points_remaining) for row in rows] == [
        (Decimal(10), Decimal(10)),
        (Decimal(18), Decimal(0)),
    ]
    assert rows[0].expires_at < rows[1].expires_at
    await assert_reconciled(database)


async def test_spent_points_are_not_recovered_where_the_program_does_not_allow_a_negative_balance(api, database):
    bought = await purchase(api)
    await redeem(database, api.credentials, bought["mobile"], 15)

    result = await returned(api, return_of(bought, "FULL"))

    assert (result["pointsReturned"], result["pointsNotRecovered"]) == ("3", "15")
    assert points_effect(result["transaction"])["pointsNotRecovered"] == "15"
    # The bill's share is accounted for in full, so a later return would not chase the 15 points.
    assert (result["transaction"]["returnedPoints"], result["returnedTransaction"]["returnedPoints"]) == ("18", "18")
    assert (await find_customer(api, by_mobile(bought["mobile"])))["loyaltyPoints"] == "0"
    newest = (await ledger_entries(api, by_mobile(bought["mobile"]), first=1))[0]
    assert (newest["eventType"], newest["points"], newest["pointsOnEvent"], newest["balanceAfter"]) == (
        "TRANSACTION_RETURN",
        "3",
        "-3",
        "0",
    )
    await assert_reconciled(database)


async def test_spent_points_make_the_balance_negative_where_the_program_allows_it(org_api, database):
    spec = org_spec("lenient")
    spec["programs"][0]["allow_negative_balance"] = True
    api = await org_api(spec)
    bought = await purchase(api)
    await redeem(database, api.credentials, bought["mobile"], 15)

    result = await returned(api, return_of(bought, "FULL"))

    assert (result["pointsReturned"], result["pointsNotRecovered"]) == ("18", "0")
    assert (await find_customer(api, by_mobile(bought["mobile"])))["loyaltyPoints"] == "-15"
    # Later earnings pay the debt first.
    again = await purchase(api, customer={"mobile": bought["mobile"]}, lineItems=[], amount="2000")
    assert again["customer"]["loyaltyPoints"] == "5"
    await assert_reconciled(database)


async def test_points_earned_as_promised_come_back_from_the_promised_account_then_from_regular_once_converted(
    org_api, database, clock
):
    spec = org_spec("promising")
    spec["programs"][0].update(earn_category="PROMISED", promised_days=14)
    api = await org_api(spec)
    bought = await purchase(api)

    before_conversion = await returned(api, return_of(bought, "LINE_ITEM", lineItems=[{"serial": 1, "qty": "1"}]))
    await convert_promised_points(database, clock.now() + timedelta(days=15), api.credentials.org_id, now=clock.now())
    after_conversion = await returned(api, return_of(bought, "FULL"))

    assert (before_conversion["pointsReturned"], after_conversion["pointsReturned"]) == ("4", "14")
    assert after_conversion["pointsNotRecovered"] == "0"
    debits = [
        entry
        for entry in await ledger_entries(api, by_mobile(bought["mobile"]), first=10)
        if entry["eventType"] == "TRANSACTION_RETURN"
    ]
    assert [(entry["pointsCategory"], entry["points"], entry["balanceAfter"]) for entry in debits] == [
        ("REGULAR", "14", "0"),
        ("PROMISED", "4", "14"),
    ]
    await assert_reconciled(database)


# --- Redemptions on the bill ----------------------------------------------------------------


async def test_a_return_reverses_the_bills_redemptions_into_their_original_lots_in_the_same_event(api, database, clock):
    mobile = new_mobile()
    await purchase(
        api,
        customer={"mobile": mobile},
        lineItems=[],
        amount="1000",
        billingTime=(clock.now() - timedelta(days=62)).isoformat(),
    )
    redemption_id = await redeem(database, api.credentials, mobile, 10)
    bought = await purchase(api, customer={"mobile": mobile}, pointsRedemptions=[str(redemption_id)])
    async with database.read() as connection:
        old_lot_before = (await connection.execute(select(lots).order_by(lots.c.id).limit(1))).one()

    half = await returned(
        api, return_of(bought, "LINE_ITEM", lineItems=[{"serial": 1, "qty": "2"}], parentBillNumber="R-A")
    )
    rest = await returned(api, return_of(bought, "FULL", parentBillNumber="R-B"))

    # 900 of 1,800 back: half the redemption (5) comes back, and 9 points go; then the rest.
    assert (half["redemptionPointsReversed"], half["pointsReturned"]) == ("5", "9")
    assert (rest["redemptionPointsReversed"], rest["pointsReturned"]) == ("5", "9")
    assert [
        effect
        for effect in half["transaction"]["sideEffects"]
        if effect["__typename"] == "RedemptionReversedSideEffect"
    ] == [{"__typename": "RedemptionReversedSideEffect", "redemptionId": str(redemption_id), "reversedPoints": "5"}]
    assert rest["returnedTransaction"]["reversedRedemptionPoints"] == "10"
    credit, debit = sorted(
        (await ledger_entries(api, by_mobile(mobile), first=2)), key=lambda entry: entry["entryType"]
    )
    assert [
        (e["eventType"], e["entryKind"], e["entryType"], e["points"], e["pointsOnEvent"], e["transactionId"])
        for e in (credit, debit)
    ] == [
        ("TRANSACTION_RETURN", "REDEMPTION_REVERSAL", "CREDIT", "5", "-4", rest["transaction"]["id"]),
        ("TRANSACTION_RETURN", "POINTS_RETURN", "DEBIT", "9", "-4", rest["transaction"]["id"]),
    ]
    assert credit["eventLogId"] == debit["eventLogId"]
    async with database.read() as connection:
        old_lot = (await connection.execute(select(lots).where(lots.c.id == old_lot_before.id))).one()
        redemption = (await connection.execute(select(redemptions).where(redemptions.c.id == redemption_id))).one()
        given_back = (
            await connection.execute(
                select(redemption_reversals.c.points, redemption_reversals.c.transaction_id).order_by(
                    redemption_reversals.c.id
                )
            )
        ).all()
    # The redemption had consumed the older lot (it expires first): its points are back in it, same expiry.
    assert (old_lot_before.points_remaining, old_lot.points_remaining) == (Decimal(0), Decimal(10))
    assert old_lot.expires_at == old_lot_before.expires_at
    assert (redemption.points_reversed, redemption.status) == (Decimal(10), "REVERSED")
    assert [(row.points, str(row.transaction_id)) for row in given_back] == [
        (Decimal(5), half["transaction"]["id"]),
        (Decimal(5), rest["transaction"]["id"]),
    ]
    assert (await find_customer(api, by_mobile(mobile)))["loyaltyPoints"] == "10"
    await assert_reconciled(database)


# --- Tiers ----------------------------------------------------------------------------------


async def test_a_return_below_the_tier_threshold_downgrades_by_the_documented_rule(api, database):
    bought = await purchase(api, lineItems=[], amount="20000")  # reaches silver (20,000)
    assert bought["customer"]["currentSlab"] == "silver"

    small = await returned(api, return_of(bought, "AMOUNT", amount="500"))

    assert [
        effect for effect in small["transaction"]["sideEffects"] if effect["__typename"] == "SlabDowngradeSideEffect"
    ] == [
        {
            "__typename": "SlabDowngradeSideEffect",
            "programCode": "main",
            "previousSlabName": "silver",
            "previousSlabNumber": 2,
            "downgradedSlabName": "bronze",
            "downgradedSlabNumber": 1,
        }
    ]
    owner = small["transaction"]["customer"]
    assert (owner["currentSlab"], owner["tierExpiryDate"], owner["lifetimePurchases"]) == ("bronze", None, "19500")
    assert owner["pointsSummaries"][0]["cumulativePurchases"] == "19500"
    # Buying back above the threshold upgrades again; a return never upgrades.
    again = await purchase(api, customer={"mobile": bought["mobile"]}, lineItems=[], amount="1000")
    assert again["customer"]["currentSlab"] == "silver"
    await assert_reconciled(database)


async def test_a_return_that_stays_above_the_threshold_keeps_the_tier(api, database):
    bought = await purchase(api, lineItems=[], amount="25000")

    result = await returned(api, return_of(bought, "AMOUNT", amount="5000"))

    assert not [
        effect for effect in result["transaction"]["sideEffects"] if effect["__typename"] == "SlabDowngradeSideEffect"
    ]
    assert result["transaction"]["customer"]["currentSlab"] == "silver"


# --- Exchanges and not-interested bills -----------------------------------------------------


async def test_an_exchange_returns_its_return_lines_and_buys_its_regular_lines_in_one_write(api, database):
    bought = await purchase(api)

    result = await returned(
        api,
        return_of(
            bought,
            "LINE_ITEM",
            type="MIXED",
            parentBillNumber="EX-1",
            lineItems=[
                {"type": "RETURN", "serial": 3, "qty": "1"},
                {"type": "REGULAR", "itemCode": "SOCKS-02", "qty": "2", "rate": "250"},
            ],
        ),
    )

    ret, exchange = result["transaction"], result["exchangePurchase"]
    assert (ret["type"], ret["amount"], result["pointsReturned"], ret["parentBillNumber"]) == (
        "MIXED",
        "200",
        "2",
        "EX-1",
    )
    assert [(line["lineType"], line["returnsSerial"], line["itemCode"]) for line in ret["lineItems"]] == [
        ("RETURN", 3, "SOCKS-01")
    ]
    assert (
        exchange["type"],
        exchange["number"],
        exchange["amount"],
        exchange["exchangeReturnId"],
        exchange["returnedTransactionId"],
    ) == ("REGULAR", "EX-1", "500", ret["id"], None)
    assert [
        (line["serial"], line["itemCode"], line["qty"], line["amount"], line["lineType"])
        for line in exchange["lineItems"]
    ] == [(1, "SOCKS-02", "2", "500", "REGULAR")]
    assert [
        effect["awardedPoints"] for effect in exchange["sideEffects"] if effect["__typename"] == "PointsSideEffect"
    ] == ["5"]
    found = await find_customer(api, by_mobile(bought["mobile"]))
    assert (found["loyaltyPoints"], found["lifetimePurchases"]) == ("21", "2100")
    add, return_debit = await ledger_entries(api, by_mobile(bought["mobile"]), first=2)
    assert (add["eventType"], add["points"], add["transactionNumber"]) == ("TRANSACTION_ADD", "5", "EX-1")
    assert (return_debit["eventType"], return_debit["points"], return_debit["transactionId"]) == (
        "TRANSACTION_RETURN",
        "2",
        ret["id"],
    )

    replay = await returned(
        api,
        return_of(
            bought,
            "LINE_ITEM",
            type="MIXED",
            parentBillNumber="EX-1",
            lineItems=[
                {"type": "RETURN", "serial": 3, "qty": "1"},
                {"type": "REGULAR", "itemCode": "SOCKS-02", "qty": "2", "rate": "250"},
            ],
        ),
    )
    assert (replay["replayed"], replay["transaction"]["id"], replay["exchangePurchase"]["id"]) == (
        True,
        ret["id"],
        exchange["id"],
    )
    await assert_reconciled(database)


async def test_an_exchange_needs_its_own_number_and_regular_lines(api, database):
    bought = await purchase(api)
    before = await table_counts(database)

    unnumbered = await post_return(
        api,
        return_of(
            bought,
            "LINE_ITEM",
            type="MIXED",
            lineItems=[
                {"type": "RETURN", "serial": 3, "qty": "1"},
                {"type": "REGULAR", "itemCode": "X", "qty": "1", "rate": "1"},
            ],
        ),
    )
    no_purchase = await post_return(
        api,
        return_of(
            bought,
            "LINE_ITEM",
            type="MIXED",
            parentBillNumber="EX-2",
            lineItems=[{"type": "RETURN", "serial": 3, "qty": "1"}],
        ),
    )
    regular_on_return = await post_return(
        api,
        return_of(
            bought,
            "LINE_ITEM",
            lineItems=[{"type": "RETURN", "serial": 3, "qty": "1"}, {"type": "REGULAR", "itemCode": "X", "qty": "1"}],
        ),
    )

    assert (unnumbered["code"], unnumbered["field"]) == ("INVALID_INPUT", "input.parentBillNumber")
    assert (no_purchase["code"], no_purchase["field"]) == ("INVALID_INPUT", "input.lineItems")
    assert (regular_on_return["code"], regular_on_return["field"]) == ("INVALID_INPUT", "input.lineItems[1].type")
    assert await table_counts(database) == before


async def test_a_not_interested_bill_comes_back_with_a_not_interested_return(api, database):
    bought = await purchase(api, type="NOT_INTERESTED", customer=None)
    before = await table_counts(database)

    wrong_type = await post_return(api, return_of(bought, customer={"mobile": new_mobile()}))
    assert (wrong_type["code"], wrong_type["field"]) == ("INVALID_INPUT", "input.type")
    assert await table_counts(database) == before

    result = await returned(
        api,
        return_of(
            bought, "LINE_ITEM", type="NOT_INTERESTED_RETURN", customer=None, lineItems=[{"serial": 2, "qty": "1"}]
        ),
    )

    ret = result["transaction"]
    assert (ret["type"], ret["amount"], ret["customer"], ret["sideEffects"], result["pointsReturned"]) == (
        "NOT_INTERESTED_RETURN",
        "700",
        None,
        [],
        "0",
    )
    assert result["returnedTransaction"]["returnedAmount"] == "700"
    await assert_reconciled(database)


# --- Replays --------------------------------------------------------------------------------


async def test_a_return_does_not_hold_its_bills_number_against_a_new_bill(api, database, clock):
    # The org's bill numbers are unique per store within 30 days: an old bill's number is free again,
    # even though its return (which carries that number) was posted today.
    old = await purchase(api, billingTime=(clock.now() - timedelta(days=35)).isoformat())
    await returned(api, return_of(old, "AMOUNT", amount="100"))

    reused = await purchase(api, number=old["number"])

    assert reused["number"] == old["number"]
    assert reused["id"] != old["id"]


async def test_the_same_return_posted_again_replays_and_another_payload_under_its_number_conflicts(api, database):
    bought = await purchase(api)
    document = return_of(bought, "AMOUNT", amount="900", parentBillNumber="R-9")
    first = await returned(api, document)
    before = await table_counts(database)

    again = await returned(api, {**document, "amount": "900.00", "number": f" {bought['number']} "})
    different = await post_return(api, {**document, "amount": "100"})

    assert (again["replayed"], again["transaction"]["id"], again["pointsReturned"]) == (
        True,
        first["transaction"]["id"],
        "9",
    )
    assert again["itemStatus"]["message"] == "Return already added; this is the first result"
    assert again["returnedTransaction"]["returnedAmount"] == "900"
    assert different == {
        "__typename": "DuplicateBillNumberError",
        "code": "DUPLICATE_RETURN_NUMBER",
        "message": "return number 'R-9' was already used for a return of this bill",
        "field": "input.parentBillNumber",
        "existingTransactionId": first["transaction"]["id"],
    }
    assert await table_counts(database) == before


async def test_an_idempotency_key_replays_the_first_return_and_refuses_another_request(api, database):
    bought = await purchase(api)
    document = return_of(bought, "AMOUNT", amount="300", idempotencyKey="return-key-1")
    first = await returned(api, document)
    before = await table_counts(database)

    again = await returned(api, document)
    reused = await post_return(api, {**document, "amount": "301"})

    assert (again["replayed"], again["transaction"]["id"]) == (True, first["transaction"]["id"])
    assert (reused["__typename"], reused["code"], reused["field"]) == (
        "IdempotencyKeyReusedError",
        "IDEMPOTENCY_KEY_REUSED",
        "input.idempotencyKey",
    )
    assert await table_counts(database) == before
    # Without a return number or a key, every post is a new return.
    await returned(api, return_of(bought, "AMOUNT", amount="300"))
    assert (await find_customer(api, by_mobile(bought["mobile"])))["loyaltyPoints"] == "12"


# --- Concurrency ----------------------------------------------------------------------------


async def test_ten_concurrent_partial_returns_of_one_bill_never_take_back_more_than_it_earned(api, database):
    bought = await purchase(api)

    results = await asyncio.gather(*(post_return(api, return_of(bought, "AMOUNT", amount="500")) for _ in range(10)))

    done = [result for result in results if result["__typename"] == "TransactionReturned"]
    refused = [result for result in results if result["__typename"] != "TransactionReturned"]
    assert len(done) == 3
    assert sorted(result["pointsReturned"] for result in done) == ["5", "5", "5"]
    assert {
        (result["code"], result["field"], result["remainingAmount"], result["remainingPoints"]) for result in refused
    } == {("RETURN_EXCEEDS_BILL", "input.amount", "300", "3")}
    last = max(done, key=lambda result: int(result["transaction"]["id"]))["returnedTransaction"]
    assert (last["returnedAmount"], last["returnedPoints"], last["pointsEarned"]) == ("1500", "15", "18")
    found = await find_customer(api, by_mobile(bought["mobile"]))
    assert (found["loyaltyPoints"], found["lifetimePurchases"]) == ("3", "300")
    await assert_reconciled(database)


async def test_a_redemption_from_a_coarser_program_comes_back_in_whole_points_on_a_partial_return(
    org_api, database, clock
):
    spec = org_spec("finer")
    spec["programs"][0]["points_decimal_places"] = 2  # the bill's program counts hundredths; cafe counts whole points
    api = await org_api(spec)
    mobile = new_mobile()
    await purchase(api, customer={"mobile": mobile}, tillCode="till-cafe", lineItems=[], amount="1000")
    org = await org_config(database, api.credentials.org_id)
    redemption = await redeem_points(
        database,
        org,
        RedemptionInput(
            customer_type=IdentifierType.MOBILE, customer_value=mobile, points=Decimal(10), till_code="till-cafe"
        ),
        now=clock.now(),
    )
    bought = await purchase(api, customer={"mobile": mobile}, pointsRedemptions=[str(redemption.redemption.id)])

    socks = await returned(api, return_of(bought, "LINE_ITEM", lineItems=[{"serial": 3, "qty": "1"}]))

    # 200 of 1,800 back: 10 x 200 / 1,800 = 1.11, in the cafe program's whole points: 1.
    assert socks["redemptionPointsReversed"] == "1"
    await assert_reconciled(database)
