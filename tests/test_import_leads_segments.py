"""Bulk imports of member care's history (seed 004): profiles LEADS and SEGMENT_MEMBERS, through
POST /imports/leads and /imports/segments, read back with customerLeads and
customerSegmentHistory. The org's time zone is Asia/Kolkata (UTC+05:30)."""

from __future__ import annotations

import json
from typing import Any

from app.imports.models import ImportProfile
from tests.client import Api, customer_with_points
from tests.factories import by_mobile, new_mobile
from tests.import_checks import PROFILE_JOB, finished, run_file, statements_to_run
from tests.snapshots import table_counts
from tests.test_leads import LEADS
from tests.test_segments import HISTORY, add, create

NOW = "2026-11-25T06:30:00+00:00"


async def leads_of(api: Api, mobile: str) -> list[dict[str, Any]]:
    return (await api.data(LEADS, {"lookup": by_mobile(mobile)}))["customerLeads"]["leads"]


def job_counts(job: dict[str, Any]) -> tuple:
    return job["status"], job["dryRun"], job["rowsRead"], job["rowsImported"], job["rowsRejected"]


def rejects(job: dict[str, Any]) -> list[tuple]:
    return [(reject["rowNumber"], reject["column"], reject["code"]) for reject in job["rejects"]["rejects"]]


async def test_a_leads_file_makes_each_valid_row_a_lead_with_its_history_and_rejects_the_others(client_api):
    mobile, user_id = await customer_with_points(client_api)
    unknown = new_mobile()
    body = (
        "Mobile,Lead_Type,Lead_For,Status,Sub_Status,Created_At,Last_Follow_Up_At,Next_Follow_Up_At,Extended_Fields\r\n"
        f'{mobile},PRODUCT,SKU-1,WON,Paid,2024-03-01,2024-03-02T10:00:00+05:30,,"{{""channel"": ""store""}}"\r\n'
        f"{mobile},CATEGORY,bundle,,,,,,\r\n"
        f"{unknown},PRODUCT,SKU-2,,,,,,\r\n"
        f"{mobile},PRODUCT,SKU-3,MAYBE,,,,,\r\n"
        f"{mobile},PRODUCT,SKU-4,,,2024-13-01,,,\r\n"
        f"{mobile},PRODUCT,SKU-5,,,,,,[1]\r\n"
        f"{mobile},PRODUCT,SKU-6,,,2027-01-01,,,\r\n"
        f"{mobile},,SKU-7,,,,,,\r\n"
    )

    job = await run_file(client_api, "/imports/leads", body, appendCountryCode="true")

    assert job_counts(job) == ("DONE", False, 8, 2, 6)
    assert rejects(job) == [
        (4, "mobile", "CUSTOMER_NOT_FOUND"),
        (5, "status", "INVALID_STATUS"),
        (6, "created_at", "INVALID_TIME"),
        (7, "extended_fields", "INVALID_EXTENDED_FIELDS"),
        (8, "created_at", "INVALID_TIME"),
        (9, "lead_type", "INVALID_VALUE"),
    ]
    newest, oldest = await leads_of(client_api, mobile)
    assert {key: oldest[key] for key in oldest if key != "id"} == {
        "leadType": "PRODUCT",
        "leadFor": "SKU-1",
        "status": "WON",
        "subStatus": "Paid",
        "ownerUserId": user_id,
        "createdAt": "2024-02-29T18:30:00+00:00",
        "updatedAt": "2024-02-29T18:30:00+00:00",
        "lastFollowUpAt": "2024-03-02T04:30:00+00:00",
        "nextFollowUpAt": None,
        "extendedFields": [{"name": "channel", "value": "store"}],
        "statusHistory": [{"status": "WON", "subStatus": "Paid", "changedAt": "2024-02-29T18:30:00+00:00"}],
    }
    assert (newest["leadType"], newest["leadFor"], newest["status"], newest["createdAt"]) == (
        "CATEGORY",
        "bundle",
        "OPEN",
        NOW,
    )


