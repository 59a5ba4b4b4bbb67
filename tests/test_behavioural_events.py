"""recordBehaviouralEvents and member care's Behavioural Events tab, through the API.

The test org's time zone is Asia/Kolkata (+05:30): an event's date is its day there.
"""

from __future__ import annotations

from typing import Any

from tests.client import Api, customer_with_points, error_of, no_lock_errors_logged, post_at_once
from tests.factories import by_mobile, by_user_id, new_mobile
from tests.member_care import outcomes
from tests.snapshots import table_counts

RECORD = """
mutation Record($input: [BehaviouralEventInput!]!) {
  recordBehaviouralEvents(input: $input) {
    __typename
    ... on BehaviouralEventRecorded {
      replayed
      event {
        id userId trackingId eventName occurredAt occurredAtLocal date source accountId tillCode attributes recordedAt
      }
    }
    ... on Error { code message field }
  }
}
"""

EVENTS_OF = """
query Events($customer: CustomerLookupInput!, $filter: BehaviouralEventFilterInput, $first: Int = 10, $after: String) {
  customerBehaviouralEvents(customer: $customer, filter: $filter, first: $first, after: $after) {
    __typename
    ... on BehaviouralEventPage {
      customerId timeZone
      events { trackingId eventName date source tillCode }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""


def event(mobile: str, tracking_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "customer": by_mobile(mobile),
        "trackingId": tracking_id,
        "eventName": "product_viewed",
        "occurredAt": "2026-11-24T19:00:00Z",  # 00:30 on the 25th in Kolkata
        "source": "WEBENGAGE",
        **fields,
    }


async def record(api: Api, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return (await api.data(RECORD, {"input": items}))["recordBehaviouralEvents"]


async def events_of(api: Api, lookup: dict[str, str], **variables: Any) -> dict[str, Any]:
    return (await api.data(EVENTS_OF, {"customer": lookup, **variables}))["customerBehaviouralEvents"]


# --- Recording ------------------------------------------------------------------------------


async def test_an_event_is_recorded_with_its_local_date_and_attributes(api):
    mobile, user_id = await customer_with_points(api)

    [result] = await record(
        api,
        [
            event(
                mobile,
                "trk-1",
                source="WECHAT",
                accountId="wechat-official-2",
                attributes={"sku": "SKU-1", "price": 12.5, "tags": ["red", "sale"], "seen": True},
            )
        ],
    )

    assert result == {
        "__typename": "BehaviouralEventRecorded",
        "replayed": False,
        "event": {
            "id": result["event"]["id"],
            "userId": user_id,
            "trackingId": "trk-1",
            "eventName": "product_viewed",
            "occurredAt": "2026-11-24T19:00:00+00:00",
            "occurredAtLocal": "2026-11-25T00:30:00+05:30",
            "date": "2026-11-25",
            "source": "WECHAT",
            "accountId": "wechat-official-2",
            "tillCode": None,
            "attributes": {"sku": "SKU-1", "price": 12.5, "tags": ["red", "sale"], "seen": True},
            "recordedAt": "2026-11-25T06:30:00+00:00",
        },
    }


async def test_an_events_own_till_code_wins_over_the_integrations(api):
    mobile, _ = await customer_with_points(api)

    results = await record(
        api,
        [
            event(mobile, "own", source="INSTORE", tillCode="till-webhook", attributes={"tillCode": "till-7"}),
            event(mobile, "integration", source="INSTORE", tillCode="till-webhook", attributes={"aisle": "4"}),
            event(mobile, "own-only", source="INSTORE", attributes={"tillCode": "till-9"}),
            event(mobile, "none", source="INSTORE"),
        ],
    )

    assert [(item["event"]["trackingId"], item["event"]["tillCode"]) for item in results] == [
        ("own", "till-7"),
        ("integration", "till-webhook"),
        ("own-only", "till-9"),
        ("none", None),
    ]
    listed = (await events_of(api, by_mobile(mobile)))["events"]
    assert sorted((item["trackingId"], item["tillCode"]) for item in listed) == [
        ("integration", "till-webhook"),
        ("none", None),
        ("own", "till-7"),
        ("own-only", "till-9"),
    ]


async def test_a_repeated_tracking_id_writes_nothing_and_another_event_with_it_is_a_conflict(api, database):
    mobile, _ = await customer_with_points(api)
    other_mobile, _ = await customer_with_points(api)
    [first] = await record(api, [event(mobile, "trk-1", tillCode="t1", attributes={"a": 1})])
    before = await table_counts(database)

    results = await record(
        api,
        [
            event(mobile, "trk-1", tillCode="t1", attributes={"a": 1}),
            event(other_mobile, "trk-1", tillCode="t1", attributes={"a": 1}),
            event(mobile, "trk-1", eventName="cart_viewed", tillCode="t1", attributes={"a": 1}),
            event(mobile, "trk-1", occurredAt="2026-11-24T19:00:01Z", tillCode="t1", attributes={"a": 1}),
            event(mobile, "trk-1", source="WECHAT", tillCode="t1", attributes={"a": 1}),
            event(mobile, "trk-1", tillCode="t2", attributes={"a": 1}),
            event(mobile, "trk-1", tillCode="t1", attributes={"a": 2}),
        ],
    )

    assert outcomes(results, "replayed") == [
        ("BehaviouralEventRecorded", True),
        ("ConflictError", "TRACKING_ID_CONFLICT", "input[1].customer"),
        ("ConflictError", "TRACKING_ID_CONFLICT", "input[2].eventName"),
        ("ConflictError", "TRACKING_ID_CONFLICT", "input[3].occurredAt"),
        ("ConflictError", "TRACKING_ID_CONFLICT", "input[4].source"),
        ("ConflictError", "TRACKING_ID_CONFLICT", "input[5].tillCode"),
        ("ConflictError", "TRACKING_ID_CONFLICT", "input[6].attributes"),
    ]
    assert results[0]["event"] == first["event"]
    assert await table_counts(database) == before


async def test_a_tracking_id_twice_in_one_batch_is_stored_once(api, database):
    mobile, _ = await customer_with_points(api)
    before = await table_counts(database)

    results = await record(api, [event(mobile, "dup"), event(mobile, "dup")])

    assert outcomes(results, "replayed") == [("BehaviouralEventRecorded", False), ("BehaviouralEventRecorded", True)]
    assert results[0]["event"]["id"] == results[1]["event"]["id"]
    assert (await table_counts(database))["behavioural_events"] == before["behavioural_events"] + 1


async def test_bad_items_of_a_batch_fail_alone_naming_their_field_and_the_others_are_kept(api, database):
    mobile, _ = await customer_with_points(api)
    before = await table_counts(database)

    results = await record(
        api,
        [
            event(mobile, "ok-1"),
            event(new_mobile(), "unknown-customer"),
            event(mobile, " "),
            event(mobile, "no-name", eventName=""),
            event(mobile, "naive", occurredAt="2026-11-24T19:00:00"),
            event(mobile, "list", attributes=["a"]),
            event(mobile, "many-keys", attributes={f"k{index}": index for index in range(51)}),
            event(mobile, "long", attributes={"a": "x" * 2000, "b": "x" * 2000}),
            event(mobile, "deep", attributes={"a": {"b": {"c": {"d": {"e": 1}}}}}),
            event(mobile, "nul", attributes={"note": "a\u0000b"}),
            event(mobile, "till-number", attributes={"tillCode": 7}),
            event(mobile, "till-blank", attributes={"tillCode": " "}),
            event(mobile, "account", accountId="wechat\n2"),
            event(mobile, "ok-2", source="SURVEY", attributes={"a": {"b": {"c": {"d": 1}}}}),
        ],
    )

    assert outcomes(results, "replayed") == [
        ("BehaviouralEventRecorded", False),
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "input[1].customer"),
        ("InvalidInputError", "INVALID_INPUT", "input[2].trackingId"),
        ("InvalidInputError", "INVALID_INPUT", "input[3].eventName"),
        ("InvalidInputError", "INVALID_INPUT", "input[4].occurredAt"),
        ("InvalidInputError", "INVALID_INPUT", "input[5].attributes"),
        ("InvalidInputError", "INVALID_INPUT", "input[6].attributes"),
        ("InvalidInputError", "INVALID_INPUT", "input[7].attributes"),
        ("InvalidInputError", "INVALID_INPUT", "input[8].attributes.a.b.c.d"),
        ("InvalidInputError", "INVALID_INPUT", "input[9].attributes.note"),
        ("InvalidInputError", "INVALID_INPUT", "input[10].attributes.tillCode"),
        ("InvalidInputError", "INVALID_INPUT", "input[11].attributes.tillCode"),
        ("InvalidInputError", "INVALID_INPUT", "input[12].accountId"),
        ("BehaviouralEventRecorded", False),
    ]
    assert (await table_counts(database))["behavioural_events"] == before["behavioural_events"] + 2


# --- Member care's list ---------------------------------------------------------------------


async def recorded_week(api: Api) -> tuple[str, str]:
    """A customer with five events from 2026-11-20 to 2026-11-24 (Kolkata days), and another's."""
    mobile, user_id = await customer_with_points(api)
    other_mobile, _ = await customer_with_points(api)
    await record(
        api,
        [
            event(mobile, "e-20", occurredAt="2026-11-20T05:00:00Z", source="INSTORE", eventName="store_visit"),
            event(mobile, "e-21", occurredAt="2026-11-21T05:00:00Z"),
            # 23:00 UTC on the 21st is the 22nd in Kolkata.
            event(mobile, "e-22", occurredAt="2026-11-21T23:00:00Z", source="INSTORE", eventName="store_visit"),
            event(mobile, "e-23", occurredAt="2026-11-23T05:00:00Z", source="WECHAT"),
            event(mobile, "e-24", occurredAt="2026-11-24T05:00:00Z"),
            event(other_mobile, "not-theirs", occurredAt="2026-11-22T05:00:00Z"),
        ],
    )
    return mobile, user_id


