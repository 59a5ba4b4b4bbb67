"""Bulk imports, profile INTERACTIONS: years of messages brands' systems sent or received,
recorded as recordInteractions records them (idempotent by message id per channel, a new status
joins the history, other changed details rejected), with per-row rejects and dry runs."""

from __future__ import annotations

import asyncio
from typing import Any

from typer.testing import CliRunner

from tests.client import Api, customer_with_points
from tests.documents import SAVE_TEMPLATE
from tests.factories import by_mobile, new_mobile
from tests.import_checks import finished, job_summary, post_file, run_file, upload_through_graphql
from tests.snapshots import table_counts

HEADER = "Mobile,Message_ID,Channel,Direction,Status,Status_At,Subject,Body_Preview,Sent_At,Delivered_At\r\n"

HISTORY = """
query Interactions($customer: CustomerLookupInput!) {
  customerInteractions(customer: $customer, first: 50) {
    ... on InteractionPage {
      interactions { messageId channel direction status subject bodyPreview sentAt statusHistory { status at } }
    }
  }
}
"""

IMPORT = """
mutation Import($input: ImportInteractionsInput!) {
  importInteractions(input: $input) { __typename ... on ImportSubmitted { existing job { id } } ... on Error { code } }
}
"""


async def run(api: Api, body: str, **params: str) -> dict[str, Any]:
    return await run_file(api, "/imports/interactions", body, **params)


async def interactions(api: Api, mobile: str) -> list[dict[str, Any]]:
    return (await api.data(HISTORY, {"customer": by_mobile(mobile)}))["customerInteractions"]["interactions"]


def history_file(mobile: str, other_mobile: str) -> str:
    return HEADER + (
        f"{mobile},m-1,SMS,OUTBOUND,SENT,2025-03-01T10:00:00Z,,Your points,2025-03-01T10:00:00Z,\r\n"
        f"{mobile},m-1,sms,OUTBOUND,DELIVERED,2025-03-01T10:00:05Z,,Your points,2025-03-01T10:00:00Z,"
        "2025-03-01T10:00:05Z\r\n"
        f"{other_mobile},e-1,EMAIL,OUTBOUND,OPENED,2025-03-02T08:00:00+05:30,Offers,,,\r\n"
        f"{new_mobile()},m-2,SMS,OUTBOUND,SENT,2025-03-01T10:00:00Z,,,,\r\n"
        f"{mobile},m-3,FAX,OUTBOUND,SENT,2025-03-01T10:00:00Z,,,,\r\n"
        f"{mobile},m-4,SMS,OUTBOUND,SENT,2025-03-01T10:00:00,,,,\r\n"
        f"{mobile},m-1,SMS,INBOUND,READ,2025-03-01T10:01:00Z,,Your points,2025-03-01T10:00:00Z,\r\n"
        f"{mobile},m-5,SMS,OUTBOUND,SENT,2025-03-01T10:00:00Z,,{'x' * 501},,\r\n"
        f"{mobile},m-6,SMS,OUTBOUND,SENT,,,,,\r\n"
    )


EXPECTED_REJECTS = [
    (5, "mobile", "CUSTOMER_NOT_FOUND"),
    (6, "channel", "INVALID_CHANNEL"),
    (7, "status_at", "INVALID_TIME"),
    (8, "direction", "INTERACTION_CONFLICT"),
    (9, "body_preview", "INVALID_VALUE"),
    (10, "status_at", "MISSING_VALUE"),
]


