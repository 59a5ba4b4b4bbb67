"""Member care's Promotions tab (customerPromotionHistory): the points a customer was issued
through points promotions, by awardPromotionPoints and by the customer promotion import.

Main program: whole points; each test customer is registered by a bill of 1,800 (18 main points).
"""

from __future__ import annotations

from tests.client import customer_with_points
from tests.factories import by_mobile, by_user_id, new_mobile
from tests.test_customer_promotions import award, award_input
from tests.test_import_customer_promotion import SETTINGS, customers, run

PROMOTION_HISTORY = """
query Promotions($customer: CustomerLookupInput!, $first: Int = 10, $after: String) {
  customerPromotionHistory(customer: $customer, first: $first, after: $after) {
    __typename
    ... on PromotionAwardPage {
      customerId
      records {
        eventLogId promotion { identifier name programCode } programCode points storeCode tillCode
        importJobId awardedAt
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""


async def promotion_history(api, lookup, **variables) -> dict:
    return (await api.data(PROMOTION_HISTORY, {"customer": lookup, **variables}))["customerPromotionHistory"]


async def test_awards_and_imported_promotion_points_are_listed_newest_first_with_their_promotion(client_api, clock):
    customer, other = await customers(client_api, 2)
    mobile = "91" + customer["mobile"]
    awarded = await award(client_api, award_input(mobile, "250"))
    assert awarded["__typename"] == "PromotionPointsAwarded", awarded
    await award(client_api, award_input("91" + other["mobile"], "70"))  # another customer's: not listed
    job = await run(client_api, f"Mobile,Store_Code,Points\r\n{customer['mobile']},store-2,40\r\n", **SETTINGS)

    page = await promotion_history(client_api, by_user_id(customer["userId"]))

    assert page["__typename"] == "PromotionAwardPage"
    assert page["customerId"] == customer["userId"]
    imported, by_api = page["records"]
    assert imported == {
        "eventLogId": imported["eventLogId"],
        "promotion": {"identifier": "DIWALI-26", "name": "Diwali bonus", "programCode": "main"},
        "programCode": "main",
        "points": "40",
        "storeCode": "store-2",
        "tillCode": None,
        "importJobId": job["id"],
        "awardedAt": clock.now().isoformat(),
    }
    assert by_api == {
        "eventLogId": awarded["eventLogId"],
        "promotion": {"identifier": "DIWALI-2026", "name": "Diwali bonus", "programCode": "main"},
        "programCode": "main",
        "points": "250",
        "storeCode": "store-1",
        "tillCode": "till-1",
        "importJobId": None,
        "awardedAt": clock.now().isoformat(),
    }
    assert int(imported["eventLogId"]) > int(by_api["eventLogId"])
    assert page["pageInfo"]["hasNextPage"] is False


async def test_pages_follow_the_cursor_and_purchases_are_not_promotion_points(api):
    mobile, _ = await customer_with_points(api, "1800")
    for points in ("10", "20", "30"):
        assert (await award(api, award_input(mobile, points)))["__typename"] == "PromotionPointsAwarded"

    first = await promotion_history(api, by_mobile(mobile), first=2)
    rest = await promotion_history(api, by_mobile(mobile), first=2, after=first["pageInfo"]["endCursor"])

    assert [record["points"] for record in first["records"]] == ["30", "20"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [record["points"] for record in rest["records"]] == ["10"]
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": rest["pageInfo"]["endCursor"]}


async def test_a_customer_without_promotion_points_has_an_empty_page(api):
    mobile, _ = await customer_with_points(api, "1800")

    page = await promotion_history(api, by_mobile(mobile))

    assert (page["__typename"], page["records"], page["pageInfo"]) == (
        "PromotionAwardPage",
        [],
        {"hasNextPage": False, "endCursor": None},
    )


async def test_an_unknown_customer_or_a_foreign_cursor_is_a_typed_error(api):
    unknown = await promotion_history(api, by_mobile(new_mobile()))
    bad_cursor = await promotion_history(api, by_mobile(new_mobile()), after="bm90LWEtY3Vyc29y")

    assert (unknown["__typename"], unknown["code"], unknown["field"]) == (
        "NotFoundError",
        "CUSTOMER_NOT_FOUND",
        "customer",
    )
    assert (bad_cursor["__typename"], bad_cursor["field"]) == ("InvalidInputError", "after")


async def test_the_page_costs_the_same_statements_for_one_award_or_many_promotions(api, database, count_statements):
    (one, _), (many, _) = await customer_with_points(api), await customer_with_points(api)
    await award(api, award_input(one, "5"))
    for number in range(6):
        await award(api, award_input(many, "5", identifier=f"PROMO-{number}", name=f"Promotion {number}"))

    counter = count_statements()
    await promotion_history(api, by_mobile(one))
    for_one = counter.count
    counter.count = 0
    page = await promotion_history(api, by_mobile(many))

    assert len(page["records"]) == 6
    assert counter.count == for_one
    # The customer's id by its identifier, the page of award entries, their promotions; SQLite's read
    # transaction also sends its BEGIN.
    assert for_one == (4 if database.is_sqlite else 3)