async def test_member_care_lists_a_customers_events_newest_first_in_pages(api):
    mobile, user_id = await recorded_week(api)

    first_page = await events_of(api, by_mobile(mobile), first=3)
    second_page = await events_of(api, by_user_id(user_id), first=3, after=first_page["pageInfo"]["endCursor"])

    assert (first_page["__typename"], first_page["customerId"], first_page["timeZone"]) == (
        "BehaviouralEventPage",
        user_id,
        "Asia/Kolkata",
    )
    assert [(item["trackingId"], item["date"]) for item in first_page["events"] + second_page["events"]] == [
        ("e-24", "2026-11-24"),
        ("e-23", "2026-11-23"),
        ("e-22", "2026-11-22"),
        ("e-21", "2026-11-21"),
        ("e-20", "2026-11-20"),
    ]
    assert (first_page["pageInfo"]["hasNextPage"], second_page["pageInfo"]["hasNextPage"]) == (True, False)


async def test_member_care_filters_events_by_name_source_and_local_days(api):
    mobile, _ = await recorded_week(api)

    async def tracking_ids(**event_filter: Any) -> list[str]:
        return [item["trackingId"] for item in (await events_of(api, by_mobile(mobile), filter=event_filter))["events"]]

    assert await tracking_ids(eventName="store_visit") == ["e-22", "e-20"]
    assert await tracking_ids(source="WEBENGAGE") == ["e-24", "e-21"]
    assert await tracking_ids(startDate="2026-11-22", endDate="2026-11-23") == ["e-23", "e-22"]
    assert await tracking_ids(startDate="2026-11-23") == ["e-24", "e-23"]
    assert await tracking_ids(endDate="2026-11-21") == ["e-21", "e-20"]
    assert await tracking_ids(eventName="store_visit", source="INSTORE", startDate="2026-11-21") == ["e-22"]
    assert await tracking_ids(source="SURVEY") == []


