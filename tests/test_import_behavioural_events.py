"""Bulk imports, profile BEHAVIOURAL_EVENTS: years of behavioural events, recorded as
recordBehaviouralEvents records them (once per tracking id, an event's own tillCode attribute
winning over the integration's till code), with per-row rejects and dry runs."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tests.client import Api, customer_with_points
from tests.factories import by_mobile, new_mobile
from tests.import_checks import finished, job_summary, run_file, upload_through_graphql
from tests.snapshots import table_counts

EVENTS = """
query Events($customer: CustomerLookupInput!) {
  customerBehaviouralEvents(customer: $customer, first: 50) {
    ... on BehaviouralEventPage { events { trackingId eventName date source accountId tillCode attributes } }
  }
}
"""

IMPORT = """
mutation Import($input: ImportBehaviouralEventsInput!) {
  importBehaviouralEvents(input: $input) {
    __typename ... on ImportSubmitted { existing job { id } } ... on Error { code }
  }
}
"""


def csv_text(rows: list[list[str]]) -> str:
    """Rows as CSV (JSON attributes need quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["mobile", "tracking_id", "event_name", "occurred_at", "source", "account_id", "till_code", "attributes"]
    )
    writer.writerows(rows)
    return buffer.getvalue()


async def events(api: Api, mobile: str) -> list[dict[str, Any]]:
    return (await api.data(EVENTS, {"customer": by_mobile(mobile)}))["customerBehaviouralEvents"]["events"]


def history_file(mobile: str) -> str:
    at = "2025-06-01T20:00:00Z"  # 01:30 on June 2nd in Kolkata
    return csv_text(
        [
            [mobile, "t-1", "store_visit", at, "INSTORE", "", "till-webhook", json.dumps({"tillCode": "till-7"})],
            [mobile, "t-2", "product_viewed", "2025-06-01T10:00:00Z", "wechat", "wx-2", "till-webhook", ""],
            [mobile, "t-1", "store_visit", at, "INSTORE", "", "till-webhook", json.dumps({"tillCode": "till-7"})],
            [new_mobile(), "t-3", "store_visit", at, "INSTORE", "", "", ""],
            [mobile, "t-4", "store_visit", at, "KIOSK", "", "", ""],
            [mobile, "t-5", "store_visit", "2025-06-01", "INSTORE", "", "", ""],
            [mobile, "t-6", "store_visit", at, "INSTORE", "", "", "{not json"],
            [mobile, "t-7", "store_visit", at, "INSTORE", "", "", json.dumps(["a"])],
            [mobile, "t-1", "cart_viewed", at, "INSTORE", "", "till-webhook", json.dumps({"tillCode": "till-7"})],
            [mobile, "", "store_visit", at, "INSTORE", "", "", ""],
        ]
    )


EXPECTED_REJECTS = [
    (5, "mobile", "CUSTOMER_NOT_FOUND"),
    (6, "source", "INVALID_SOURCE"),
    (7, "occurred_at", "INVALID_TIME"),
    (8, "attributes", "INVALID_ATTRIBUTES"),
    (9, "attributes", "INVALID_VALUE"),
    (10, "event_name", "TRACKING_ID_CONFLICT"),
    (11, "tracking_id", "INVALID_VALUE"),
]


async def test_rows_are_recorded_once_per_tracking_id_with_the_winning_till_code(client_api, database):
    mobile, _ = await customer_with_points(client_api)
    before = await table_counts(database)

    job = await run_file(client_api, "/imports/behavioural-events", history_file(mobile))

    assert job_summary(job) == {
        "status": "DONE",
        "rowsRead": 10,
        "rowsImported": 3,
        "rowsRejected": 7,
        "rejects": EXPECTED_REJECTS,
    }
    assert await events(client_api, mobile) == [
        {
            "trackingId": "t-1",
            "eventName": "store_visit",
            "date": "2025-06-02",
            "source": "INSTORE",
            "accountId": None,
            "tillCode": "till-7",
            "attributes": {"tillCode": "till-7"},
        },
        {
            "trackingId": "t-2",
            "eventName": "product_viewed",
            "date": "2025-06-01",
            "source": "WECHAT",
            "accountId": "wx-2",
            "tillCode": "till-webhook",
            "attributes": None,
        },
    ]
    assert (await table_counts(database))["behavioural_events"] == before["behavioural_events"] + 2


async def test_a_dry_run_reports_the_same_and_writes_nothing(client_api, database):
    mobile, _ = await customer_with_points(client_api)
    before = await table_counts(database)

    dry = await run_file(client_api, "/imports/behavioural-events", history_file(mobile), dryRun="true")

    assert job_summary(dry) == {
        "status": "DONE",
        "rowsRead": 10,
        "rowsImported": 3,
        "rowsRejected": 7,
        "rejects": EXPECTED_REJECTS,
    }
    assert await table_counts(database) == {
        **before,
        "import_jobs": before["import_jobs"] + 1,
        "import_rejects": before["import_rejects"] + 7,
    }


async def test_the_graphql_upload_imports_the_same_way(client_api):
    mobile, user_id = await customer_with_points(client_api)
    body = (
        f"user_id,tracking_id,event_name,occurred_at,source\n{user_id},s-1,survey_opened,2025-01-01T00:00:00Z,SURVEY\n"
    )
    configuration = {"configuration": {"uniqueIdentifierType": "USER_ID"}}

    result = (await upload_through_graphql(client_api, IMPORT, configuration, "events.csv", body))[
        "importBehaviouralEvents"
    ]

    assert (result["__typename"], result["existing"]) == ("ImportSubmitted", False)
    assert (await finished(client_api, result["job"]["id"]))["rowsImported"] == 1
    assert [(item["trackingId"], item["source"]) for item in await events(client_api, mobile)] == [("s-1", "SURVEY")]
