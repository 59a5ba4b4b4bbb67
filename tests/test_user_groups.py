"""User groups through the API: a group with its external id, members (a customer may be in
several groups) and its own points account, read like a customer's by its userId."""

from __future__ import annotations

from sqlalchemy import func, select

from app.customers.models import Customer
from app.user_groups.models import UserGroup
from tests.client import buy, customer_with_points, find_customer, ledger_entries, merge
from tests.factories import by_mobile, by_user_id, new_mobile
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts

customers = Customer.__table__
groups = UserGroup.__table__

GROUP_FIELDS = """
fragment GroupFields on UserGroup {
  id externalId name userId
  account { userId loyaltyPoints lifetimePoints pointsSummaries { programCode loyaltyPoints } }
  members(first: $first, after: $after) {
    totalCount nodes { userId mobile loyaltyPoints } pageInfo { hasNextPage endCursor }
  }
}
"""

CREATE = (
    """
mutation Create($input: CreateUserGroupInput!, $first: Int = 10, $after: String) {
  createUserGroup(input: $input) {
    __typename
    ... on UserGroupChanged { membersChanged replayed group { ...GroupFields } }
    ... on Error { code message field }
  }
}
"""
    + GROUP_FIELDS
)

ADD = (
    """
mutation Add($input: UserGroupMembersInput!, $first: Int = 10, $after: String) {
  addUserGroupMembers(input: $input) {
    __typename
    ... on UserGroupChanged { membersChanged replayed group { ...GroupFields } }
    ... on Error { code message field }
  }
}
"""
    + GROUP_FIELDS
)

REMOVE = ADD.replace("addUserGroupMembers", "removeUserGroupMembers")

GROUP = (
    """
query Group($lookup: UserGroupLookupInput!, $first: Int = 10, $after: String) {
  userGroup(lookup: $lookup) {
    __typename
    ... on UserGroup { ...GroupFields }
    ... on Error { code message field }
  }
}
"""
    + GROUP_FIELDS
)

AWARD = """
mutation Award($input: AwardPromotionPointsInput!) {
  awardPromotionPoints(input: $input) {
    __typename
    ... on PromotionPointsAwarded { userId userGroupId balanceAfter }
    ... on Error { code message field }
  }
}
"""


async def create(api, external_id: str, members: list[dict], **extra) -> dict:
    return (await api.data(CREATE, {"input": {"externalId": external_id, "members": members, **extra}}))[
        "createUserGroup"
    ]


async def test_a_new_group_has_its_members_and_its_own_empty_account_read_like_a_customers(api, database):
    first_mobile, first_id = await customer_with_points(api, "1000")
    second_mobile, second_id = await customer_with_points(api, "500")

    result = await create(
        api, "FLEET-7", [by_mobile(second_mobile), by_mobile(first_mobile), by_mobile(first_mobile)], name="Fleet seven"
    )

    assert (result["__typename"], result["membersChanged"], result["replayed"]) == ("UserGroupChanged", 2, False)
    group = result["group"]
    assert (group["externalId"], group["name"]) == ("FLEET-7", "Fleet seven")
    assert group["account"] == {
        "userId": group["userId"],
        "loyaltyPoints": "0",
        "lifetimePoints": "0",
        "pointsSummaries": [
            {"programCode": "main", "loyaltyPoints": "0"},
            {"programCode": "cafe", "loyaltyPoints": "0"},
        ],
    }
    ordered = sorted(
        [(first_id, "91" + first_mobile, "10"), (second_id, "91" + second_mobile, "5")], key=lambda m: int(m[0])
    )
    assert group["members"] == {
        "totalCount": 2,
        "pageInfo": {"hasNextPage": False, "endCursor": group["members"]["pageInfo"]["endCursor"]},
        "nodes": [
            {"userId": user_id, "mobile": mobile, "loyaltyPoints": points} for user_id, mobile, points in ordered
        ],
    }
    # Its account is a ledger holder without identifiers: its userId reads it, its ledger starts with opening entries.
    account = await find_customer(api, by_user_id(group["userId"]))
    assert (account["userId"], account["identifiers"], account["mobile"]) == (group["userId"], [], None)
    ledger = await ledger_entries(api, by_user_id(group["userId"]))
    assert {(entry["eventType"], entry["entryKind"], entry["points"]) for entry in ledger} == {
        ("CUSTOMER_REGISTRATION", "OPENING_BALANCE", "0")
    }
    async with database.read() as connection:
        kind = (
            await connection.execute(select(customers.c.kind).where(customers.c.id == int(group["userId"])))
        ).scalar_one()
    assert kind == "USER_GROUP"
    by_id = (await api.data(GROUP, {"lookup": {"type": "GROUP_ID", "value": group["id"]}}))["userGroup"]
    assert by_id == {"__typename": "UserGroup", **group}
    await assert_reconciled(database)


