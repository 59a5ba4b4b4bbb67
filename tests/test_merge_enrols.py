"""Merging an enrolled (LOYALTY) customer into a NON_LOYALTY one enrols the survivor (issue 16):
a member's points never end up on a non-member. This holds for every merge: mergeCustomers,
changeIdentifier taking a member's identifier, and a bill naming both customers' identifiers.

Bills are the test bill (tests.factories.bill): 1,800 net, 18 points at bronze.
"""

from __future__ import annotations

from tests.client import add_transaction, merge
from tests.factories import bill, by_mobile, by_user_id, new_mobile
from tests.ledger_checks import assert_reconciled
from tests.test_change_identifier import change

ADD = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      transaction {
        pointsEarned
        customer { userId type loyaltyPoints }
        sideEffects { __typename ... on CustomerSideEffect { loyaltyType } }
      }
    }
    ... on Error { code message field }
  }
}
"""
CUSTOMER = """
query Customer($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) { ... on Customer { userId type loyaltyPoints lifetimePurchases } }
}
"""
HISTORY = """
query History($customer: CustomerLookupInput!) {
  customerHistory(customer: $customer, first: 20) {
    ... on CustomerHistoryPage { records { action otherUserId details } }
  }
}
"""
ENROLLED = {"loyalty_type": {"from": "NON_LOYALTY", "to": "LOYALTY"}}


async def post(api, customer_type, **customer):
    """A bill of the customer (NON_LOYALTY: registered, not enrolled, earns nothing)."""
    result = await add_transaction(api, bill(customer={**customer, "type": customer_type}), query=ADD)
    assert result["__typename"] == "TransactionAdded", result
    return result["transaction"]


async def customer_of(api, lookup):
    return (await api.data(CUSTOMER, {"lookup": lookup}))["customer"]


async def history_of(api, user_id):
    records = (await api.data(HISTORY, {"customer": by_user_id(user_id)}))["customerHistory"]["records"]
    return [(record["action"], record["otherUserId"], record["details"]) for record in records]


async def member_and_non_member(api):
    """(member mobile, member id, non-member mobile, non-member id): the member holds 18 points."""
    member_mobile, non_member_mobile = new_mobile(), new_mobile()
    member = (await post(api, "LOYALTY", mobile=member_mobile))["customer"]["userId"]
    non_member = (await post(api, "NON_LOYALTY", mobile=non_member_mobile))["customer"]["userId"]
    return member_mobile, member, non_member_mobile, non_member


async def test_merging_a_member_into_a_non_member_enrols_the_survivor_with_the_members_points(api, database):
    member_mobile, member, non_member_mobile, non_member = await member_and_non_member(api)

    result = await merge(api, by_mobile(non_member_mobile), by_mobile(member_mobile), idempotencyKey="enrol-1")

    assert (result["__typename"], result["survivor"]["userId"], result["survivor"]["loyaltyPoints"]) == (
        "CustomersMerged",
        non_member,
        "18",
    )
    assert await customer_of(api, by_user_id(non_member)) == {
        "userId": non_member,
        "type": "LOYALTY",
        "loyaltyPoints": "18",
        "lifetimePurchases": "3600",
    }
    assert (await history_of(api, non_member))[:2] == [
        ("DETAILS_UPDATED", None, ENROLLED),
        ("COMBINE", member, {"identifiers": [{"type": "MOBILE", "value": "91" + member_mobile}]}),
    ]
    # Enrolled, the survivor's next bill earns; a replay of the merge enrols nobody again.
    assert (await post(api, "NON_LOYALTY", mobile=non_member_mobile))["pointsEarned"] == "18"
    again = await merge(api, by_mobile(non_member_mobile), by_mobile(member_mobile), idempotencyKey="enrol-1")
    assert (again["replayed"], again["survivor"]["loyaltyPoints"]) == (True, "36")
    assert [row[0] for row in await history_of(api, non_member)].count("DETAILS_UPDATED") == 1
    await assert_reconciled(database)


async def test_merging_a_non_member_into_a_member_or_into_another_non_member_changes_no_one_s_type(api):
    member_mobile, member, non_member_mobile, _ = await member_and_non_member(api)
    other_mobile, third_mobile = new_mobile(), new_mobile()
    other = (await post(api, "NON_LOYALTY", mobile=other_mobile))["customer"]["userId"]
    await post(api, "NON_LOYALTY", mobile=third_mobile)

    into_member = await merge(api, by_mobile(member_mobile), by_mobile(non_member_mobile))
    between_non_members = await merge(api, by_mobile(other_mobile), by_mobile(third_mobile))

    assert into_member["__typename"] == "CustomersMerged", into_member
    assert between_non_members["__typename"] == "CustomersMerged", between_non_members
    assert (await customer_of(api, by_user_id(member)))["type"] == "LOYALTY"
    assert (await customer_of(api, by_user_id(other)))["type"] == "NON_LOYALTY"
    assert [action for action, _, _ in await history_of(api, member)] == ["COMBINE", "REGISTERED"]
    assert "DETAILS_UPDATED" not in [action for action, _, _ in await history_of(api, other)]


async def test_a_non_member_taking_a_members_identifier_is_enrolled_by_the_merge(api, database):
    member_email = f"{new_mobile()}@example.com"
    member = (await post(api, "LOYALTY", mobile=new_mobile(), email=member_email))["customer"]["userId"]
    non_member_mobile = new_mobile()
    non_member = (await post(api, "NON_LOYALTY", mobile=non_member_mobile))["customer"]["userId"]

    result = await change(api, by_mobile(non_member_mobile), type="EMAIL", add=member_email, merge=True)

    assert (result["__typename"], result["mergedUserId"], result["customer"]["loyaltyPoints"]) == (
        "IdentifierChanged",
        member,
        "18",
    )
    assert (await customer_of(api, by_user_id(non_member)))["type"] == "LOYALTY"
    assert (await history_of(api, non_member))[0] == ("DETAILS_UPDATED", None, ENROLLED)
    await assert_reconciled(database)


async def test_a_non_loyalty_bill_naming_a_member_and_a_non_member_merges_them_into_an_enrolled_survivor(api, database):
    member_email = f"{new_mobile()}@example.com"
    member_mobile = new_mobile()
    member = (await post(api, "LOYALTY", mobile=member_mobile, email=member_email))["customer"]["userId"]
    non_member_mobile = new_mobile()
    non_member = (await post(api, "NON_LOYALTY", mobile=non_member_mobile))["customer"]["userId"]

    # The mobile is the primary identifier: its owner (the non-member) survives.
    transaction = await post(api, "NON_LOYALTY", mobile=non_member_mobile, email=member_email)

    assert transaction["customer"] == {"userId": non_member, "type": "LOYALTY", "loyaltyPoints": "36"}
    assert transaction["pointsEarned"] == "18"
    assert [effect.get("loyaltyType") for effect in transaction["sideEffects"] if effect.get("loyaltyType")] == [
        "LOYALTY"
    ]
    assert [action for action, _, _ in await history_of(api, non_member)].count("DETAILS_UPDATED") == 1
    assert (await customer_of(api, by_user_id(member)))["userId"] == member
    await assert_reconciled(database)
