"""Bulk imports, profile TRACKERS (seed 000): tracked values on customers' (or user groups')
existing bills, found by STANDARD_FIELDS (bill number + transaction date + store) or
LOYALTY_LOG_ID, line items by serial; the points issued show in the loyalty tracker history.

Each test bill: 1,800 at till-1 (store-1, external id S1), lines 1 SHIRT-01, 2 JEANS-01,
3 SOCKS-01, 18 main points. Main program: whole points, FLOOR.
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner

from app.imports.models import ImportProfile
from app.ledger.models import EventType
from app.trackers.models import TrackerValue
from tests.client import Api, define_tracker, purchase_to_track
from tests.documents import TRACKER_HISTORY
from tests.factories import by_mobile, by_user_id
from tests.import_checks import (
    CREATE_GROUP,
    finished,
    jobs_of_events,
    main_points,
    post_file,
    run_file,
    statements_to_run,
)
from tests.ledger_checks import assert_reconciled, count_events

tracker_values = TrackerValue.__table__


async def post(api: Api, body: str, **params: str) -> Any:
    return await post_file(api, "/imports/tracker", body, **params)


async def run(api: Api, body: str, **params: str) -> dict[str, Any]:
    return await run_file(api, "/imports/tracker", body, **params)


async def history(api: Api, user_id: str) -> list[dict[str, Any]]:
    page = (await api.data(TRACKER_HISTORY, {"customer": by_user_id(user_id)}))["customerTrackerHistory"]
    return [
        {
            key: record[key]
            for key in ("trackerCode", "transactionId", "billNumber", "lineItemSerial", "value", "points")
        }
        for record in page["records"]
    ]


async def value_count(database) -> int:
    async with database.read() as connection:
        return (await connection.execute(select(func.count()).select_from(tracker_values))).scalar_one()


async def test_standard_fields_rows_track_values_on_the_customers_bills_and_issue_points(client_api, database):
    await define_tracker(client_api, "FUEL", "TRANSACTION", "0.5")
    first, second = await purchase_to_track(client_api), await purchase_to_track(client_api)
    body = (
        "Mobile,Bill_Number,Transaction_Date,Store_Code,Tracked_Value\r\n"
        f"{first['mobile']},{first['number']},{first['date']},S1,35\r\n"
        f"91{second['mobile']},{second['number']},{second['date']},S1,10.5\r\n"
        f"{second['mobile']},{second['number']},{second['date']},S9,0\r\n"
    )

    job = await run(
        client_api,
        body,
        tracker="FUEL",
        appendCountryCode="true",
        storesByExternalId="true",
        replacementStoreCode="store-1",
    )

    assert {key: job[key] for key in ("status", "rowsRead", "rowsImported", "rowsRejected", "pointsImported")} == {
        "status": "DONE",
        "rowsRead": 3,
        "rowsImported": 3,
        "rowsRejected": 0,
        "pointsImported": "22",
    }
    assert [(item["rowNumber"], item["column"], item["code"]) for item in job["corrections"]["corrections"]] == [
        (2, "mobile", "COUNTRY_CODE_ADDED"),
        (4, "mobile", "COUNTRY_CODE_ADDED"),
        (4, "store_code", "STORE_REPLACED"),
    ]
    assert (
        job["corrections"]["corrections"][2]["message"] == "'S9' names no store external id: replaced by store store-1"
    )
    assert await history(client_api, first["userId"]) == [
        {
            "trackerCode": "FUEL",
            "transactionId": first["id"],
            "billNumber": first["number"],
            "lineItemSerial": None,
            "value": "35",
            "points": "17",
        }
    ]
    assert await history(client_api, second["userId"]) == [
        {
            "trackerCode": "FUEL",
            "transactionId": second["id"],
            "billNumber": second["number"],
            "lineItemSerial": None,
            "value": "0",
            "points": "0",
        },
        {
            "trackerCode": "FUEL",
            "transactionId": second["id"],
            "billNumber": second["number"],
            "lineItemSerial": None,
            "value": "10.5",
            "points": "5",
        },
    ]
    assert (await main_points(client_api, first["userId"]), await main_points(client_api, second["userId"])) == (
        "35",
        "23",
    )
    assert await count_events(database, EventType.TRACKER_POINTS) == 2
    assert await jobs_of_events(database, EventType.TRACKER_POINTS) == [int(job["id"])]
    await assert_reconciled(database)


async def test_loyalty_log_ids_and_line_items_that_must_be_on_the_bill(client_api, database):
    await define_tracker(client_api, "KM", "LINE_ITEM", "2")
    mine, theirs = await purchase_to_track(client_api), await purchase_to_track(client_api)
    body = (
        "email,user_id,loyalty_log_id,item_id,tracked_value\n"
        f",{mine['userId']},{mine['id']},2,4\n"  # 2: fine, 8 points
        f",{mine['userId']},{mine['id']},7,4\n"  # 3: no line 7 on the bill
        f",{mine['userId']},{theirs['id']},1,4\n"  # 4: another customer's bill
        f",{mine['userId']},99999999,1,4\n"  # 5: no such bill
        f",{mine['userId']},{mine['id']},,4\n"  # 6: line item tracker, no item
        f",{mine['userId']},x1,1,4\n"  # 7
        f",{mine['userId']},{mine['id']},1,4.00001\n"  # 8: 5 decimal places
        f",424242,{mine['id']},1,4\n"
    )  # 9: nobody

    job = await run(client_api, body, tracker="KM", billIdentification="LOYALTY_LOG_ID", uniqueIdentifierType="USER_ID")

    assert (job["status"], job["rowsImported"], job["rowsRejected"], job["pointsImported"]) == ("DONE", 1, 7, "8")
    assert [(item["rowNumber"], item["column"], item["code"]) for item in job["rejects"]["rejects"]] == [
        (3, "item_id", "ITEM_NOT_ON_BILL"),
        (4, "loyalty_log_id", "BILL_NOT_FOUND"),
        (5, "loyalty_log_id", "BILL_NOT_FOUND"),
        (6, "item_id", "MISSING_VALUE"),
        (7, "loyalty_log_id", "INVALID_LOYALTY_LOG_ID"),
        (8, "tracked_value", "INVALID_TRACKED_VALUE"),
        (9, "user_id", "CUSTOMER_NOT_FOUND"),
    ]
    assert job["rejects"]["rejects"][0]["message"] == f"bill {mine['number']} has no line 7"
    assert await history(client_api, mine["userId"]) == [
        {
            "trackerCode": "KM",
            "transactionId": mine["id"],
            "billNumber": mine["number"],
            "lineItemSerial": 2,
            "value": "4",
            "points": "8",
        }
    ]
    assert await main_points(client_api, mine["userId"]) == "26"
    await assert_reconciled(database)


async def test_missing_columns_fail_the_file_before_any_row(client_api, database):
    await define_tracker(client_api, "KM", "LINE_ITEM", "2")
    await define_tracker(client_api, "FUEL", "TRANSACTION", "1")
    bought = await purchase_to_track(client_api)

    no_item = await run(
        client_api,
        f"mobile,loyalty_log_id,tracked_value\n{bought['mobile']},{bought['id']},3\n",
        tracker="KM",
        billIdentification="LOYALTY_LOG_ID",
        appendCountryCode="true",
    )
    no_date = await run(
        client_api,
        f"mobile,bill_number,store_code,tracked_value\n{bought['mobile']},{bought['number']},store-1,3\n",
        tracker="FUEL",
        appendCountryCode="true",
    )
    item_on_a_bill_tracker = await run(
        client_api,
        f"mobile,loyalty_log_id,item_id,tracked_value\n{bought['mobile']},{bought['id']},1,3\n",
        tracker="FUEL",
        billIdentification="LOYALTY_LOG_ID",
        appendCountryCode="true",
    )
    no_tracker = await post(client_api, "mobile,tracked_value\n1,1\n", tracker="NOPE")

    assert (no_item["status"], no_item["errorCode"], no_item["errorMessage"]) == (
        "FAILED",
        "MISSING_COLUMN",
        "the header lacks the column 'item_id' (tracker KM tracks line items)",
    )
    assert (no_date["errorCode"], no_date["errorMessage"]) == (
        "MISSING_COLUMN",
        "the header lacks the column 'transaction_date' (bills are identified by STANDARD_FIELDS)",
    )
    assert item_on_a_bill_tracker["rejects"]["rejects"] == [
        {
            "rowNumber": 2,
            "column": "item_id",
            "code": "ITEM_NOT_EXPECTED",
            "message": "tracker FUEL tracks bills, not line items",
        }
    ]
    assert (no_tracker.status_code, no_tracker.json()["error"]["code"], no_tracker.json()["error"]["field"]) == (
        404,
        "TRACKER_NOT_FOUND",
        "trackerCode",
    )
    assert await value_count(database) == 0


async def test_standard_fields_must_match_the_bills_date_and_store_and_the_mobile_its_country_code(
    client_api, database
):
    await define_tracker(client_api, "FUEL", "TRANSACTION", "1")
    bought = await purchase_to_track(client_api)
    body = (
        "mobile,bill_number,transaction_date,store_code,tracked_value\n"
        f"91{bought['mobile']},{bought['number']},2001-01-01,store-1,3\n"  # 2: another date
        f"91{bought['mobile']},{bought['number']},{bought['date']},store-2,3\n"  # 3: another store
        f"91{bought['mobile']},{bought['number']},{bought['date']},store-7,3\n"  # 4: no such store
        f"{bought['mobile']},{bought['number']},{bought['date']},store-1,3\n"  # 5: no country code, none added
        f"91{bought['mobile']},{bought['number']},01/02/2026,store-1,3\n"  # 6
        f"91{bought['mobile']},{bought['number']},{bought['date']},store-1,3\n"
    )  # 7: fine

    job = await run(client_api, body, tracker="FUEL")

    assert [(item["rowNumber"], item["column"], item["code"]) for item in job["rejects"]["rejects"]] == [
        (2, "bill_number", "BILL_NOT_FOUND"),
        (3, "bill_number", "BILL_NOT_FOUND"),
        (4, "store_code", "STORE_NOT_FOUND"),
        (5, "mobile", "INVALID_MOBILE"),
        (6, "transaction_date", "INVALID_DATE"),
    ]
    assert (job["rowsImported"], job["pointsImported"], job["corrections"]["corrections"]) == (1, "3", [])
    assert await main_points(client_api, bought["userId"]) == "21"


async def test_a_group_import_tracks_members_bills_for_the_groups_account(client_api, database):
    await define_tracker(client_api, "FUEL", "TRANSACTION", "1")
    member, outsider = await purchase_to_track(client_api), await purchase_to_track(client_api)
    group = (
        await client_api.data(
            CREATE_GROUP,
            {"input": {"externalId": "FLEET-1", "members": [by_mobile(member["mobile"])]}},
        )
    )["createUserGroup"]["group"]
    body = (
        "user_group_identifier,loyalty_log_id,tracked_value\n"
        f"FLEET-1,{member['id']},40\n"
        f"FLEET-1,{outsider['id']},40\n"
        f"FLEET-2,{member['id']},40\n"
    )

    job = await run(client_api, body, tracker="FUEL", billIdentification="LOYALTY_LOG_ID", userGroupsEnabled="true")

    assert (job["rowsImported"], job["pointsImported"]) == (1, "40")
    assert [
        (item["rowNumber"], item["column"], item["code"], item["message"]) for item in job["rejects"]["rejects"]
    ] == [
        (3, "loyalty_log_id", "BILL_NOT_FOUND", "no bill of a member of this group matches"),
        (4, "user_group_identifier", "USER_GROUP_NOT_FOUND", "no user group with EXTERNAL_ID 'FLEET-2'"),
    ]
    assert await main_points(client_api, group["userId"]) == "40"
    assert [record["transactionId"] for record in await history(client_api, group["userId"])] == [member["id"]]
    assert (await main_points(client_api, member["userId"]), await main_points(client_api, outsider["userId"])) == (
        "18",
        "18",
    )
    await assert_reconciled(database)


async def test_re_import_adds_nothing_and_a_dry_run_writes_nothing(client_api, database, tmp_path, monkeypatch, clock):
    await define_tracker(client_api, "FUEL", "TRANSACTION", "1")
    bought = await purchase_to_track(client_api)
    body = f"mobile,loyalty_log_id,tracked_value\n{bought['mobile']},{bought['id']},6\n9876543210,{bought['id']},6\n"
    settings = {"tracker": "FUEL", "billIdentification": "LOYALTY_LOG_ID", "appendCountryCode": "true"}

    dry = await run(client_api, body, **settings, dryRun="true")
    assert await value_count(database) == 0
    assert await count_events(database, EventType.TRACKER_POINTS) == 0
    first = await run(client_api, body, **settings)
    again = await post(client_api, body, **settings)

    from app.cli.main import cli
    from app.kernel.settings import get_settings

    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    get_settings.cache_clear()
    path = tmp_path / "tracker.csv"
    path.write_text(body)
    try:
        # The same bytes under the same configuration from the CLI: the same job, nothing imported again.
        by_cli = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            [
                "import",
                "tracker",
                str(path),
                "--org",
                "acme",
                "--tracker",
                "FUEL",
                "--bill-identification",
                "LOYALTY_LOG_ID",
                "--append-country-code",
            ],
            obj=clock,
        )
    finally:
        get_settings.cache_clear()

    assert (dry["dryRun"], dry["rowsImported"], dry["rowsRejected"], dry["pointsImported"]) == (True, 1, 1, "6")
    assert [item["code"] for item in dry["corrections"]["corrections"]] == ["COUNTRY_CODE_ADDED"]
    assert (first["rowsImported"], first["rowsRejected"], first["pointsImported"]) == (1, 1, "6")
    assert (again.status_code, again.json()["existing"]) == (200, True)
    assert by_cli.exit_code == 0, by_cli.output
    assert "already submitted" in by_cli.output
    assert await value_count(database) == 1
    assert await count_events(database, EventType.TRACKER_POINTS) == 1
    assert await main_points(client_api, bought["userId"]) == "24"
    await assert_reconciled(database)


async def test_a_tracker_batch_costs_the_same_statements_for_2_rows_as_for_12(client_api, database, org, tmp_path):
    await define_tracker(client_api, "KM", "LINE_ITEM", "1")
    bills = [await purchase_to_track(client_api) for _ in range(14)]
    configuration = {"tracker_code": "KM", "append_country_code": True, "stores_by_external_id": True}
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    rows = [
        f"{bought['mobile']},{bought['number']},{bought['date']},S1,{index % 3 + 1},{index + 1}\n"
        for index, bought in enumerate(bills)
    ]
    header = "mobile,bill_number,transaction_date,store_code,item_id,tracked_value\n"
    small.write_text(header + "".join(rows[:2]))
    large.write_text(header + "".join(rows[2:]))

    small_count = await statements_to_run(database, org.org_id, ImportProfile.TRACKERS, configuration, small)
    large_count = await statements_to_run(database, org.org_id, ImportProfile.TRACKERS, configuration, large)

    assert large_count == small_count
    assert await value_count(database) == 14
    assert await count_events(database, EventType.TRACKER_POINTS) == 14
    await assert_reconciled(database)


async def test_the_corrections_download_lists_each_correction(client_api, database):
    await define_tracker(client_api, "FUEL", "TRANSACTION", "1")
    bought = await purchase_to_track(client_api)
    body = (
        "mobile,bill_number,transaction_date,store_code,tracked_value\n"
        f"{bought['mobile']},{bought['number']},{bought['date']},X,2\n"
    )
    response = await post(client_api, body, tracker="FUEL", appendCountryCode="true", replacementStoreCode="store-1")
    job_id = response.json()["job"]["id"]
    await finished(client_api, str(job_id))

    download = await client_api.client.get(
        f"/imports/{job_id}/corrections.csv", headers={"Authorization": client_api.credentials.header}
    )
    anonymous = await client_api.client.get(f"/imports/{job_id}/corrections.csv")

    assert download.status_code == 200
    assert list(csv.reader(io.StringIO(download.text))) == [
        ["row_number", "column", "code", "message"],
        [
            "2",
            "mobile",
            "COUNTRY_CODE_ADDED",
            f"'{bought['mobile']}' had no country code: IN's 91 was added (91{bought['mobile']})",
        ],
        ["2", "store_code", "STORE_REPLACED", "'X' names no store code: replaced by store store-1"],
    ]
    assert anonymous.status_code == 401
    assert await main_points(client_api, bought["userId"]) == "20"


async def test_a_row_issuing_more_than_the_points_maximum_is_rejected_and_the_others_import(client_api, database):
    await define_tracker(client_api, "BIG", "TRANSACTION", "1000000")
    bought = await purchase_to_track(client_api)
    body = (
        "user_id,loyalty_log_id,tracked_value\n"
        f"{bought['userId']},{bought['id']},2\n"  # 2: 2,000,000 points
        f"{bought['userId']},{bought['id']},999999999999\n"  # 3: ~10^18 points
        f"{bought['userId']},{bought['id']},1000000.0001\n"  # 4: just past 10^12 points
        f"{bought['userId']},{bought['id']},3\n"
    )  # 5: 3,000,000 points

    job = await run(
        client_api, body, tracker="BIG", billIdentification="LOYALTY_LOG_ID", uniqueIdentifierType="USER_ID"
    )

    assert (job["status"], job["rowsImported"], job["rowsRejected"], job["pointsImported"]) == ("DONE", 2, 2, "5000000")
    assert [(item["rowNumber"], item["column"], item["code"]) for item in job["rejects"]["rejects"]] == [
        (3, "tracked_value", "POINTS_ABOVE_MAXIMUM"),
        (4, "tracked_value", "POINTS_ABOVE_MAXIMUM"),
    ]
    assert [record["value"] for record in await history(client_api, bought["userId"])] == ["3", "2"]
    assert await main_points(client_api, bought["userId"]) == "5000018"
    assert await value_count(database) == 2
    await assert_reconciled(database)