async def test_members_are_a_set_a_customer_may_be_in_several_groups_and_leave_one(api, database):
    mobile, user_id = await customer_with_points(api)
    other_mobile, _ = await customer_with_points(api)
    await create(api, "FLEET-A", [by_mobile(mobile)])
    await create(api, "FAMILY-B", [by_mobile(mobile)])
    fleet = {"type": "EXTERNAL_ID", "value": "FLEET-A"}

    again = await api.data(ADD, {"input": {"group": fleet, "members": [by_mobile(mobile), by_mobile(other_mobile)]}})
    removed = await api.data(REMOVE, {"input": {"group": fleet, "members": [by_mobile(mobile)]}})
    removed_again = await api.data(REMOVE, {"input": {"group": fleet, "members": [by_mobile(mobile)]}})

    assert again["addUserGroupMembers"]["membersChanged"] == 1
    assert again["addUserGroupMembers"]["group"]["members"]["totalCount"] == 2
    assert removed["removeUserGroupMembers"]["membersChanged"] == 1
    assert removed["removeUserGroupMembers"]["group"]["members"]["totalCount"] == 1
    assert removed_again["removeUserGroupMembers"]["membersChanged"] == 0
    family = (await api.data(GROUP, {"lookup": {"type": "EXTERNAL_ID", "value": "FAMILY-B"}}))["userGroup"]
    assert [node["userId"] for node in family["members"]["nodes"]] == [user_id]


