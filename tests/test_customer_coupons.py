"""Member care's coupons tab through the API: a customer's codes (Issued Coupons) with promotion,
validity and status, and their redemptions (bill, discount, time, reversed by a return or not).

Promotions give 10% off a bill over 100 (tests.test_promotions' defaults), from a day before the
test clock's start to 30 days after it unless a test says otherwise.
"""

from __future__ import annotations

from datetime import timedelta

from tests.client import error_of, purchase_day
from tests.conftest import TEST_NOW
from tests.documents import RETURN_TRANSACTION
from tests.factories import by_mobile, by_user_id, new_mobile
from tests.test_promotions import LINK, add, create_promotion, small_bill, upload

COUPONS = """
query Coupons($customer: CustomerLookupInput!, $status: CouponStatus, $first: Int = 10, $after: String) {
  customerCoupons(customer: $customer, status: $status, first: $first, after: $after) {
    __typename
    ... on CustomerCouponPage {
      customerId
      coupons {
        code source status validFrom validUntil linkMode linkedAt redemptionsCount promotion { id name }
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""

REDEMPTIONS = """
query Redemptions($customer: CustomerLookupInput!, $first: Int = 10, $after: String) {
  customerCouponRedemptions(customer: $customer, first: $first, after: $after) {
    __typename
    ... on CouponRedemptionPage {
      customerId
      redemptions {
        id code promotion { id name } transactionId transactionNumber discount linked redeemedAt
        reversed reversedAt reversalTransactionId reversalTransactionNumber
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""


async def coupons(api, customer, **variables):
    return (await api.data(COUPONS, {"customer": customer, **variables}))["customerCoupons"]


async def redemptions(api, customer, **variables):
    return (await api.data(REDEMPTIONS, {"customer": customer, **variables}))["customerCouponRedemptions"]


async def link(api, code, mobile, mode="NEXT_CHECKOUT"):
    result = (await api.data(LINK, {"input": {"code": code, "customer": by_mobile(mobile), "mode": mode}}))[
        "linkPromoCode"
    ]
    assert result["__typename"] == "PromoCodeLinked", result
    return result


async def uploaded_code(api, database, org, code, **promotion):
    """A promotion with one uploaded code: the promotion as created."""
    created = await create_promotion(api, **promotion)
    await upload(database, org, created, f"code\n{code}\n")
    return created


async def full_return(api, transaction, mobile):
    document = {
        "type": "RETURN",
        "returnType": "FULL",
        "number": transaction["number"],
        "purchaseTime": purchase_day(transaction),
        "tillCode": "till-1",
        "customer": {"mobile": mobile},
    }
    returned = (await api.data(RETURN_TRANSACTION, {"input": document}))["returnTransaction"]
    assert returned["__typename"] == "TransactionReturned", returned
    return returned["transaction"]


async def customer_with_each_status(api, database, org):
    """A customer holding one code of each status, three days after the test clock's start:
    PAPER-SHORT (linked, its promotion ended), SOON10 (linked, not started), PAPER-ACTIVE (linked),
    NAMED5 (named on a bill, never linked) and PAPER-USED (linked, used by the next bill).
    Returns (mobile, user id, promotions by code, the bills that redeemed PAPER-USED and NAMED5)."""
    mobile = new_mobile()
    used = await uploaded_code(api, database, org, "PAPER-USED", name="paper coupon")
    named = await create_promotion(api, name="named on the bill", commonCode="NAMED5", percent="5")
    first_bill = await add(api, small_bill("10", customer={"mobile": mobile}))  # registers the customer
    await link(api, "PAPER-USED", mobile)
    used_bill = await add(api, small_bill("500", customer={"mobile": mobile}))
    named_bill = await add(api, small_bill("300", customer={"mobile": mobile}, promoCodes=["NAMED5"]))
    active = await uploaded_code(api, database, org, "PAPER-ACTIVE", name="active coupon")
    soon = await create_promotion(
        api,
        name="starts in ten days",
        commonCode="SOON10",
        validFrom=(TEST_NOW + timedelta(days=10)).isoformat(),
        validUntil=(TEST_NOW + timedelta(days=40)).isoformat(),
    )
    short = await uploaded_code(
        api, database, org, "PAPER-SHORT", name="two-day coupon", validUntil=(TEST_NOW + timedelta(days=2)).isoformat()
    )
    for code in ("PAPER-ACTIVE", "SOON10", "PAPER-SHORT"):
        await link(api, code, mobile)
    api.clock.advance(timedelta(days=3))
    promotions = {"PAPER-USED": used, "NAMED5": named, "PAPER-ACTIVE": active, "SOON10": soon, "PAPER-SHORT": short}
    user_id = first_bill["transaction"]["customer"]["userId"]
    return mobile, user_id, promotions, used_bill["transaction"], named_bill["transaction"]


def expected_coupon(promotion, code, status, *, source="UPLOADED", link_mode="NEXT_CHECKOUT", linked=True, uses=0):
    return {
        "code": code,
        "source": source,
        "status": status,
        "validFrom": promotion["validFrom"],
        "validUntil": promotion["validUntil"],
        "linkMode": link_mode,
        "linkedAtSet": linked,
        "redemptionsCount": uses,
        "promotion": {"id": promotion["id"], "name": promotion["name"]},
    }


def shown(coupon):
    """A coupon as the tests compare it: linkedAt is the clock's time at linking, checked as set or not."""
    found = dict(coupon)
    found["linkedAtSet"] = found.pop("linkedAt") is not None
    return found


# --- Issued coupons -------------------------------------------------------------------------


async def test_each_code_of_the_customer_with_its_promotion_validity_and_status(api, database, org):
    mobile, user_id, promotions, _, _ = await customer_with_each_status(api, database, org)
    stranger = new_mobile()
    await add(api, small_bill("10", customer={"mobile": stranger}))
    await uploaded_code(api, database, org, "NOT-HERS", name="someone else's")
    await link(api, "NOT-HERS", stranger)

    page = await coupons(api, by_mobile(mobile))

    assert (page["__typename"], page["customerId"], page["pageInfo"]) == (
        "CustomerCouponPage",
        user_id,
        {"hasNextPage": False, "endCursor": page["pageInfo"]["endCursor"]},
    )
    assert [shown(coupon) for coupon in page["coupons"]] == [
        expected_coupon(promotions["PAPER-SHORT"], "PAPER-SHORT", "EXPIRED"),
        expected_coupon(promotions["SOON10"], "SOON10", "NOT_YET_ACTIVE", source="COMMON"),
        expected_coupon(promotions["PAPER-ACTIVE"], "PAPER-ACTIVE", "ACTIVE"),
        expected_coupon(
            promotions["NAMED5"], "NAMED5", "REDEEMED", source="COMMON", link_mode=None, linked=False, uses=1
        ),
        expected_coupon(promotions["PAPER-USED"], "PAPER-USED", "REDEEMED", uses=1),
    ]
    other = await coupons(api, by_mobile(stranger))
    assert [(coupon["code"], coupon["status"]) for coupon in other["coupons"]] == [("NOT-HERS", "ACTIVE")]


async def test_a_status_filter_and_keyset_pages(api, database, org):
    mobile, _, _, _, _ = await customer_with_each_status(api, database, org)

    redeemed = await coupons(api, by_mobile(mobile), status="REDEEMED")
    first = await coupons(api, by_mobile(mobile), first=2)
    second = await coupons(api, by_mobile(mobile), first=2, after=first["pageInfo"]["endCursor"])
    third = await coupons(api, by_mobile(mobile), first=2, after=second["pageInfo"]["endCursor"])
    expired_page = await coupons(api, by_mobile(mobile), status="EXPIRED", first=1)

    assert [coupon["code"] for coupon in redeemed["coupons"]] == ["NAMED5", "PAPER-USED"]
    assert [
        ([coupon["code"] for coupon in page["coupons"]], page["pageInfo"]["hasNextPage"])
        for page in (first, second, third)
    ] == [
        (["PAPER-SHORT", "SOON10"], True),
        (["PAPER-ACTIVE", "NAMED5"], True),
        (["PAPER-USED"], False),
    ]
    assert ([coupon["code"] for coupon in expired_page["coupons"]], expired_page["pageInfo"]["hasNextPage"]) == (
        ["PAPER-SHORT"],
        False,
    )


async def test_an_every_checkout_code_stays_active_until_the_customers_limit_of_it_is_reached(api, database, org):
    mobile = new_mobile()
    await add(api, small_bill("10", customer={"mobile": mobile}))
    await uploaded_code(api, database, org, "EVERY-2", name="twice per customer", customerCodeRedemptionLimit=2)
    await link(api, "EVERY-2", mobile, mode="EVERY_CHECKOUT")

    statuses = []
    for _ in range(2):
        await add(api, small_bill("500", customer={"mobile": mobile}))
        found = (await coupons(api, by_mobile(mobile)))["coupons"]
        statuses.append(
            [(coupon["code"], coupon["linkMode"], coupon["status"], coupon["redemptionsCount"]) for coupon in found]
        )

    assert statuses == [
        [("EVERY-2", "EVERY_CHECKOUT", "ACTIVE", 1)],
        [("EVERY-2", "EVERY_CHECKOUT", "REDEEMED", 2)],
    ]


async def test_unknown_customers_and_bad_cursors_are_typed_errors(api):
    unknown = await coupons(api, by_mobile(new_mobile()))
    bad_cursor = await coupons(api, by_user_id("1"), after="not-a-cursor")
    too_many = await redemptions(api, by_user_id("1"), first=101)

    assert error_of(unknown) == ("NotFoundError", "CUSTOMER_NOT_FOUND", "customer")
    assert error_of(bad_cursor) == ("InvalidInputError", "INVALID_INPUT", "after")
    assert error_of(too_many) == ("InvalidInputError", "INVALID_INPUT", "first")


# --- Redemptions ----------------------------------------------------------------------------


async def test_redemptions_show_the_bill_discount_time_and_a_full_return_reversing_one(api, database, org):
    mobile, user_id, promotions, used_bill, named_bill = await customer_with_each_status(api, database, org)
    returned = await full_return(api, named_bill, mobile)

    page = await redemptions(api, by_mobile(mobile))
    after_return = await coupons(api, by_mobile(mobile), status="ACTIVE")

    reversed_at = api.clock.now().isoformat()
    assert page["customerId"] == user_id
    assert [{key: value for key, value in item.items() if key != "id"} for item in page["redemptions"]] == [
        {
            "code": "NAMED5",
            "promotion": {"id": promotions["NAMED5"]["id"], "name": "named on the bill"},
            "transactionId": named_bill["id"],
            "transactionNumber": named_bill["number"],
            "discount": "15",
            "linked": False,
            "redeemedAt": TEST_NOW.isoformat(),
            "reversed": True,
            "reversedAt": reversed_at,
            "reversalTransactionId": returned["id"],
            "reversalTransactionNumber": returned["number"],
        },
        {
            "code": "PAPER-USED",
            "promotion": {"id": promotions["PAPER-USED"]["id"], "name": "paper coupon"},
            "transactionId": used_bill["id"],
            "transactionNumber": used_bill["number"],
            "discount": "50",
            "linked": True,
            "redeemedAt": TEST_NOW.isoformat(),
            "reversed": False,
            "reversedAt": None,
            "reversalTransactionId": None,
            "reversalTransactionNumber": None,
        },
    ]
    assert page["pageInfo"]["hasNextPage"] is False
    # The code given back is the customer's to use again.
    assert [(coupon["code"], coupon["redemptionsCount"]) for coupon in after_return["coupons"]] == [
        ("PAPER-ACTIVE", 0),
        ("NAMED5", 0),
    ]


async def test_redemptions_page_by_cursor(api, database, org):
    mobile = new_mobile()
    await create_promotion(api, name="common", commonCode="AGAIN10")
    bills = [
        (await add(api, small_bill("200", customer={"mobile": mobile}, promoCodes=["AGAIN10"])))["transaction"]
        for _ in range(3)
    ]

    first = await redemptions(api, by_mobile(mobile), first=2)
    second = await redemptions(api, by_mobile(mobile), first=2, after=first["pageInfo"]["endCursor"])

    assert [
        ([item["transactionNumber"] for item in page["redemptions"]], page["pageInfo"]["hasNextPage"])
        for page in (first, second)
    ] == [([bills[2]["number"], bills[1]["number"]], True), ([bills[0]["number"]], False)]


# --- Statements -----------------------------------------------------------------------------


async def statements_for(api, count_statements, document, customer, field):
    await api.data(document, {"customer": customer, "first": 100})  # the API key and the org are cached from here on
    counter = count_statements()
    result = (await api.data(document, {"customer": customer, "first": 100}))[field]
    return counter.count, result


async def test_the_lists_cost_the_same_statements_for_2_codes_as_for_12(api, database, org, count_statements):
    measured = {}
    for size in (2, 12):
        mobile = new_mobile()
        await add(api, small_bill("10", customer={"mobile": mobile}))
        for index in range(size):
            code = f"C{size}-{index}"
            await create_promotion(api, name=f"promotion {code}", commonCode=code)
            await add(api, small_bill("200", customer={"mobile": mobile}, promoCodes=[code]))
        listed = await statements_for(api, count_statements, COUPONS, by_mobile(mobile), "customerCoupons")
        redeemed = await statements_for(
            api, count_statements, REDEMPTIONS, by_mobile(mobile), "customerCouponRedemptions"
        )
        assert (len(listed[1]["coupons"]), len(redeemed[1]["redemptions"])) == (size, size)
        measured[size] = (listed[0], redeemed[0])

    # The customer's lookup and one list statement; the redemptions add one batch of bill numbers.
    # On SQLite the request's read transaction also sends its BEGIN (asyncpg's is no cursor statement).
    begin = 1 if database.is_sqlite else 0
    assert measured == {2: (2 + begin, 3 + begin), 12: (2 + begin, 3 + begin)}