async def test_a_dry_run_reports_what_it_would_import_and_writes_nothing(client_api, database):
    mobile, _ = await customer_with_points(client_api)
    body = f"mobile,lead_type,lead_for\r\n91{mobile},PRODUCT,SKU-1\r\n91{new_mobile()},PRODUCT,SKU-2\r\n"
    before = await table_counts(database)

    job = await run_file(client_api, "/imports/leads", body, dryRun="true")

    assert job_counts(job) == ("DONE", True, 2, 1, 1)
    assert rejects(job) == [(3, "mobile", "CUSTOMER_NOT_FOUND")]
    after = await table_counts(database)
    assert (after["leads"], after["lead_status_changes"]) == (before["leads"], before["lead_status_changes"])
    assert await leads_of(client_api, mobile) == []


async def test_a_rejected_row_under_reject_file_imports_nothing(client_api):
    mobile, _ = await customer_with_points(client_api)
    body = f"mobile,lead_type,lead_for,status\r\n91{mobile},PRODUCT,SKU-1,OPEN\r\n91{mobile},PRODUCT,SKU-2,NOPE\r\n"

    job = await run_file(client_api, "/imports/leads", body, errorPolicy="REJECT_FILE")

    # rowsImported: what would have been imported
    assert (job["status"], job["errorCode"], job["rowsImported"], rejects(job)) == (
        "FAILED",
        "ROWS_REJECTED",
        1,
        [(3, "status", "INVALID_STATUS")],
    )
    assert await leads_of(client_api, mobile) == []


async def test_a_segment_members_file_adds_and_removes_once_each_with_the_source_import(client_api, database):
    mobile, user_id = await customer_with_points(client_api)
    other_mobile, _ = await customer_with_points(client_api)
    await create(client_api, "GOLD", "Gold shoppers")
    await create(client_api, "LAPSED", "Lapsed")
    await add(client_api, "LAPSED", [by_mobile(mobile)])
    body = (
        "user_id,segment_code,action\r\n"
        f"{user_id},GOLD,ADD\r\n"
        f"{user_id},GOLD,\r\n"
        f"{user_id},LAPSED,REMOVE\r\n"
        f"{user_id},SILVER,ADD\r\n"
        f"{user_id},GOLD,MOVE\r\n"
        "999999,GOLD,ADD\r\n"
    )

    job = await run_file(client_api, "/imports/segments", body, uniqueIdentifierType="USER_ID")

    assert job_counts(job) == ("DONE", False, 6, 3, 3)
    assert rejects(job) == [
        (5, "segment_code", "SEGMENT_NOT_FOUND"),
        (6, "action", "INVALID_ACTION"),
        (7, "user_id", "CUSTOMER_NOT_FOUND"),
    ]
    changes = (await client_api.data(HISTORY, {"lookup": by_mobile(mobile)}))["customerSegmentHistory"]["changes"]
    assert [(change["segment"]["code"], change["action"], change["source"]) for change in changes] == [
        ("LAPSED", "REMOVED", "IMPORT"),
        ("GOLD", "ADDED", "IMPORT"),
        ("LAPSED", "ADDED", "API"),
    ]
    counts = await table_counts(database)
    assert (counts["segment_members"], counts["segment_changes"]) == (1, 3)
    other = (await client_api.data(HISTORY, {"lookup": by_mobile(other_mobile)}))["customerSegmentHistory"]
    assert other["changes"] == []


async def test_a_leads_import_costs_the_same_statements_for_2_or_12_rows(client_api, database, org, tmp_path):
    mobiles = [(await customer_with_points(client_api))[0] for _ in range(14)]
    rows = [f"{mobile},PRODUCT,SKU-{index},2024-01-0{index % 9 + 1}\n" for index, mobile in enumerate(mobiles)]
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    header = "mobile,lead_type,lead_for,created_at\n"
    small.write_text(header + "".join(rows[:2]))
    large.write_text(header + "".join(rows[2:]))
    configuration = {"unique_identifier_type": "MOBILE", "append_country_code": True}

    small_count = await statements_to_run(database, org.org_id, ImportProfile.LEADS, configuration, small)
    large_count = await statements_to_run(database, org.org_id, ImportProfile.LEADS, configuration, large)

    assert large_count == small_count
    counts = await table_counts(database)
    assert (counts["leads"], counts["lead_status_changes"]) == (14, 14)
    assert [lead["leadFor"] for lead in await leads_of(client_api, mobiles[13])] == ["SKU-13"]


