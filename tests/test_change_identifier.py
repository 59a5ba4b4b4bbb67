"""changeIdentifier and the seed's Change Identifier History (seed 004): add, replace, remove,
refusals naming the field, merges on request, and what the history leaves out."""

from __future__ import annotations

from tests.client import add, buy, earn, merge, post_at_once
from tests.factories import bill, by_mobile, by_user_id, new_mobile
from tests.snapshots import organization_rows

CHANGE = """
mutation Change($input: ChangeIdentifierInput!) {
  changeIdentifier(input: $input) {
    __typename
    ... on IdentifierChanged {
      replayed mergedUserId
      customer { userId mobile email externalId loyaltyPoints identifiers { type value } }
    }
    ... on Error { code field }
  }
}
"""

IDENTIFIER_HISTORY = """
query IdentifierHistory($customer: CustomerLookupInput!, $first: Int = 10, $after: String) {
  identifierHistory(customer: $customer, first: $first, after: $after) {
    __typename
    ... on IdentifierHistoryPage {
      records { source account identifierType identifierValue action otherUserId }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code field }
  }
}
"""

CUSTOMER_HISTORY = """
query History($customer: CustomerLookupInput!) {
  customerHistory(customer: $customer, first: 20) {
    ... on CustomerHistoryPage { records { action identifierType identifierValue otherUserId source account } }
  }
}
"""


async def change(api, customer, **input_fields):
    return (await api.data(CHANGE, {"input": {"customer": customer, **input_fields}}))["changeIdentifier"]


async def identifier_history(api, customer, **variables):
    return (await api.data(IDENTIFIER_HISTORY, {"customer": customer, **variables}))["identifierHistory"]


async def history_rows(api, customer):
    page = await identifier_history(api, customer)
    assert page["__typename"] == "IdentifierHistoryPage", page
    return [
        (
            row["source"],
            row["account"],
            row["identifierType"],
            row["identifierValue"],
            row["action"],
            row["otherUserId"],
        )
        for row in page["records"]
    ]


async def test_an_email_is_added_and_listed_with_its_source_and_account(api):
    mobile = new_mobile()
    user_id = await earn(api, mobile, "1800")

    result = await change(
        api, by_mobile(mobile), type="EMAIL", add=" Tom@Example.com ", source="WECHAT", account="wechat-main"
    )

    assert result == {
        "__typename": "IdentifierChanged",
        "replayed": False,
        "mergedUserId": None,
        "customer": {
            "userId": user_id,
            "mobile": f"91{mobile}",
            "email": "tom@example.com",
            "externalId": None,
            "loyaltyPoints": "18",
            "identifiers": [{"type": "MOBILE", "value": f"91{mobile}"}, {"type": "EMAIL", "value": "tom@example.com"}],
        },
    }
    assert await history_rows(api, by_user_id(user_id)) == [
        ("WECHAT", "wechat-main", "EMAIL", "tom@example.com", "ADD", None)
    ]
    # The profile history shows the change too, with its source and account.
    full = (await api.data(CUSTOMER_HISTORY, {"customer": by_user_id(user_id)}))["customerHistory"]["records"]
    assert full == [
        {
            "action": "IDENTIFIER_ADDED",
            "identifierType": "EMAIL",
            "identifierValue": "tom@example.com",
            "otherUserId": None,
            "source": "WECHAT",
            "account": "wechat-main",
        },
        {
            "action": "REGISTERED",
            "identifierType": None,
            "identifierValue": None,
            "otherUserId": None,
            "source": None,
            "account": None,
        },
    ]


async def test_a_replace_removes_the_old_value_and_adds_the_new_one(api):
    old_mobile, new = new_mobile(), new_mobile()
    user_id = await earn(api, old_mobile, "1800")

    result = await change(api, by_mobile(old_mobile), type="MOBILE", remove=old_mobile, add=new)

    assert result["customer"]["identifiers"] == [{"type": "MOBILE", "value": f"91{new}"}]
    assert (await change(api, by_mobile(old_mobile), type="EMAIL", add="x@example.com"))["code"] == (
        "CUSTOMER_NOT_FOUND"
    )
    assert await history_rows(api, by_user_id(user_id)) == [
        ("INSTORE", None, "MOBILE", f"91{new}", "ADD", None),
        ("INSTORE", None, "MOBILE", f"91{old_mobile}", "REMOVE", None),
    ]


