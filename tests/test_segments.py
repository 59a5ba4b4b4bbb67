"""Segments through the API: create, add and remove members (one or a batch, a result each), the
organisation's segments, a customer's segments and segment change history (seed 004)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.client import customer_with_points
from tests.factories import by_mobile, by_user_id, new_mobile, org_spec
from tests.import_checks import CREATE_GROUP
from tests.snapshots import table_counts

CREATE = """
mutation Create($input: CreateSegmentInput!) {
  createSegment(input: $input) {
    __typename
    ... on SegmentCreated { segment { code name createdAt } }
    ... on Error { code message field }
  }
}
"""

ADD = """
mutation Add($input: SegmentMembersInput!) {
  addSegmentMembers(input: $input) {
    __typename
    ... on SegmentMembersChanged {
      segment { code name }
      membersChanged
      results {
        __typename
        ... on SegmentMemberChanged { userId changed }
        ... on Error { code field }
      }
    }
    ... on Error { code message field }
  }
}
"""

REMOVE = ADD.replace("addSegmentMembers", "removeSegmentMembers")

SEGMENTS = """
query Segments($first: Int = 10, $after: String) {
  segments(first: $first, after: $after) {
    __typename
    ... on SegmentPage { segments { code name } pageInfo { hasNextPage endCursor } }
    ... on Error { code field }
  }
}
"""

CUSTOMER_SEGMENTS = """
query CustomerSegments($lookup: CustomerLookupInput!, $first: Int = 10, $after: String) {
  customerSegments(lookup: $lookup, first: $first, after: $after) {
    __typename
    ... on CustomerSegmentPage {
      customerId memberships { segment { code } addedAt } pageInfo { hasNextPage endCursor }
    }
    ... on Error { code field }
  }
}
"""

HISTORY = """
query History($lookup: CustomerLookupInput!, $first: Int = 10, $after: String) {
  customerSegmentHistory(lookup: $lookup, first: $first, after: $after) {
    __typename
    ... on SegmentHistoryPage {
      customerId changes { segment { code name } action source changedAt } pageInfo { hasNextPage endCursor }
    }
    ... on Error { code field }
  }
}
"""

NOW = "2026-11-25T06:30:00+00:00"
LATER = "2026-11-25T07:30:00+00:00"


async def create(api, code: str, name: str = "Gold shoppers") -> dict:
    return (await api.data(CREATE, {"input": {"code": code, "name": name}}))["createSegment"]


async def add(api, code: str, members: list[dict], **extra) -> dict:
    return (await api.data(ADD, {"input": {"segmentCode": code, "members": members, **extra}}))["addSegmentMembers"]


async def remove(api, code: str, members: list[dict], **extra) -> dict:
    variables = {"input": {"segmentCode": code, "members": members, **extra}}
    return (await api.data(REMOVE, variables))["removeSegmentMembers"]


async def history(api, lookup: dict, **variables) -> dict:
    return (await api.data(HISTORY, {"lookup": lookup, **variables}))["customerSegmentHistory"]


def segment_tables(counts: dict[str, int]) -> tuple[int, int, int]:
    return counts["segments"], counts["segment_members"], counts["segment_changes"]


async def test_members_added_in_a_batch_have_a_result_each_and_their_history(api, clock):
    mobile, user_id = await customer_with_points(api)
    other_mobile, other_id = await customer_with_points(api)
    created = await create(api, "GOLD", "Gold shoppers")
    await create(api, "LAPSED", "Lapsed")
    unknown = new_mobile()

    added = await add(
        api, "GOLD", [by_mobile(mobile), by_mobile(unknown), by_user_id(other_id), by_mobile(mobile)], source="CRM"
    )
    clock.advance(timedelta(hours=1))
    single = await add(api, "LAPSED", [by_mobile(mobile)])

    assert created == {
        "__typename": "SegmentCreated",
        "segment": {"code": "GOLD", "name": "Gold shoppers", "createdAt": NOW},
    }
    assert added == {
        "__typename": "SegmentMembersChanged",
        "segment": {"code": "GOLD", "name": "Gold shoppers"},
        "membersChanged": 2,
        "results": [
            {"__typename": "SegmentMemberChanged", "userId": user_id, "changed": True},
            {"__typename": "NotFoundError", "code": "CUSTOMER_NOT_FOUND", "field": "input.members[1]"},
            {"__typename": "SegmentMemberChanged", "userId": other_id, "changed": True},
            {"__typename": "SegmentMemberChanged", "userId": user_id, "changed": False},
        ],
    }
    assert (single["membersChanged"], single["results"]) == (
        1,
        [{"__typename": "SegmentMemberChanged", "userId": user_id, "changed": True}],
    )
    assert await history(api, by_mobile(mobile)) == {
        "__typename": "SegmentHistoryPage",
        "customerId": user_id,
        "changes": [
            {"segment": {"code": "LAPSED", "name": "Lapsed"}, "action": "ADDED", "source": "API", "changedAt": LATER},
            {
                "segment": {"code": "GOLD", "name": "Gold shoppers"},
                "action": "ADDED",
                "source": "CRM",
                "changedAt": NOW,
            },
        ],
        "pageInfo": {
            "hasNextPage": False,
            "endCursor": (await history(api, by_mobile(mobile)))["pageInfo"]["endCursor"],
        },
    }
    memberships = (await api.data(CUSTOMER_SEGMENTS, {"lookup": by_mobile(mobile)}))["customerSegments"]
    assert memberships["memberships"] == [
        {"segment": {"code": "GOLD"}, "addedAt": NOW},
        {"segment": {"code": "LAPSED"}, "addedAt": LATER},
    ]
    other_memberships = (await api.data(CUSTOMER_SEGMENTS, {"lookup": by_mobile(other_mobile)}))["customerSegments"]
    assert other_memberships["memberships"] == [{"segment": {"code": "GOLD"}, "addedAt": NOW}]


async def test_adding_a_member_twice_writes_one_history_row_and_removing_writes_one_more(api, database, clock):
    mobile, user_id = await customer_with_points(api)
    await create(api, "GOLD")

    first = await add(api, "GOLD", [by_mobile(mobile)])
    counts_after_first = await table_counts(database)
    again = await add(api, "GOLD", [by_mobile(mobile)])
    assert await table_counts(database) == counts_after_first
    clock.advance(timedelta(hours=1))
    removed = await remove(api, "GOLD", [by_mobile(mobile)], source="INSTORE")
    removed_again = await remove(api, "GOLD", [by_mobile(mobile)])

    assert [answer["membersChanged"] for answer in (first, again, removed, removed_again)] == [1, 0, 1, 0]
    assert [answer["results"][0]["changed"] for answer in (first, again, removed, removed_again)] == [
        True,
        False,
        True,
        False,
    ]
    assert segment_tables(await table_counts(database)) == (1, 0, 2)
    assert [
        (change["action"], change["source"], change["changedAt"])
        for change in (await history(api, by_user_id(user_id)))["changes"]
    ] == [("REMOVED", "INSTORE", LATER), ("ADDED", "API", NOW)]
    assert (await api.data(CUSTOMER_SEGMENTS, {"lookup": by_mobile(mobile)}))["customerSegments"]["memberships"] == []


async def test_concurrent_adds_of_one_customer_make_one_membership_and_one_history_row(api, database):
    mobile, _ = await customer_with_points(api)
    await create(api, "GOLD")

    answers = await asyncio.gather(*(add(api, "GOLD", [by_mobile(mobile)]) for _ in range(8)))
    removals = await asyncio.gather(*(remove(api, "GOLD", [by_mobile(mobile)]) for _ in range(8)))

    assert sorted(answer["membersChanged"] for answer in answers) == [0] * 7 + [1]
    assert sorted(answer["membersChanged"] for answer in removals) == [0] * 7 + [1]
    assert segment_tables(await table_counts(database)) == (1, 0, 2)


async def test_bad_input_names_its_field_and_writes_nothing(api, database):
    mobile, _ = await customer_with_points(api)
    await create(api, "GOLD")
    before = await table_counts(database)

    answers = [
        await create(api, "GOLD", "Again"),
        await create(api, " ", "Blank code"),
        await create(api, "SILVER", ""),
        await create(api, "S" * 51, "Too long"),
        await add(api, "NOPE", [by_mobile(mobile)]),
        await add(api, "GOLD", []),
        await add(api, "GOLD", [by_mobile(mobile)], source=" "),
        await remove(api, "NOPE", [by_mobile(mobile)]),
    ]

    assert [(answer["__typename"], answer["code"], answer["field"]) for answer in answers] == [
        ("ConflictError", "SEGMENT_EXISTS", "input.code"),
        ("InvalidInputError", "INVALID_INPUT", "input.code"),
        ("InvalidInputError", "INVALID_INPUT", "input.name"),
        ("InvalidInputError", "INVALID_INPUT", "input.code"),
        ("NotFoundError", "SEGMENT_NOT_FOUND", "input.segmentCode"),
        ("InvalidInputError", "INVALID_INPUT", "input.members"),
        ("InvalidInputError", "INVALID_INPUT", "input.source"),
        ("NotFoundError", "SEGMENT_NOT_FOUND", "input.segmentCode"),
    ]
    assert await table_counts(database) == before


async def test_segments_page_by_creation_and_another_organisation_sees_none_of_them(api, org_api, database):
    mobile, _ = await customer_with_points(api)
    for code in ("A", "B", "C"):
        await create(api, code, f"Segment {code}")
    await add(api, "A", [by_mobile(mobile)])
    other = await org_api(org_spec("other"))

    first_page = (await api.data(SEGMENTS, {"first": 2}))["segments"]
    second_page = (await api.data(SEGMENTS, {"first": 2, "after": first_page["pageInfo"]["endCursor"]}))["segments"]
    before = await table_counts(database)
    others = (await other.data(SEGMENTS))["segments"]
    other_add = (await other.data(ADD, {"input": {"segmentCode": "A", "members": [by_mobile(mobile)]}}))[
        "addSegmentMembers"
    ]

    assert [segment["code"] for segment in first_page["segments"]] == ["A", "B"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert second_page == {
        "__typename": "SegmentPage",
        "segments": [{"code": "C", "name": "Segment C"}],
        "pageInfo": {"hasNextPage": False, "endCursor": second_page["pageInfo"]["endCursor"]},
    }
    assert others == {
        "__typename": "SegmentPage",
        "segments": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
    assert (other_add["__typename"], other_add["code"]) == ("NotFoundError", "SEGMENT_NOT_FOUND")
    assert await table_counts(database) == before


async def test_the_history_pages_newest_first(api, clock):
    mobile, _ = await customer_with_points(api)
    for code in ("A", "B", "C"):
        await create(api, code)
        await add(api, code, [by_mobile(mobile)])
        clock.advance(timedelta(minutes=1))

    first_page = await history(api, by_mobile(mobile), first=2)
    second_page = await history(api, by_mobile(mobile), first=2, after=first_page["pageInfo"]["endCursor"])

    assert [change["segment"]["code"] for change in first_page["changes"]] == ["C", "B"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert [change["segment"]["code"] for change in second_page["changes"]] == ["A"]
    assert second_page["pageInfo"]["hasNextPage"] is False


async def test_the_lists_cost_the_same_statements_for_1_or_12_segments(api, count_statements):
    async def statements(size: int) -> tuple[int, int, int]:
        mobile, _ = await customer_with_points(api)
        for index in range(size):
            code = f"S{size}-{index}"
            await create(api, code)
            await add(api, code, [by_mobile(mobile)])
        counts = []
        for query, variables in (
            (HISTORY, {"lookup": by_mobile(mobile), "first": 20}),
            (CUSTOMER_SEGMENTS, {"lookup": by_mobile(mobile), "first": 20}),
            (SEGMENTS, {"first": 20}),
        ):
            await api.data(query, variables)
            counter = count_statements()
            await api.data(query, variables)
            counts.append(counter.count)
        return counts[0], counts[1], counts[2]

    lists = (3, 3, 2) if api.database.is_sqlite else (2, 2, 1)  # SQLite's reads add their BEGIN
    assert (await statements(1), await statements(12)) == (lists, lists)


async def test_a_user_groups_account_is_not_a_customer_to_add(api, database):
    mobile, user_id = await customer_with_points(api)
    group = await api.data(CREATE_GROUP, {"input": {"externalId": "FLEET-1", "members": []}})
    group_user_id = group["createUserGroup"]["group"]["userId"]
    await create(api, "GOLD")

    answer = await add(api, "GOLD", [by_user_id(group_user_id), by_mobile(mobile)])

    assert (answer["membersChanged"], answer["results"]) == (
        1,
        [
            {"__typename": "InvalidInputError", "code": "NOT_A_CUSTOMER", "field": "input.members[0]"},
            {"__typename": "SegmentMemberChanged", "userId": user_id, "changed": True},
        ],
    )
    assert segment_tables(await table_counts(database)) == (1, 1, 1)