IMPORT_SEGMENT_MEMBERS = """
mutation Import($input: ImportSegmentMembersInput!) {
  importSegmentMembers(input: $input) {
    __typename
    ... on ImportSubmitted { existing job { id status profile } }
    ... on Error { code message field }
  }
}
"""


async def test_the_graphql_upload_imports_segment_members_like_the_http_route(client_api):
    mobile, _ = await customer_with_points(client_api)
    await create(client_api, "GOLD", "Gold shoppers")
    operations = {
        "query": IMPORT_SEGMENT_MEMBERS,
        "variables": {"input": {"file": None, "configuration": {"appendCountryCode": True}, "importKey": "seg-1"}},
    }

    async def upload() -> dict[str, Any]:
        response = await client_api.client.post(
            "/graphql",
            headers=client_api.credentials.upload_headers,
            data={"operations": json.dumps(operations), "map": '{"0": ["variables.input.file"]}'},
            files={"0": ("segments.csv", f"mobile,segment_code\n{mobile},GOLD\n".encode(), "text/csv")},
        )
        return response.json()["data"]["importSegmentMembers"]

    submitted = await upload()
    await finished(client_api, submitted["job"]["id"])
    again = await upload()

    assert (submitted["__typename"], submitted["existing"], submitted["job"]["profile"]) == (
        "ImportSubmitted",
        False,
        "SEGMENT_MEMBERS",
    )
    assert (again["existing"], again["job"]["id"]) == (True, submitted["job"]["id"])
    job = (await client_api.data(PROFILE_JOB, {"id": submitted["job"]["id"]}))["importJob"]
    assert job_counts(job) == ("DONE", False, 1, 1, 0)
    assert job["corrections"]["corrections"] == [
        {
            "rowNumber": 2,
            "column": "mobile",
            "code": "COUNTRY_CODE_ADDED",
            "message": f"'{mobile}' had no country code: IN's 91 was added (91{mobile})",
        }
    ]
    changes = (await client_api.data(HISTORY, {"lookup": by_mobile(mobile)}))["customerSegmentHistory"]["changes"]
    assert [(change["segment"]["code"], change["action"], change["source"]) for change in changes] == [
        ("GOLD", "ADDED", "IMPORT")
    ]


async def test_a_segment_members_batch_replays_its_rows_in_order_in_the_same_statements_for_2_or_12_rows(
    client_api, database, org, tmp_path
):
    mobiles = [(await customer_with_points(client_api))[0] for _ in range(12)]
    await create(client_api, "GOLD")
    await add(client_api, "GOLD", [by_mobile(mobiles[0])])
    # The first customer, a member already: removed, added again, added once more (nothing).
    replayed = [f"{mobiles[0]},GOLD,REMOVE\n", f"{mobiles[0]},GOLD,ADD\n", f"{mobiles[0]},GOLD,ADD\n"]
    added = [f"{mobile},GOLD,ADD\n" for mobile in mobiles[1:]]
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    header = "mobile,segment_code,action\n"
    small.write_text(header + "".join(added[:2]))
    large.write_text(header + "".join(replayed + added[2:]))
    configuration = {"unique_identifier_type": "MOBILE", "append_country_code": True}

    small_count = await statements_to_run(database, org.org_id, ImportProfile.SEGMENT_MEMBERS, configuration, small)
    large_count = await statements_to_run(database, org.org_id, ImportProfile.SEGMENT_MEMBERS, configuration, large)

    assert large_count == small_count
    changes = (await client_api.data(HISTORY, {"lookup": by_mobile(mobiles[0])}))["customerSegmentHistory"]["changes"]
    assert [(change["action"], change["source"]) for change in changes] == [
        ("ADDED", "IMPORT"),
        ("REMOVED", "IMPORT"),
        ("ADDED", "API"),
    ]
    counts = await table_counts(database)
    assert (counts["segment_members"], counts["segment_changes"]) == (12, 14)