async def test_an_external_id_is_removed(api):
    mobile = new_mobile()
    user_id = await earn(api, mobile, "1800", externalId="EXT-REMOVE-1")

    result = await change(api, by_user_id(user_id), type="EXTERNAL_ID", remove="EXT-REMOVE-1", source="MARTJACK")

    assert result["customer"]["identifiers"] == [{"type": "MOBILE", "value": f"91{mobile}"}]
    assert await history_rows(api, by_user_id(user_id)) == [
        ("MARTJACK", None, "EXTERNAL_ID", "EXT-REMOVE-1", "REMOVE", None)
    ]


async def test_a_value_another_customer_owns_is_refused_and_nothing_changes(api, database, org):
    mobile, owner_mobile = new_mobile(), new_mobile()
    await earn(api, mobile, "1800", email="mine@example.com")
    await earn(api, owner_mobile, "1800", email="taken@example.com")
    before = await organization_rows(database, org.org_id)

    taken = await change(api, by_mobile(mobile), type="EMAIL", add="taken@example.com", remove="mine@example.com")

    assert taken == {"__typename": "ConflictError", "code": "IDENTIFIER_TAKEN", "field": "input.add"}
    assert await organization_rows(database, org.org_id) == before


async def test_bad_values_are_typed_errors_naming_the_field_and_nothing_changes(api, database, org):
    mobile = new_mobile()
    user_id = await earn(api, mobile, "1800")
    before = await organization_rows(database, org.org_id)

    results = [
        await change(api, by_mobile(mobile), type="EMAIL", add="not an email"),
        await change(api, by_mobile(mobile), type="MOBILE", add="12"),
        await change(api, by_mobile(mobile), type="EMAIL", remove="nobody@example.com"),
        await change(api, by_mobile(mobile), type="EMAIL"),
        await change(api, by_mobile(mobile), type="CARD_NUMBER", add="CARD-1", account="x" * 65),
        await change(api, by_mobile(new_mobile()), type="EMAIL", add="a@example.com"),
        await change(api, by_mobile(mobile), type="EXTERNAL_ID", add="   "),
    ]

    assert [(result["__typename"], result["code"], result["field"]) for result in results] == [
        ("InvalidInputError", "INVALID_IDENTIFIER", "input.add"),
        ("InvalidInputError", "INVALID_IDENTIFIER", "input.add"),
        ("NotFoundError", "IDENTIFIER_NOT_HELD", "input.remove"),
        ("InvalidInputError", "NO_IDENTIFIER_CHANGE", "input.add"),
        ("InvalidInputError", "INVALID_INPUT", "input.account"),
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "input.customer"),
        ("InvalidInputError", "INVALID_IDENTIFIER", "input.add"),
    ]
    assert await organization_rows(database, org.org_id) == before
    assert await history_rows(api, by_user_id(user_id)) == []


async def test_merge_true_merges_the_owner_in_and_the_history_lists_combine(api):
    mobile, owner_mobile = new_mobile(), new_mobile()
    user_id = await earn(api, mobile, "1800")
    owner_id = await earn(api, owner_mobile, "2500", email="shared@example.com")

    result = await change(
        api, by_mobile(mobile), type="EMAIL", add="shared@example.com", merge=True, source="WECHAT", account="wx-2"
    )

    assert (result["__typename"], result["mergedUserId"], result["customer"]["loyaltyPoints"]) == (
        "IdentifierChanged",
        owner_id,
        "43",
    )
    assert result["customer"]["identifiers"] == [
        {"type": "MOBILE", "value": f"91{mobile}"},
        {"type": "MOBILE", "value": f"91{owner_mobile}"},
        {"type": "EMAIL", "value": "shared@example.com"},
    ]
    assert await history_rows(api, by_user_id(user_id)) == [
        ("WECHAT", "wx-2", "EMAIL", "shared@example.com", "COMBINE", owner_id)
    ]
    # The merged customer can take no more changes.
    merged = await change(api, by_user_id(owner_id), type="EMAIL", add="later@example.com")
    assert (merged["code"], merged["field"]) == ("CUSTOMER_MERGED", "input.customer")


