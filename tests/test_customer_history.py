"""Member care: the customer history query (seed 004, "Change Identifier History")."""

from __future__ import annotations

from tests.client import buy, earn
from tests.factories import by_mobile, by_user_id, new_mobile

HISTORY = """
query History($customer: CustomerLookupInput!, $actions: [CustomerHistoryAction!], $first: Int = 10, $after: String) {
  customerHistory(customer: $customer, actions: $actions, first: $first, after: $after) {
    __typename
    ... on CustomerHistoryPage {
      records { action identifierType identifierValue otherUserId details }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""


async def history(api, customer, **variables):
    return (await api.data(HISTORY, {"customer": customer, **variables}))["customerHistory"]


async def test_registration_details_and_identifiers_are_listed_newest_first(api):
    mobile = new_mobile()
    await buy(api, mobile, "1800", firstname="Tom", lastname="Sawyer")
    await buy(api, mobile, "1800", email="tom@example.com", firstname="Thomas", lastname="Sawyer")

    page = await history(api, by_mobile(mobile))

    assert page["__typename"] == "CustomerHistoryPage"
    assert [(record["action"], record["identifierType"], record["identifierValue"]) for record in page["records"]] == [
        ("DETAILS_UPDATED", None, None),
        ("IDENTIFIER_ADDED", "EMAIL", "tom@example.com"),
        ("REGISTERED", None, None),
    ]
    assert page["pageInfo"]["hasNextPage"] is False


async def test_a_merge_shows_combine_on_the_survivor_and_merged_into_on_the_victim(api):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor = await earn(api, survivor_mobile, "1800")
    victim = await earn(api, victim_mobile, "1800", email="victim@example.com")
    await buy(api, survivor_mobile, "1800", email="victim@example.com")

    combine = await history(api, by_user_id(survivor), actions=["COMBINE"])
    merged = await history(api, by_user_id(victim), actions=["MERGED_INTO"])

    assert combine["records"] == [
        {
            "action": "COMBINE",
            "identifierType": None,
            "identifierValue": None,
            "otherUserId": victim,
            "details": {
                "identifiers": [
                    {"type": "MOBILE", "value": f"91{victim_mobile}"},
                    {"type": "EMAIL", "value": "victim@example.com"},
                ]
            },
        }
    ]
    assert [(record["action"], record["otherUserId"]) for record in merged["records"]] == [("MERGED_INTO", survivor)]


async def test_pages_follow_the_cursor_without_gaps_or_repeats(api):
    mobile = new_mobile()
    for index in range(3):
        await buy(api, mobile, "1800", firstname=f"Name{index}")
    seen = []
    after = None
    while True:
        page = await history(api, by_mobile(mobile), first=2, after=after)
        seen.extend(record["action"] for record in page["records"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["DETAILS_UPDATED", "DETAILS_UPDATED", "REGISTERED"]


async def test_an_unknown_customer_and_a_bad_cursor_are_typed_errors(api):
    missing = await history(api, by_mobile(new_mobile()))
    bad_cursor = await history(api, by_mobile(new_mobile()), after="not-a-cursor")

    assert (missing["__typename"], missing["code"], missing["field"]) == (
        "NotFoundError",
        "CUSTOMER_NOT_FOUND",
        "customer",
    )
    assert (bad_cursor["__typename"], bad_cursor["field"]) == ("InvalidInputError", "after")