async def test_member_care_events_refuse_an_unknown_customer_a_reversed_range_and_a_foreign_cursor(api):
    mobile, _ = await recorded_week(api)

    unknown = await events_of(api, by_mobile(new_mobile()))
    reversed_range = await events_of(
        api, by_mobile(mobile), filter={"startDate": "2026-11-23", "endDate": "2026-11-22"}
    )
    bad_name = await events_of(api, by_mobile(mobile), filter={"eventName": "a\u0000"})
    bad_cursor = await events_of(api, by_mobile(mobile), after="bm9wZTox")

    assert [error_of(result) for result in (unknown, reversed_range, bad_name, bad_cursor)] == [
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "customer"),
        ("InvalidInputError", "INVALID_INPUT", "filter.endDate"),
        ("InvalidInputError", "INVALID_INPUT", "filter.eventName"),
        ("InvalidInputError", "INVALID_INPUT", "after"),
    ]


async def test_a_page_of_1_or_20_events_costs_the_same_statements(api, count_statements):
    async def statements(size: int) -> int:
        mobile, _ = await customer_with_points(api)
        await record(api, [event(mobile, f"{mobile}-{index}") for index in range(size)])
        variables = {"first": 20, "filter": {"source": "WEBENGAGE", "startDate": "2026-11-01"}}
        await events_of(api, by_mobile(mobile), **variables)
        counter = count_statements()
        page = await events_of(api, by_mobile(mobile), **variables)
        assert len(page["events"]) == size
        return counter.count

    events = 3 if api.database.is_sqlite else 2  # SQLite's reads add their BEGIN
    assert (await statements(1), await statements(20)) == (events, events)


async def test_20_concurrent_reports_of_one_tracking_id_record_it_once(api, database, caplog):
    mobile, _ = await customer_with_points(api)
    before = await table_counts(database)

    results = await post_at_once(api, RECORD, [[event(mobile, "busy", attributes={"n": 1})] for _ in range(20)])

    assert sorted(result[0]["replayed"] for result in results) == [False] + [True] * 19
    assert len({result[0]["event"]["id"] for result in results}) == 1
    assert (await table_counts(database))["behavioural_events"] == before["behavioural_events"] + 1
    assert no_lock_errors_logged(caplog)