async def test_merges_a_purchase_makes_and_identifiers_it_adds_are_not_listed_but_merge_requests_are(api):
    # The seed: "not the account merges that happen when registering an existing identifier in a
    # different source account". A WeChat purchase names an email an in-store customer owns.
    instore_mobile, wechat_mobile, third_mobile = new_mobile(), new_mobile(), new_mobile()
    survivor = await earn(api, instore_mobile, "1800")
    victim = await earn(api, wechat_mobile, "1800", email="wechat@example.com")
    await add(
        api, bill(customer={"mobile": instore_mobile, "email": "wechat@example.com"}, source="WECHAT", lineItems=[])
    )
    await buy(api, instore_mobile, "100", externalId="EXT-BY-PURCHASE")
    third = await earn(api, third_mobile, "1800")
    assert (await merge(api, by_user_id(survivor), by_user_id(third)))["__typename"] == "CustomersMerged"

    full = (await api.data(CUSTOMER_HISTORY, {"customer": by_user_id(survivor)}))["customerHistory"]["records"]

    assert await history_rows(api, by_user_id(survivor)) == [(None, None, None, None, "COMBINE", third)]
    assert [(row["action"], row["identifierValue"], row["otherUserId"]) for row in full] == [
        ("COMBINE", None, third),
        ("IDENTIFIER_ADDED", "EXT-BY-PURCHASE", None),
        ("COMBINE", None, victim),
        ("REGISTERED", None, None),
    ]


async def test_a_replayed_request_returns_the_customer_and_writes_nothing_more(api, database, org):
    mobile = new_mobile()
    user_id = await earn(api, mobile, "1800")
    first = await change(api, by_user_id(user_id), type="CARD_NUMBER", add="CARD-77", idempotencyKey="change-1")
    after_first = await organization_rows(database, org.org_id)

    again = await change(api, by_user_id(user_id), type="CARD_NUMBER", add="CARD-77", idempotencyKey="change-1")
    other = await change(api, by_user_id(user_id), type="CARD_NUMBER", add="CARD-78", idempotencyKey="change-1")

    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["customer"] == first["customer"]
    assert (other["code"], other["field"]) == ("IDEMPOTENCY_KEY_REUSED", "input.idempotencyKey")
    assert await organization_rows(database, org.org_id) == after_first


async def test_the_history_pages_follow_the_cursor(api):
    mobile = new_mobile()
    user_id = await earn(api, mobile, "1800")
    for index in range(3):
        await change(api, by_user_id(user_id), type="EXTERNAL_ID", add=f"PAGE-{index}")
    seen = []
    after = None
    while True:
        page = await identifier_history(api, by_user_id(user_id), first=2, after=after)
        seen.extend(record["identifierValue"] for record in page["records"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["PAGE-2", "PAGE-1", "PAGE-0"]


async def test_two_customers_asking_for_one_value_at_once_one_gets_it_the_other_is_refused(api):
    first_mobile, second_mobile = new_mobile(), new_mobile()
    first_id = await earn(api, first_mobile, "1800")
    second_id = await earn(api, second_mobile, "1800")
    inputs = [
        {"customer": by_user_id(user_id), "type": "EMAIL", "add": "race@example.com"}
        for user_id in (first_id, second_id) * 3
    ]

    results = await post_at_once(api, CHANGE, inputs)

    assert sorted(result["__typename"] for result in results) == ["ConflictError"] * 3 + ["IdentifierChanged"] * 3
    winner = next(result["customer"]["userId"] for result in results if result["__typename"] == "IdentifierChanged")
    assert {result["customer"]["userId"] for result in results if result["__typename"] == "IdentifierChanged"} == {
        winner
    }
    assert {result["code"] for result in results if result["__typename"] == "ConflictError"} == {"IDENTIFIER_TAKEN"}
    # The winner's first request added it; its two others found it already theirs (no change).
    assert await history_rows(api, by_user_id(winner)) == [("INSTORE", None, "EMAIL", "race@example.com", "ADD", None)]


async def test_a_replace_with_merge_removes_the_old_value_then_combines_the_owner_of_the_new_one(api):
    mobile, owner_mobile = new_mobile(), new_mobile()
    user_id = await earn(api, mobile, "1800", email="old@example.com")
    owner_id = await earn(api, owner_mobile, "1800", email="new@example.com")

    result = await change(
        api, by_user_id(user_id), type="EMAIL", remove="old@example.com", add="new@example.com", merge=True
    )

    assert (result["mergedUserId"], result["customer"]["email"], result["customer"]["loyaltyPoints"]) == (
        owner_id,
        "new@example.com",
        "36",
    )
    assert await history_rows(api, by_user_id(user_id)) == [
        ("INSTORE", None, "EMAIL", "new@example.com", "COMBINE", owner_id),
        ("INSTORE", None, "EMAIL", "old@example.com", "REMOVE", None),
    ]