async def test_rows_are_recorded_as_record_interactions_records_them_and_bad_rows_are_rejected(client_api, database):
    mobile, _ = await customer_with_points(client_api)
    other_mobile, _ = await customer_with_points(client_api)
    before = await table_counts(database)

    job = await run(client_api, history_file(mobile, other_mobile))

    assert job_summary(job) == {
        "status": "DONE",
        "rowsRead": 9,
        "rowsImported": 3,
        "rowsRejected": 6,
        "rejects": EXPECTED_REJECTS,
    }
    assert await interactions(client_api, mobile) == [
        {
            "messageId": "m-1",
            "channel": "SMS",
            "direction": "OUTBOUND",
            "status": "DELIVERED",
            "subject": None,
            "bodyPreview": "Your points",
            "sentAt": "2025-03-01T10:00:00+00:00",
            "statusHistory": [
                {"status": "SENT", "at": "2025-03-01T10:00:00+00:00"},
                {"status": "DELIVERED", "at": "2025-03-01T10:00:05+00:00"},
            ],
        }
    ]
    assert await interactions(client_api, other_mobile) == [
        {
            "messageId": "e-1",
            "channel": "EMAIL",
            "direction": "OUTBOUND",
            "status": "OPENED",
            "subject": "Offers",
            "bodyPreview": None,
            "sentAt": None,
            "statusHistory": [{"status": "OPENED", "at": "2025-03-02T02:30:00+00:00"}],
        }
    ]
    counts = await table_counts(database)
    assert (counts["interactions"], counts["interaction_status_changes"]) == (
        before["interactions"] + 2,
        before["interaction_status_changes"] + 3,
    )


async def test_a_dry_run_reports_the_same_and_writes_nothing_and_a_second_import_stores_only_new_rows(
    client_api, database
):
    mobile, _ = await customer_with_points(client_api)
    other_mobile, _ = await customer_with_points(client_api)
    body = history_file(mobile, other_mobile)
    before = await table_counts(database)

    dry = await run(client_api, body, dryRun="true", importKey="dry")
    after_dry_run = await table_counts(database)
    first = await run(client_api, body, importKey="first")
    after_first = await table_counts(database)
    # The same file again is the same job (the framework's own idempotency): this one adds a row.
    again = await run(client_api, body + f"{mobile},m-7,SMS,OUTBOUND,SENT,2025-03-04T10:00:00Z,,,,\r\n")

    expected = {"status": "DONE", "rowsRead": 9, "rowsImported": 3, "rowsRejected": 6, "rejects": EXPECTED_REJECTS}
    assert (job_summary(dry), job_summary(first)) == (expected, expected)
    assert job_summary(again) == {**expected, "rowsRead": 10, "rowsImported": 4}
    assert dry["dryRun"] is True
    assert (after_dry_run["interactions"], after_dry_run["interaction_status_changes"]) == (
        before["interactions"],
        before["interaction_status_changes"],
    )
    counts = await table_counts(database)
    assert (counts["interactions"], counts["interaction_status_changes"]) == (
        after_first["interactions"] + 1,
        after_first["interaction_status_changes"] + 1,
    )


async def test_customers_are_named_by_the_configured_identifier_and_a_missing_column_fails_the_file(client_api):
    mobile, user_id = await customer_with_points(client_api)

    by_id = await run(
        client_api,
        f"user_id,message_id,channel,direction,status,status_at\r\n{user_id},w-1,WECHAT,INBOUND,RECEIVED,"
        "2025-01-01T00:00:00Z\r\n",
        uniqueIdentifierType="USER_ID",
    )
    missing = await run(
        client_api,
        "message_id,channel,direction,status,status_at\r\nw-2,WECHAT,INBOUND,RECEIVED,2025-01-01T00:00:00Z\r\n",
    )
    refused = await post_file(client_api, "/imports/interactions", HEADER, uniqueIdentifierType="CARD_NUMBER")

    assert (by_id["status"], by_id["rowsImported"]) == ("DONE", 1)
    assert [item["messageId"] for item in await interactions(client_api, mobile)] == ["w-1"]
    assert (missing["status"], missing["errorCode"]) == ("FAILED", "MISSING_COLUMN")
    assert (refused.status_code, refused.json()["error"]["code"], refused.json()["error"]["field"]) == (
        422,
        "INVALID_INPUT",
        "uniqueIdentifierType",
    )