async def test_members_page_by_user_id(api):
    mobiles = [(await customer_with_points(api))[0] for _ in range(5)]
    await create(api, "BIG", [by_mobile(mobile) for mobile in mobiles])

    first = (await api.data(GROUP, {"lookup": {"type": "EXTERNAL_ID", "value": "BIG"}, "first": 3}))["userGroup"][
        "members"
    ]
    rest = (
        await api.data(
            GROUP,
            {"lookup": {"type": "EXTERNAL_ID", "value": "BIG"}, "first": 3, "after": first["pageInfo"]["endCursor"]},
        )
    )["userGroup"]["members"]

    assert (
        len(first["nodes"]),
        first["pageInfo"]["hasNextPage"],
        len(rest["nodes"]),
        rest["pageInfo"]["hasNextPage"],
    ) == (3, True, 2, False)
    ids = [int(node["userId"]) for node in first["nodes"] + rest["nodes"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5


async def test_refused_group_changes_name_the_field_and_write_nothing(api, database):
    mobile, _ = await customer_with_points(api)
    created = await create(api, "FLEET-1", [by_mobile(mobile)])
    counts = await table_counts(database)
    fleet = {"type": "EXTERNAL_ID", "value": "FLEET-1"}

    refusals = [
        (await create(api, "FLEET-1", []), "USER_GROUP_EXISTS", "input.externalId"),
        (await create(api, " ", []), "INVALID_INPUT", "input.externalId"),
        (await create(api, "FLEET\u0000", []), "INVALID_INPUT", "input.externalId"),
        (await create(api, "FLEET-3", [], name="Fleet\u0000"), "INVALID_INPUT", "input.name"),
        (
            await create(api, "FLEET-2", [by_mobile(mobile), by_mobile(new_mobile())]),
            "CUSTOMER_NOT_FOUND",
            "input.members[1]",
        ),
        (
            await create(api, "FLEET-2", [by_user_id(created["group"]["userId"])]),
            "NOT_A_CUSTOMER",
            "input.members[0]",
        ),
        (
            (
                await api.data(
                    ADD, {"input": {"group": {"type": "EXTERNAL_ID", "value": "NOPE"}, "members": [by_mobile(mobile)]}}
                )
            )["addUserGroupMembers"],
            "USER_GROUP_NOT_FOUND",
            "input.group",
        ),
        (
            (await api.data(ADD, {"input": {"group": fleet, "members": []}}))["addUserGroupMembers"],
            "INVALID_INPUT",
            "input.members",
        ),
        (
            (await api.data(GROUP, {"lookup": {"type": "GROUP_ID", "value": "abc"}}))["userGroup"],
            "USER_GROUP_NOT_FOUND",
            "lookup",
        ),
    ]
    for result, code, field in refusals:
        assert (result["code"], result["field"]) == (code, field), result
    assert await table_counts(database) == counts


async def test_an_idempotency_key_replays_the_group_created(api, database):
    mobile, _ = await customer_with_points(api)
    first = await create(api, "FLEET-9", [by_mobile(mobile)], idempotencyKey="group-9")
    again = await create(api, "FLEET-9", [by_mobile(mobile)], idempotencyKey="group-9")

    assert (again["replayed"], again["group"]) == (True, first["group"])
    async with database.read() as connection:
        assert (await connection.execute(select(func.count()).select_from(groups))).scalar_one() == 1


async def test_promotion_points_for_a_group_go_to_its_account_not_its_members(api, database):
    mobile, member_id = await customer_with_points(api, "1000")
    group = (await create(api, "FLEET-P", [by_mobile(mobile)]))["group"]

    award = (
        await api.data(
            AWARD,
            {
                "input": {
                    "userGroup": {"type": "EXTERNAL_ID", "value": "FLEET-P"},
                    "points": "300",
                    "storeCode": "store-2",
                    "promotion": {"identifier": "FLEET-BONUS", "name": "Fleet bonus"},
                }
            },
        )
    )["awardPromotionPoints"]

    assert award == {
        "__typename": "PromotionPointsAwarded",
        "userId": group["userId"],
        "userGroupId": group["id"],
        "balanceAfter": "300",
    }
    read = (await api.data(GROUP, {"lookup": {"type": "EXTERNAL_ID", "value": "FLEET-P"}}))["userGroup"]
    assert (read["account"]["loyaltyPoints"], read["members"]["nodes"][0]["loyaltyPoints"]) == ("300", "10")
    # A purchase by the member earns the member, never the group.
    await buy(api, mobile, "500")
    read = (await api.data(GROUP, {"lookup": {"type": "EXTERNAL_ID", "value": "FLEET-P"}}))["userGroup"]
    assert (read["account"]["loyaltyPoints"], read["members"]["nodes"][0]["loyaltyPoints"]) == ("300", "15")
    assert read["members"]["nodes"][0]["userId"] == member_id
    # The group's points are spent by its userId, like a customer's.
    redeemed = await api.data(
        """
        mutation Redeem($input: RedeemPointsInput!) {
          redeemPoints(input: $input) { __typename ... on Error { code } }
        }""",
        {"input": {"customer": by_user_id(group["userId"]), "points": "120", "tillCode": "till-1"}},
    )
    assert redeemed["redeemPoints"] == {"__typename": "PointsRedeemed"}
    read = (await api.data(GROUP, {"lookup": {"type": "EXTERNAL_ID", "value": "FLEET-P"}}))["userGroup"]
    assert (read["account"]["loyaltyPoints"], read["members"]["nodes"][0]["loyaltyPoints"]) == ("180", "15")
    await assert_reconciled(database)


async def test_a_groups_account_cannot_be_merged_either_way(api, database):
    _mobile, user_id = await customer_with_points(api)
    group = (await create(api, "FLEET-M", []))["group"]
    counts = await table_counts(database)
    group_account = by_user_id(group["userId"])
    member = by_user_id(user_id)

    as_victim = await merge(api, member, group_account)
    as_survivor = await merge(api, group_account, member)

    assert (as_victim["code"], as_victim["field"]) == ("NOT_A_CUSTOMER", "input.victim")
    assert (as_survivor["code"], as_survivor["field"]) == ("NOT_A_CUSTOMER", "input.survivor")
    assert await table_counts(database) == counts


async def test_a_members_page_costs_the_same_statements_for_1_or_12_members(api, count_statements):
    async def statements(external_id: str, size: int) -> int:
        mobiles = [(await customer_with_points(api))[0] for _ in range(size)]
        await create(api, external_id, [by_mobile(mobile) for mobile in mobiles])
        variables = {"lookup": {"type": "EXTERNAL_ID", "value": external_id}, "first": 20}
        await api.data(GROUP, variables)
        counter = count_statements()
        group = (await api.data(GROUP, variables))["userGroup"]
        assert len(group["members"]["nodes"]) == size
        return counter.count

    members = 8 if api.database.is_sqlite else 7  # SQLite's reads add their BEGIN
    assert (await statements("SMALL", 1), await statements("LARGE", 12)) == (members, members)


async def test_a_merged_members_groups_pass_to_the_survivor(api, database):
    victim_mobile, _ = await customer_with_points(api)
    survivor_mobile, survivor_id = await customer_with_points(api)
    await create(api, "FLEET-V", [by_mobile(victim_mobile)])
    await create(api, "FLEET-BOTH", [by_mobile(victim_mobile), by_mobile(survivor_mobile)])

    merged = await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile))
    assert merged["__typename"] == "CustomersMerged", merged

    for external_id in ("FLEET-V", "FLEET-BOTH"):
        group = (await api.data(GROUP, {"lookup": {"type": "EXTERNAL_ID", "value": external_id}}))["userGroup"]
        assert ([node["userId"] for node in group["members"]["nodes"]], group["members"]["totalCount"]) == (
            [survivor_id],
            1,
        )
    await assert_reconciled(database)
