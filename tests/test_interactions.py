"""recordInteractions and member care's Interactions tab, through the API.

The test org's time zone is Asia/Kolkata (+05:30): times come back in UTC and, beside them, in
that zone.
"""

from __future__ import annotations

from typing import Any

from tests.client import Api, customer_with_points, error_of, no_lock_errors_logged, post_at_once
from tests.factories import by_mobile, by_user_id, new_mobile
from tests.member_care import outcomes
from tests.snapshots import table_counts

RECORD = """
mutation Record($input: [InteractionInput!]!) {
  recordInteractions(input: $input) {
    __typename
    ... on InteractionRecordedPayload {
      outcome
      interaction {
        id userId channel messageId account direction status statusAt statusAtLocal template subject bodyPreview
        sentAt sentAtLocal deliveredAt deliveredAtLocal recordedAt
        statusHistory { status at atLocal }
      }
    }
    ... on Error { code message field }
  }
}
"""

INTERACTIONS_OF = """
query Interactions($customer: CustomerLookupInput!, $channel: InteractionChannel, $first: Int = 10, $after: String) {
  customerInteractions(customer: $customer, channel: $channel, first: $first, after: $after) {
    __typename
    ... on InteractionPage {
      customerId timeZone
      interactions { messageId channel status sentAtLocal statusHistory { status atLocal } }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""


def sms(mobile: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "customer": by_mobile(mobile),
        "messageId": message_id,
        "channel": "SMS",
        "direction": "OUTBOUND",
        "status": "SENT",
        "statusAt": "2026-11-24T10:00:00Z",
        "sentAt": "2026-11-24T10:00:00Z",
        **fields,
    }


async def record(api: Api, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return (await api.data(RECORD, {"input": items}))["recordInteractions"]


async def interactions_of(api: Api, lookup: dict[str, str], **variables: Any) -> dict[str, Any]:
    return (await api.data(INTERACTIONS_OF, {"customer": lookup, **variables}))["customerInteractions"]


# --- Recording ------------------------------------------------------------------------------


async def test_a_reported_message_is_recorded_with_its_status_and_times_in_utc_and_the_orgs_zone(api):
    mobile, user_id = await customer_with_points(api)

    [result] = await record(
        api,
        [
            sms(
                mobile,
                "msg-1",
                account="ACME-SMS",
                template="welcome",
                bodyPreview="Welcome to Acme Rewards, you have 10 points",
                status="DELIVERED",
                statusAt="2026-11-24T10:00:05Z",
                deliveredAt="2026-11-24T10:00:05Z",
            )
        ],
    )

    assert result == {
        "__typename": "InteractionRecordedPayload",
        "outcome": "RECORDED",
        "interaction": {
            "id": result["interaction"]["id"],
            "userId": user_id,
            "channel": "SMS",
            "messageId": "msg-1",
            "account": "ACME-SMS",
            "direction": "OUTBOUND",
            "status": "DELIVERED",
            "statusAt": "2026-11-24T10:00:05+00:00",
            "statusAtLocal": "2026-11-24T15:30:05+05:30",
            "template": "welcome",
            "subject": None,
            "bodyPreview": "Welcome to Acme Rewards, you have 10 points",
            "sentAt": "2026-11-24T10:00:00+00:00",
            "sentAtLocal": "2026-11-24T15:30:00+05:30",
            "deliveredAt": "2026-11-24T10:00:05+00:00",
            "deliveredAtLocal": "2026-11-24T15:30:05+05:30",
            "recordedAt": "2026-11-25T06:30:00+00:00",
            "statusHistory": [
                {"status": "DELIVERED", "at": "2026-11-24T10:00:05+00:00", "atLocal": "2026-11-24T15:30:05+05:30"}
            ],
        },
    }


async def test_a_status_without_a_time_takes_the_requests_time(api, clock):
    mobile, _ = await customer_with_points(api)
    item = sms(mobile, "msg-now", channel="EMAIL", subject="Your points")
    del item["statusAt"], item["sentAt"]

    [result] = await record(api, [item])

    interaction = result["interaction"]
    assert (interaction["status"], interaction["statusAt"], interaction["sentAt"], interaction["subject"]) == (
        "SENT",
        "2026-11-25T06:30:00+00:00",
        None,
        "Your points",
    )


async def test_a_repeat_writes_nothing_and_a_new_status_joins_the_history(api, database, clock):
    mobile, _ = await customer_with_points(api)
    await record(api, [sms(mobile, "msg-1")])
    before = await table_counts(database)

    [repeat] = await record(api, [sms(mobile, "msg-1")])
    assert repeat["outcome"] == "UNCHANGED"
    assert await table_counts(database) == before

    [delivered] = await record(
        api,
        [sms(mobile, "msg-1", status="DELIVERED", statusAt="2026-11-24T10:01:00Z", deliveredAt="2026-11-24T10:01:00Z")],
    )
    # A QUEUED reported late, with an earlier time: it joins the history, DELIVERED stays current.
    [late] = await record(api, [sms(mobile, "msg-1", status="QUEUED", statusAt="2026-11-24T09:59:00Z")])
    [delivered_again] = await record(
        api,
        [sms(mobile, "msg-1", status="DELIVERED", statusAt="2026-11-24T10:01:00Z", deliveredAt="2026-11-24T10:01:00Z")],
    )

    assert (delivered["outcome"], delivered["interaction"]["status"], delivered["interaction"]["deliveredAt"]) == (
        "STATUS_CHANGED",
        "DELIVERED",
        "2026-11-24T10:01:00+00:00",
    )
    assert (late["outcome"], late["interaction"]["status"], late["interaction"]["statusAt"]) == (
        "STATUS_CHANGED",
        "DELIVERED",
        "2026-11-24T10:01:00+00:00",
    )
    assert delivered_again["outcome"] == "UNCHANGED"
    assert [(change["status"], change["at"]) for change in late["interaction"]["statusHistory"]] == [
        ("QUEUED", "2026-11-24T09:59:00+00:00"),
        ("SENT", "2026-11-24T10:00:00+00:00"),
        ("DELIVERED", "2026-11-24T10:01:00+00:00"),
    ]
    counts = await table_counts(database)
    assert (counts["interactions"], counts["interaction_status_changes"]) == (
        before["interactions"],
        before["interaction_status_changes"] + 2,
    )
    page = await interactions_of(api, by_mobile(mobile))
    assert page["interactions"] == [
        {
            "messageId": "msg-1",
            "channel": "SMS",
            "status": "DELIVERED",
            "sentAtLocal": "2026-11-24T15:30:00+05:30",
            "statusHistory": [
                {"status": "QUEUED", "atLocal": "2026-11-24T15:29:00+05:30"},
                {"status": "SENT", "atLocal": "2026-11-24T15:30:00+05:30"},
                {"status": "DELIVERED", "atLocal": "2026-11-24T15:31:00+05:30"},
            ],
        }
    ]


async def test_a_repeat_that_changes_other_details_is_a_conflict_and_writes_nothing(api, database):
    mobile, _ = await customer_with_points(api)
    other_mobile, _ = await customer_with_points(api)
    await record(api, [sms(mobile, "msg-1", subject="Hello", deliveredAt="2026-11-24T10:00:02Z")])
    before = await table_counts(database)

    results = await record(
        api,
        [
            sms(mobile, "msg-1", subject="Hello again", status="DELIVERED"),
            sms(other_mobile, "msg-1", subject="Hello", status="DELIVERED"),
            sms(mobile, "msg-1", subject="Hello", direction="INBOUND"),
            sms(mobile, "msg-1", subject="Hello", sentAt="2026-11-24T10:00:01Z"),
            sms(mobile, "msg-1", subject="Hello", deliveredAt="2026-11-24T10:00:03Z", status="DELIVERED"),
        ],
    )

    assert outcomes(results, "outcome") == [
        ("ConflictError", "INTERACTION_CONFLICT", "input[0].subject"),
        ("ConflictError", "INTERACTION_CONFLICT", "input[1].customer"),
        ("ConflictError", "INTERACTION_CONFLICT", "input[2].direction"),
        ("ConflictError", "INTERACTION_CONFLICT", "input[3].sentAt"),
        ("ConflictError", "INTERACTION_CONFLICT", "input[4].deliveredAt"),
    ]
    assert await table_counts(database) == before
    assert [item["status"] for item in (await interactions_of(api, by_mobile(mobile)))["interactions"]] == ["SENT"]


async def test_a_message_id_is_one_message_per_channel_and_a_repeat_within_a_batch_is_not_stored_twice(api, database):
    mobile, _ = await customer_with_points(api)
    before = await table_counts(database)

    results = await record(
        api,
        [
            sms(mobile, "42"),
            sms(mobile, "42", channel="WECHAT"),
            sms(mobile, "42"),
            sms(mobile, "42", status="DELIVERED", statusAt="2026-11-24T10:00:09Z"),
        ],
    )

    assert outcomes(results, "outcome") == [
        ("InteractionRecordedPayload", "RECORDED"),
        ("InteractionRecordedPayload", "RECORDED"),
        ("InteractionRecordedPayload", "UNCHANGED"),
        ("InteractionRecordedPayload", "STATUS_CHANGED"),
    ]
    assert results[0]["interaction"]["id"] == results[2]["interaction"]["id"] == results[3]["interaction"]["id"]
    assert results[1]["interaction"]["id"] != results[0]["interaction"]["id"]
    counts = await table_counts(database)
    assert (counts["interactions"], counts["interaction_status_changes"]) == (
        before["interactions"] + 2,
        before["interaction_status_changes"] + 3,
    )


async def test_bad_items_of_a_batch_fail_alone_naming_their_field_and_the_others_are_kept(api, database):
    mobile, _ = await customer_with_points(api)
    before = await table_counts(database)

    results = await record(
        api,
        [
            sms(mobile, "ok-1"),
            sms(new_mobile(), "unknown-customer"),
            sms(mobile, "newline", bodyPreview="line one\nline two"),
            sms(mobile, "too-long", bodyPreview="x" * 501),
            sms(mobile, "naive", statusAt="2026-11-24T10:00:00"),
            sms(mobile, "early", deliveredAt="2026-11-24T09:59:59Z"),
            sms(mobile, " "),
            sms(mobile, "bidi", subject="pay \u202e now"),
            sms(mobile, "ok-2", channel="SURVEY", direction="INBOUND", status="RESPONDED"),
        ],
    )

    assert outcomes(results, "outcome") == [
        ("InteractionRecordedPayload", "RECORDED"),
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "input[1].customer"),
        ("InvalidInputError", "INVALID_INPUT", "input[2].bodyPreview"),
        ("InvalidInputError", "INVALID_INPUT", "input[3].bodyPreview"),
        ("InvalidInputError", "INVALID_INPUT", "input[4].statusAt"),
        ("InvalidInputError", "INVALID_INPUT", "input[5].deliveredAt"),
        ("InvalidInputError", "INVALID_INPUT", "input[6].messageId"),
        ("InvalidInputError", "INVALID_INPUT", "input[7].subject"),
        ("InteractionRecordedPayload", "RECORDED"),
    ]
    counts = await table_counts(database)
    assert (counts["interactions"], counts["interaction_status_changes"]) == (
        before["interactions"] + 2,
        before["interaction_status_changes"] + 2,
    )


async def test_a_batch_of_1000_is_recorded_and_one_of_1001_is_refused_whole(api, database):
    mobile, _ = await customer_with_points(api)
    before = await table_counts(database)

    # The request's list limit (1,000 items) refuses it before any resolver runs.
    refused = await api.client.post(
        "/graphql",
        json={"query": RECORD, "variables": {"input": [sms(mobile, f"m-{index}") for index in range(1001)]}},
        headers={"Authorization": api.credentials.header},
    )
    assert (refused.status_code, refused.json()) == (
        400,
        {"errors": [{"message": "variables.input: at most 1,000 items.", "extensions": {"code": "BAD_REQUEST"}}]},
    )
    assert await table_counts(database) == before

    recorded = await record(api, [sms(mobile, f"m-{index}") for index in range(1000)])
    assert outcomes(recorded, "outcome") == [("InteractionRecordedPayload", "RECORDED")] * 1000
    assert (await table_counts(database))["interactions"] == before["interactions"] + 1000


# --- Member care's list ---------------------------------------------------------------------


async def test_member_care_lists_a_customers_messages_per_channel_newest_first_in_pages(api):
    mobile, user_id = await customer_with_points(api)
    other_mobile, _ = await customer_with_points(api)
    await record(
        api,
        [
            sms(mobile, "sms-old", sentAt="2026-11-20T08:00:00Z", statusAt="2026-11-20T08:00:00Z"),
            sms(mobile, "mail", channel="EMAIL", sentAt="2026-11-21T08:00:00Z", statusAt="2026-11-21T08:00:00Z"),
            sms(mobile, "sms-new", sentAt="2026-11-22T08:00:00Z", statusAt="2026-11-22T08:00:00Z"),
            sms(mobile, "sms-mid", sentAt="2026-11-21T09:00:00Z", statusAt="2026-11-21T09:00:00Z"),
            sms(other_mobile, "not-theirs"),
        ],
    )

    first_page = await interactions_of(api, by_mobile(mobile), channel="SMS", first=2)
    second_page = await interactions_of(
        api, by_user_id(user_id), channel="SMS", first=2, after=first_page["pageInfo"]["endCursor"]
    )
    every_channel = await interactions_of(api, by_mobile(mobile))

    assert (first_page["__typename"], first_page["customerId"], first_page["timeZone"]) == (
        "InteractionPage",
        user_id,
        "Asia/Kolkata",
    )
    assert [item["messageId"] for item in first_page["interactions"] + second_page["interactions"]] == [
        "sms-new",
        "sms-mid",
        "sms-old",
    ]
    assert (first_page["pageInfo"]["hasNextPage"], second_page["pageInfo"]["hasNextPage"]) == (True, False)
    assert [(item["messageId"], item["channel"]) for item in every_channel["interactions"]] == [
        ("sms-new", "SMS"),
        ("sms-mid", "SMS"),
        ("mail", "EMAIL"),
        ("sms-old", "SMS"),
    ]
    assert (await interactions_of(api, by_mobile(mobile), channel="WECHAT"))["interactions"] == []


async def test_member_care_interactions_of_an_unknown_customer_or_a_foreign_cursor_are_typed_errors(api):
    mobile, _ = await customer_with_points(api)

    unknown = await interactions_of(api, by_mobile(new_mobile()))
    bad_cursor = await interactions_of(api, by_mobile(mobile), after="bm9wZTox")
    too_many = await interactions_of(api, by_mobile(mobile), first=101)

    assert error_of(unknown) == ("NotFoundError", "CUSTOMER_NOT_FOUND", "customer")
    assert error_of(bad_cursor) == ("InvalidInputError", "INVALID_INPUT", "after")
    assert (too_many["__typename"], too_many["field"]) == ("InvalidInputError", "first")


async def test_a_page_of_1_or_20_messages_with_their_histories_costs_the_same_statements(api, count_statements):
    async def statements(size: int) -> int:
        mobile, _ = await customer_with_points(api)
        await record(api, [sms(mobile, f"{mobile}-{index}") for index in range(size)])
        await record(api, [sms(mobile, f"{mobile}-{index}", status="DELIVERED") for index in range(size)])
        await interactions_of(api, by_mobile(mobile), first=20)
        counter = count_statements()
        page = await interactions_of(api, by_mobile(mobile), first=20)
        assert [len(item["statusHistory"]) for item in page["interactions"]] == [2] * size
        return counter.count

    messages = 4 if api.database.is_sqlite else 3  # SQLite's reads add their BEGIN
    assert (await statements(1), await statements(20)) == (messages, messages)


# --- Concurrency ----------------------------------------------------------------------------


async def test_30_concurrent_reports_of_one_message_record_it_once_with_every_status(api, database, caplog):
    mobile, _ = await customer_with_points(api)
    before = await table_counts(database)
    statuses = ["QUEUED", "SENT", "DELIVERED", "OPENED", "CLICKED", "READ"]
    reports = [
        [sms(mobile, "busy", status=statuses[index % 6], statusAt=f"2026-11-24T10:00:{index:02d}Z")]
        for index in range(30)
    ]

    results = await post_at_once(api, RECORD, reports)

    assert sorted(result[0]["outcome"] for result in results) == ["RECORDED"] + ["STATUS_CHANGED"] * 29
    assert len({result[0]["interaction"]["id"] for result in results}) == 1
    page = await interactions_of(api, by_mobile(mobile))
    [message] = page["interactions"]
    assert (len(message["statusHistory"]), message["status"]) == (30, "READ")
    counts = await table_counts(database)
    assert (counts["interactions"], counts["interaction_status_changes"]) == (
        before["interactions"] + 1,
        before["interaction_status_changes"] + 30,
    )
    assert no_lock_errors_logged(caplog)