async def test_the_graphql_upload_imports_the_same_way(client_api):
    mobile, _ = await customer_with_points(client_api)
    body = (
        "mobile,message_id,channel,direction,status,status_at\n"
        f"{mobile},s-1,SURVEY,INBOUND,RESPONDED,2025-01-01T00:00:00Z\n"
    )

    result = (await upload_through_graphql(client_api, IMPORT, {"configuration": {}}, "interactions.csv", body))[
        "importInteractions"
    ]

    assert (result["__typename"], result["existing"]) == ("ImportSubmitted", False)
    assert (await finished(client_api, result["job"]["id"]))["rowsImported"] == 1
    assert [(item["messageId"], item["status"]) for item in await interactions(client_api, mobile)] == [
        ("s-1", "RESPONDED")
    ]


async def test_a_saved_template_names_the_customer_column_of_interactions_and_behavioural_events(client_api):
    mobile, user_id = await customer_with_points(client_api)
    saved = [
        (await client_api.data(SAVE_TEMPLATE, {"input": {"name": name, profile: {"uniqueIdentifierType": "USER_ID"}}}))[
            "saveImportTemplate"
        ]
        for name, profile in (("by-user-id", "interactions"), ("events-by-user-id", "behaviouralEvents"))
    ]

    messages = await run(
        client_api,
        f"user_id,message_id,channel,direction,status,status_at\r\n{user_id},t-1,SMS,OUTBOUND,SENT,"
        "2025-01-01T00:00:00Z\r\n",
        template="by-user-id",
    )
    events = await run_file(
        client_api,
        "/imports/behavioural-events",
        f"user_id,tracking_id,event_name,occurred_at,source\r\n{user_id},t-1,visit,2025-01-01T00:00:00Z,INSTORE\r\n",
        template="events-by-user-id",
    )

    assert [(item["__typename"], item["profile"], item["configuration"]) for item in saved] == [
        ("ImportTemplate", "INTERACTIONS", {"unique_identifier_type": "USER_ID"}),
        ("ImportTemplate", "BEHAVIOURAL_EVENTS", {"unique_identifier_type": "USER_ID"}),
    ]
    assert [(job["status"], job["rowsImported"]) for job in (messages, events)] == [("DONE", 1), ("DONE", 1)]
    assert [item["messageId"] for item in await interactions(client_api, mobile)] == ["t-1"]


async def test_the_cli_imports_interactions_and_events_the_same_way(client_api, database, tmp_path, monkeypatch, clock):
    mobile, user_id = await customer_with_points(client_api)
    messages = tmp_path / "messages.csv"
    messages.write_text(
        f"mobile,message_id,channel,direction,status,status_at\n{mobile},c-1,EMAIL,OUTBOUND,SENT,2025-01-01T00:00:00Z\n"
    )
    events = tmp_path / "events.csv"
    events.write_text(
        f"user_id,tracking_id,event_name,occurred_at,source\n{user_id},c-1,visit,2025-01-01T00:00:00Z,INSTORE\n"
        f"{user_id},c-2,visit,2025-01-01T00:00:00Z,KIOSK\n"
    )

    from app.cli.main import cli
    from app.kernel.settings import get_settings

    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    monkeypatch.setenv("POINTLEDGER_IMPORT_DIRECTORY", str(tmp_path / "imports"))
    get_settings.cache_clear()
    try:
        by_mobile_column = await asyncio.to_thread(
            CliRunner().invoke, cli, ["import", "interactions", str(messages), "--org", "acme"], obj=clock
        )
        by_user_id = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["import", "events", str(events), "--org", "acme", "--identifier-type", "USER_ID"],
            obj=clock,
        )
    finally:
        get_settings.cache_clear()

    assert by_mobile_column.exit_code == 0, by_mobile_column.output
    assert by_user_id.exit_code == 0, by_user_id.output
    assert [(item["messageId"], item["channel"]) for item in await interactions(client_api, mobile)] == [
        ("c-1", "EMAIL")
    ]
    counts = await table_counts(database)
    assert (counts["behavioural_events"], counts["import_rejects"]) == (1, 1)
