"""Seed 001's side effect entity types for group bills: a program with `group_points = "GROUP"` pools a
user group member's purchase points in the group's account, and the bill's points side effect says
so (entityType USERGROUP2, customerId the group's account holder); a customer in no group, or a
program that keeps members' points (MEMBER, the default), earns as USER. A return takes the points
back from where they went.

The test bill (tests.factories.bill) is 1,800 net: 18 points at bronze (1 per 100).
"""

from __future__ import annotations

from tests.client import add_transaction, customer_points, ledger_entries, purchase_day
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, by_mobile, by_user_id, new_mobile, org_spec
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts
from tests.test_bill_statements import counting

ADD = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      transaction {
        number tillCode billingTime pointsEarned
        sideEffects {
          __typename
          ... on PointsSideEffect { entityType customerId programCode awardedPoints totalPoints }
        }
        customer { userId loyaltyPoints pointsSummaries { programCode cumulativePurchases currentSlab } }
      }
    }
    ... on Error { code message field }
  }
}
"""

CREATE_GROUP = """
mutation Create($input: CreateUserGroupInput!) {
  createUserGroup(input: $input) {
    __typename
    ... on UserGroupChanged { group { id userId } }
    ... on Error { code message field }
  }
}
"""


def pooling_spec(code):
    spec = org_spec(code)
    spec["programs"][0]["group_points"] = "GROUP"
    return spec


async def member_of_new_group(api, external_id):
    """A customer (registered by a small purchase of 100: 1 point of their own) in a new group:
    (mobile, the customer's user id, the group's account user id)."""
    mobile = new_mobile()
    first = await add_transaction(api, bill(customer={"mobile": mobile}, amount="100", lineItems=[]), query=ADD)
    result = (await api.data(CREATE_GROUP, {"input": {"externalId": external_id, "members": [by_mobile(mobile)]}}))[
        "createUserGroup"
    ]
    assert result["__typename"] == "UserGroupChanged", result
    return mobile, first["transaction"]["customer"]["userId"], result["group"]["userId"]


async def purchase(api, mobile):
    result = await add_transaction(api, bill(customer={"mobile": mobile}), query=ADD)
    assert result["__typename"] == "TransactionAdded", result
    return result["transaction"]


def points_effects(transaction):
    return [effect for effect in transaction["sideEffects"] if effect["__typename"] == "PointsSideEffect"]


async def test_a_members_bill_in_a_pooling_program_earns_for_the_group_as_usergroup2(org_api, database):
    api = await org_api(pooling_spec("pool-1"))
    mobile, user_id, group_user_id = await member_of_new_group(api, "FLEET-1")

    bought = await purchase(api, mobile)

    assert points_effects(bought) == [
        {
            "__typename": "PointsSideEffect",
            "entityType": "USERGROUP2",
            "customerId": group_user_id,
            "programCode": "main",
            "awardedPoints": "18",
            "totalPoints": "18",
        }
    ]
    # The member keeps their own point and their tier progress; the group holds the bill's points.
    assert (bought["customer"]["userId"], bought["customer"]["loyaltyPoints"]) == (user_id, "1")
    assert bought["customer"]["pointsSummaries"][0] == {
        "programCode": "main",
        "cumulativePurchases": "1900",
        "currentSlab": "bronze",
    }
    group = await customer_points(api, by_user_id(group_user_id))
    assert group["loyaltyPoints"] == "18"
    entries = await ledger_entries(api, by_user_id(group_user_id), {"entryType": "CREDIT"})
    assert [
        (entry["eventType"], entry["entryKind"], entry["points"], entry["transactionNumber"])
        for entry in entries
        if entry["eventType"] != "CUSTOMER_REGISTRATION"  # its opening balances
    ] == [("TRANSACTION_ADD", "POINTS_ALLOCATION", "18", bought["number"])]
    await assert_reconciled(database)


async def test_a_customer_in_no_group_earns_as_user_in_a_pooling_program(org_api):
    api = await org_api(pooling_spec("pool-2"))
    mobile = new_mobile()

    bought = await purchase(api, mobile)

    assert [
        (effect["entityType"], effect["customerId"], effect["awardedPoints"]) for effect in points_effects(bought)
    ] == [("USER", bought["customer"]["userId"], "18")]
    assert bought["customer"]["loyaltyPoints"] == "18"


async def test_a_members_bill_earns_as_user_where_the_program_keeps_members_points(api):
    mobile, user_id, group_user_id = await member_of_new_group(api, "FLEET-2")

    bought = await purchase(api, mobile)

    assert [
        (effect["entityType"], effect["customerId"], effect["totalPoints"]) for effect in points_effects(bought)
    ] == [("USER", user_id, "19")]
    assert (await customer_points(api, by_user_id(group_user_id)))["loyaltyPoints"] == "0"


async def test_a_return_of_a_pooled_bill_takes_the_points_back_from_the_group(org_api, database):
    api = await org_api(pooling_spec("pool-3"))
    mobile, user_id, group_user_id = await member_of_new_group(api, "FLEET-3")
    bought = await purchase(api, mobile)
    document = {
        "type": "RETURN",
        "returnType": "LINE_ITEM",
        "number": bought["number"],
        "purchaseTime": purchase_day(bought),
        "tillCode": bought["tillCode"],
        "customer": {"mobile": mobile},
        "lineItems": [{"serial": 1, "qty": "1"}],
    }

    result = (await api.data(RETURN_TRANSACTION, {"input": document}))["returnTransaction"]

    # Half the shirts: 450 of the 1,800 eligible, floor(18 x 450 / 1800) = 4 points, from the group.
    assert (result["__typename"], result["pointsReturned"]) == ("TransactionReturned", "4")
    assert (await customer_points(api, by_user_id(group_user_id)))["loyaltyPoints"] == "14"
    assert (await customer_points(api, by_user_id(user_id)))["loyaltyPoints"] == "1"
    await assert_reconciled(database)


async def test_a_pooled_bill_posted_again_replays_and_writes_nothing(org_api, database):
    api = await org_api(pooling_spec("pool-4"))
    mobile, _, group_user_id = await member_of_new_group(api, "FLEET-4")
    document = bill(customer={"mobile": mobile})
    first = await add_transaction(api, document, query=ADD)
    before = await table_counts(database)

    again = await add_transaction(api, document, query=ADD)

    assert points_effects(again["transaction"]) == points_effects(first["transaction"])
    assert points_effects(again["transaction"])[0]["customerId"] == group_user_id
    assert await table_counts(database) == before


async def test_a_pooled_members_bill_costs_3_statements_more_than_a_bill_of_a_customer_in_no_group(org_api, database):
    api = await org_api(pooling_spec("pool-5"))
    member, _, _ = await member_of_new_group(api, "FLEET-5")
    loner = new_mobile()
    await purchase(api, loner)  # both returning customers, the organisation cached
    await purchase(api, member)

    async with counting(database) as alone:
        await purchase(api, loner)
    async with counting(database) as pooled:
        await purchase(api, member)

    # Both look up their groups; the member's bill then reads the group and locks its row and account.
    assert len(pooled) - len(alone) == 3, "\n".join(" ".join(s.split())[:100] for s in pooled)
