"""Bulk imports, profile CUSTOMER_PROMOTION (seed 000): points under a points promotion for
customers (by any identifier type) or user groups, with the template's configuration: country
codes added, stores by external id, invalid stores replaced, a user-defined or template-kept
promotion identifier, name mismatches refused for the whole file.

Main program: whole points. Each test customer is registered by a bill of 1,800 (18 main points).
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.customer_promotions.models import CustomerPromotion
from app.imports import service
from app.imports.customer_promotion import generated_identifier
from app.imports.errors import ImportInterruptedError
from app.imports.models import ImportProfile, JobStatus
from app.ledger import repository as ledger_repository
from app.ledger.models import EventType
from app.ledger.rules import lot_expiry
from app.organizations.models import ExpiryStrategy, Store, Till
from app.user_groups.models import UserGroup
from tests.client import Api, add
from tests.conftest import org_config
from tests.documents import SAVE_TEMPLATE
from tests.factories import bill, by_mobile
from tests.import_checks import (
    CREATE_GROUP,
    finished,
    jobs_of_events,
    main_points,
    points_of,
    post_file,
    registered_customer,
    run_file,
    statements_to_run,
)
from tests.ledger_checks import assert_reconciled, count_events

promotions = CustomerPromotion.__table__

IMPORT = """
mutation Import($input: ImportCustomerPromotionInput!) {
  importCustomerPromotion(input: $input) {
    __typename
    ... on ImportSubmitted { existing job { id status } }
    ... on Error { code message field }
  }
}
"""

SETTINGS = {"promotionName": "Diwali bonus", "promotionIdentifier": "DIWALI-26", "appendCountryCode": "true"}


async def post(api: Api, body: str, **params: str) -> Any:
    return await post_file(api, "/imports/promotion", body, **params)


async def run(api: Api, body: str, **params: str) -> dict[str, Any]:
    return await run_file(api, "/imports/promotion", body, **params)


async def customers(api: Api, count: int) -> list[dict[str, Any]]:
    """Customers registered by a purchase (18 main points each): mobile (no country code), userId."""
    found = []
    for _ in range(count):
        customer = await registered_customer(api)
        found.append({"mobile": customer["mobile"][2:], "userId": customer["userId"]})
    return found


async def promotion_events(database) -> list[tuple[Any, ...]]:
    async with database.read() as connection:
        return [
            tuple(row)
            for row in (
                await connection.execute(
                    select(
                        ledger_repository.events.c.customer_id,
                        ledger_repository.events.c.points_on_event,
                        promotions.c.identifier,
                        promotions.c.name,
                        ledger_repository.events.c.store_id,
                        ledger_repository.events.c.till_id,
                    )
                    .join(promotions, promotions.c.id == ledger_repository.events.c.customer_promotion_id)
                    .where(ledger_repository.events.c.event_type == EventType.CUSTOMER_PROMOTION.value)
                    .order_by(ledger_repository.events.c.id)
                )
            ).all()
        ]


async def places(database) -> dict[str, int]:
    async with database.read() as connection:
        stores = {
            row.code: row.id for row in await connection.execute(select(Store.__table__.c.code, Store.__table__.c.id))
        }
        tills = {
            row.code: row.id for row in await connection.execute(select(Till.__table__.c.code, Till.__table__.c.id))
        }
    return {**stores, **tills}


async def promotion_count(database) -> int:
    async with database.read() as connection:
        return (await connection.execute(select(func.count()).select_from(promotions))).scalar_one()


# --- Happy path -------------------------------------------------------------------------


async def test_a_file_awards_each_row_under_the_new_promotion_and_reports_its_corrections(client_api, database):
    first, second, third = await customers(client_api, 3)
    where = await places(database)
    body = (
        f"Mobile,Store_Code,Points\r\n{first['mobile']},till-1,100\r\n91{second['mobile']},store-2,250\r\n"
        f"+91{third['mobile']},NOWHERE,40\r\n{first['mobile']},,5\r\n"
    )

    job = await run(client_api, body, **SETTINGS, replacementStoreCode="store-2")

    assert {key: job[key] for key in ("status", "rowsRead", "rowsImported", "rowsRejected", "pointsImported")} == {
        "status": "DONE",
        "rowsRead": 4,
        "rowsImported": 4,
        "rowsRejected": 0,
        "pointsImported": "395",
    }
    assert job["rejects"]["rejects"] == []
    assert job["corrections"]["corrections"] == [
        {
            "rowNumber": 2,
            "column": "mobile",
            "code": "COUNTRY_CODE_ADDED",
            "message": f"'{first['mobile']}' had no country code: IN's 91 was added (91{first['mobile']})",
        },
        {
            "rowNumber": 4,
            "column": "store_code",
            "code": "STORE_REPLACED",
            "message": "'NOWHERE' names no store code: replaced by store store-2",
        },
        {
            "rowNumber": 5,
            "column": "mobile",
            "code": "COUNTRY_CODE_ADDED",
            "message": f"'{first['mobile']}' had no country code: IN's 91 was added (91{first['mobile']})",
        },
        {
            "rowNumber": 5,
            "column": "store_code",
            "code": "STORE_REPLACED",
            "message": "an empty value names no store code: replaced by store store-2",
        },
    ]
    assert [await main_points(client_api, customer["userId"]) for customer in (first, second, third)] == [
        "123",
        "268",
        "58",
    ]
    assert await promotion_events(database) == [
        (int(first["userId"]), Decimal(100), "DIWALI-26", "Diwali bonus", where["store-1"], where["till-1"]),
        (int(second["userId"]), Decimal(250), "DIWALI-26", "Diwali bonus", where["store-2"], None),
        (int(third["userId"]), Decimal(40), "DIWALI-26", "Diwali bonus", where["store-2"], None),
        (int(first["userId"]), Decimal(5), "DIWALI-26", "Diwali bonus", where["store-2"], None),
    ]
    assert await jobs_of_events(database, EventType.CUSTOMER_PROMOTION) == [int(job["id"])]
    await assert_reconciled(database)


async def test_stores_by_external_id_and_other_identifier_types(client_api, database):
    [customer] = await customers(client_api, 1)
    where = await places(database)

    by_user_id = await run(
        client_api,
        f"user_id,store_code,points\n{customer['userId']},T1,7\n",
        promotionName="Ids",
        uniqueIdentifierType="USER_ID",
        storesByExternalId="true",
    )
    by_store_code_when_external = await run(
        client_api,
        f"user_id,store_code,points\n{customer['userId']},store-1,7\n",
        promotionName="Ids",
        uniqueIdentifierType="USER_ID",
        storesByExternalId="true",
    )

    assert (by_user_id["rowsImported"], by_user_id["corrections"]["corrections"]) == (1, [])
    assert by_store_code_when_external["rejects"]["rejects"] == [
        {
            "rowNumber": 2,
            "column": "store_code",
            "code": "STORE_NOT_FOUND",
            "message": "no till or store external id 'store-1'",
        }
    ]
    assert (await promotion_events(database))[0][4:] == (where["store-1"], where["till-1"])
    assert await main_points(client_api, customer["userId"]) == "25"


# --- Exactly once, dry run ----------------------------------------------------------------


async def test_re_importing_the_file_adds_nothing(client_api, database):
    [customer] = await customers(client_api, 1)
    body = f"mobile,store_code,points\n{customer['mobile']},store-1,30\n"
    await run(client_api, body, **SETTINGS)

    again = await post(client_api, body, **SETTINGS)

    assert (again.status_code, again.json()["existing"]) == (200, True)
    assert await main_points(client_api, customer["userId"]) == "48"
    assert await count_events(database, EventType.CUSTOMER_PROMOTION) == 1
    await assert_reconciled(database)


async def test_a_dry_run_reports_what_would_happen_and_writes_nothing(client_api, database):
    first, second = await customers(client_api, 2)
    body = (
        f"mobile,store_code,points\n{first['mobile']},store-1,30\n{second['mobile']},nowhere,20\n9999999999,store-1,5\n"
    )

    job = await run(client_api, body, **SETTINGS, replacementStoreCode="store-1", dryRun="true")

    assert {key: job[key] for key in ("status", "dryRun", "rowsImported", "rowsRejected", "pointsImported")} == {
        "status": "DONE",
        "dryRun": True,
        "rowsImported": 2,
        "rowsRejected": 1,
        "pointsImported": "50",
    }
    assert [item["code"] for item in job["corrections"]["corrections"]] == [
        "COUNTRY_CODE_ADDED",
        "COUNTRY_CODE_ADDED",
        "STORE_REPLACED",
    ]
    assert job["rejects"]["rejects"] == [
        {
            "rowNumber": 4,
            "column": "mobile",
            "code": "CUSTOMER_NOT_FOUND",
            "message": "no customer with MOBILE '919999999999'",
        }
    ]
    assert await count_events(database, EventType.CUSTOMER_PROMOTION) == 0
    assert await promotion_count(database) == 0
    assert [await main_points(client_api, customer["userId"]) for customer in (first, second)] == ["18", "18"]


# --- Bad rows and bad files ---------------------------------------------------------------


async def test_every_bad_row_is_reported_with_its_column_and_code_and_the_good_rows_go_in(client_api, database):
    [customer] = await customers(client_api, 1)
    body = (
        "mobile,store_code,points\n"
        f"{customer['mobile']},store-1,10\n"  # 2: fine
        "12,store-1,10\n"  # 3: not a mobile
        "9999999998,store-1,10\n"  # 4: nobody
        f"{customer['mobile']},nowhere,10\n"  # 5: unknown store, no replacement
        f"{customer['mobile']},store-1,0\n"  # 6
        f"{customer['mobile']},store-1,ten\n"  # 7
        f"{customer['mobile']},store-1,1.5\n"  # 8: main counts whole points
        f",store-1,10\n"  # 9
        f"{customer['mobile']},store-1,\n"  # 10
        f"{customer['mobile']},store-1\n"
    )  # 11: a field short

    job = await run(client_api, body, **SETTINGS)

    assert (job["status"], job["rowsRead"], job["rowsImported"], job["rowsRejected"], job["pointsImported"]) == (
        "DONE",
        10,
        1,
        9,
        "10",
    )
    assert [(item["rowNumber"], item["column"], item["code"]) for item in job["rejects"]["rejects"]] == [
        (3, "mobile", "INVALID_MOBILE"),
        (4, "mobile", "CUSTOMER_NOT_FOUND"),
        (5, "store_code", "STORE_NOT_FOUND"),
        (6, "points", "INVALID_POINTS"),
        (7, "points", "INVALID_POINTS"),
        (8, "points", "INVALID_POINTS"),
        (9, "mobile", "MISSING_VALUE"),
        (10, "points", "MISSING_VALUE"),
        (11, None, "WRONG_FIELD_COUNT"),
    ]
    assert job["rejects"]["rejects"][5]["message"] == "program main counts points to 0 decimal places"
    assert await main_points(client_api, customer["userId"]) == "28"
    await assert_reconciled(database)


async def test_a_mobile_is_read_as_a_till_sends_it(client_api, database):
    """The import normalises mobiles with the customers' own rule: a number written with its own
    country code and no '+' is that number (no code added), whatever the base country."""
    customer = (await add(client_api, bill(customer={"mobile": "+447911123456"})))["transaction"]["customer"]
    body = "mobile,store_code,points\n447911123456,store-1,5\n+44 7911 123456,store-1,5\n"

    job = await run(client_api, body, **SETTINGS)

    assert (job["status"], job["rowsImported"], job["rowsRejected"]) == ("DONE", 2, 0)
    assert job["corrections"]["corrections"] == []
    assert await main_points(client_api, customer["userId"]) == "28"


async def test_a_file_without_the_configured_identifier_column_fails_whole(client_api, database):
    [customer] = await customers(client_api, 1)

    job = await run(client_api, "email,store_code,points\na@b.example,store-1,10\n", **SETTINGS)
    rejected_file = await run(
        client_api,
        f"mobile,store_code,points\n{customer['mobile']},store-1,10\n1,store-1,10\n",
        **SETTINGS,
        errorPolicy="REJECT_FILE",
    )

    assert (job["status"], job["errorCode"], job["errorMessage"]) == (
        "FAILED",
        "MISSING_COLUMN",
        "the header lacks the column 'mobile' (customers are identified by MOBILE)",
    )
    assert (rejected_file["status"], rejected_file["errorCode"], rejected_file["rowsRejected"]) == (
        "FAILED",
        "ROWS_REJECTED",
        1,
    )
    assert await count_events(database, EventType.CUSTOMER_PROMOTION) == 0
    assert await promotion_count(database) == 0


# --- The promotion: user-defined identifier, name mismatch, the template's own identifier ----


async def test_an_existing_identifier_awards_under_it_and_another_name_refuses_the_whole_file(client_api, database):
    [customer] = await customers(client_api, 1)
    await run(client_api, f"mobile,store_code,points\n{customer['mobile']},store-1,10\n", **SETTINGS)
    second_file = f"mobile,store_code,points\n{customer['mobile']},store-1,20\n"

    mismatch = await post(client_api, second_file, **{**SETTINGS, "promotionName": "Holi bonus"})
    template = (
        await client_api.data(
            SAVE_TEMPLATE,
            {
                "input": {
                    "name": "holi",
                    "customerPromotion": {"promotionName": "Holi bonus", "promotionIdentifier": "DIWALI-26"},
                }
            },
        )
    )["saveImportTemplate"]
    same_name = await run(client_api, second_file, **SETTINGS)

    assert (mismatch.status_code, mismatch.json()["error"]) == (
        409,
        {
            "code": "PROMOTION_NAME_MISMATCH",
            "field": "configuration.name",
            "message": "promotion 'DIWALI-26' is named 'Diwali bonus'; give the same name to award under it",
        },
    )
    assert (template["__typename"], template["code"]) == ("ConflictError", "PROMOTION_NAME_MISMATCH")
    assert same_name["rowsImported"] == 1
    assert await promotion_count(database) == 1
    assert await main_points(client_api, customer["userId"]) == "48"
    await assert_reconciled(database)


async def test_a_template_keeps_its_generated_identifier_until_it_changes(client_api, database):
    first, second, third = await customers(client_api, 3)
    saved = (
        await client_api.data(
            SAVE_TEMPLATE,
            {
                "input": {
                    "name": "monthly",
                    "customerPromotion": {"promotionName": "Monthly thanks", "appendCountryCode": True},
                }
            },
        )
    )["saveImportTemplate"]
    resaved = (
        await client_api.data(
            SAVE_TEMPLATE,
            {
                "input": {
                    "name": "monthly",
                    "customerPromotion": {"promotionName": "Monthly thanks", "appendCountryCode": True},
                }
            },
        )
    )["saveImportTemplate"]

    await run(client_api, f"mobile,store_code,points\n{first['mobile']},store-1,10\n", template="monthly")
    await run(client_api, f"mobile,store_code,points\n{second['mobile']},store-1,10\n", template="monthly")
    changed = (
        await client_api.data(
            SAVE_TEMPLATE,
            {
                "input": {
                    "name": "monthly",
                    "customerPromotion": {
                        "promotionName": "Monthly thanks",
                        "appendCountryCode": True,
                        "replacementStoreCode": "store-2",
                    },
                }
            },
        )
    )["saveImportTemplate"]
    await run(client_api, f"mobile,store_code,points\n{third['mobile']},store-1,10\n", template="monthly")

    assert (saved["profile"], saved["version"], resaved["identity"], changed["version"]) == (
        "CUSTOMER_PROMOTION",
        1,
        saved["identity"],
        2,
    )
    assert changed["identity"] != saved["identity"]
    kept, renewed = generated_identifier(saved["identity"]), generated_identifier(changed["identity"])
    assert [event[2:4] for event in await promotion_events(database)] == [
        (kept, "Monthly thanks"),
        (kept, "Monthly thanks"),
        (renewed, "Monthly thanks"),
    ]
    assert kept.startswith("CP-")
    assert len(kept) == 19


# --- User groups ----------------------------------------------------------------------------


async def test_a_group_import_credits_the_groups_own_account(client_api, database):
    member, outsider = await customers(client_api, 2)
    created = (
        await client_api.data(
            CREATE_GROUP,
            {"input": {"externalId": "FLEET-9", "members": [by_mobile(member["mobile"])]}},
        )
    )["createUserGroup"]
    group = created["group"]
    body = (
        "user_group_identifier,mobile,store_code,points\n"
        "FLEET-9,,store-1,500\n"
        f"FLEET-9,{member['mobile']},store-1,25\n"
        f"FLEET-9,{outsider['mobile']},store-1,25\n"
        "FLEET-0,,store-1,25\n"
        f"{group['id']},,store-1,25\n"
    )

    job = await run(client_api, body, **SETTINGS, userGroupsEnabled="true")
    by_group_id = await run(
        client_api,
        "user_group_identifier,store_code,points\n" + f"{group['id']},store-2,3\n",
        **SETTINGS,
        userGroupsEnabled="true",
        userGroupIdentifierType="GROUP_ID",
    )

    assert (job["rowsImported"], job["pointsImported"], by_group_id["rowsImported"]) == (2, "525", 1)
    assert [(item["rowNumber"], item["column"], item["code"]) for item in job["rejects"]["rejects"]] == [
        (4, "mobile", "NOT_A_MEMBER"),
        (5, "user_group_identifier", "USER_GROUP_NOT_FOUND"),
        (6, "user_group_identifier", "USER_GROUP_NOT_FOUND"),
    ]
    assert (await points_of(client_api, "USER_ID", group["userId"]))["loyaltyPoints"] == "528"
    assert [await main_points(client_api, customer["userId"]) for customer in (member, outsider)] == ["18", "18"]
    assert {event[0] for event in await promotion_events(database)} == {int(group["userId"])}
    await assert_reconciled(database)


# --- The other entry points ------------------------------------------------------------------


async def test_the_graphql_upload_and_the_cli_import_the_same_way(
    client_api, database, org, tmp_path, monkeypatch, clock
):
    first, second = await customers(client_api, 2)
    operations = json.dumps(
        {
            "query": IMPORT,
            "variables": {
                "input": {
                    "file": None,
                    "configuration": {
                        "promotionName": "Upload",
                        "promotionIdentifier": "UP-1",
                        "appendCountryCode": True,
                    },
                }
            },
        }
    )
    response = await client_api.client.post(
        "/graphql",
        headers=client_api.credentials.upload_headers,
        data={"operations": operations, "map": '{"0": ["variables.input.file"]}'},
        files={
            "0": ("promotion.csv", f"mobile,store_code,points\n{first['mobile']},store-1,12\n".encode(), "text/csv")
        },
    )
    result = response.json()["data"]["importCustomerPromotion"]
    assert (result["__typename"], result["existing"]) == ("ImportSubmitted", False)
    assert (await finished(client_api, result["job"]["id"]))["rowsImported"] == 1

    from app.cli.main import cli
    from app.kernel.settings import get_settings

    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    monkeypatch.setenv("POINTLEDGER_IMPORT_DIRECTORY", str(tmp_path / "imports"))
    get_settings.cache_clear()
    path = tmp_path / "promotion.csv"
    path.write_text(f"mobile,store_code,points\n{second['mobile']},store-9,8\n")
    try:
        output = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            [
                "import",
                "promotion",
                str(path),
                "--org",
                "acme",
                "--promotion-name",
                "Upload",
                "--promotion-identifier",
                "UP-1",
                "--append-country-code",
                "--replacement-store",
                "store-2",
                "--corrections",
            ],
            obj=clock,
        )
    finally:
        get_settings.cache_clear()

    assert output.exit_code == 0, output.output
    printed = " ".join(output.output.split())  # the console wraps long lines
    assert "DONE: 1 imported, 0 rejected of 1 rows; 8 points; 2 auto-corrections" in printed, printed
    assert "row 2 store_code: STORE_REPLACED 'store-9' names no store code: replaced by store store-2" in printed
    assert [await main_points(client_api, customer["userId"]) for customer in (first, second)] == ["30", "26"]
    await assert_reconciled(database)


async def test_group_rows_and_a_user_id_of_a_group_account(client_api, database):
    created = (await client_api.data(CREATE_GROUP, {"input": {"externalId": "FLEET-3", "members": []}}))[
        "createUserGroup"
    ]
    async with database.read() as connection:
        assert (await connection.execute(select(func.count()).select_from(UserGroup.__table__))).scalar_one() == 1

    job = await run(
        client_api,
        f"user_id,store_code,points\n{created['group']['userId']},store-1,5\n",
        promotionName="Ids",
        uniqueIdentifierType="USER_ID",
    )

    assert job["rejects"]["rejects"] == [
        {
            "rowNumber": 2,
            "column": "user_id",
            "code": "NOT_A_CUSTOMER",
            "message": f"user {created['group']['userId']} is a user group's account, not a customer",
        }
    ]
    assert await count_events(database, EventType.CUSTOMER_PROMOTION) == 0


async def test_a_killed_import_resumes_to_the_same_totals_and_corrections(client_api, database, org, tmp_path, clock):
    found = await customers(client_api, 5)
    path = tmp_path / "promotion.csv"
    path.write_text(
        "mobile,store_code,points\n"
        + "".join(f"{found[index % 5]['mobile']},store-1,{index + 1}\n" for index in range(30))
    )
    config = await org_config(database, org.org_id)
    request = service.ImportRequest(
        ImportProfile.CUSTOMER_PROMOTION, configuration={"promotion_name": "Resumed", "append_country_code": True}
    )
    job = (await service.submit(database, config, request, service.local_file(path, 10**6), now=clock.now())).job

    def crash_after_two(batches: int) -> None:
        if batches == 2:
            raise ImportInterruptedError("killed")

    with pytest.raises(ImportInterruptedError):
        await service.run_job(
            database, job.id, service.RunOptions(batch_size=7, after_batch=crash_after_two), clock=clock
        )
    async with database.read() as connection:
        crashed = await service.get_job(connection, org.org_id, job.id)
        assert crashed is not None
        assert (crashed.status, crashed.rows_imported) == (JobStatus.RUNNING, 14)
        assert await service.count_corrections(connection, job.id) == 14
    await assert_reconciled(database)

    resumed = await service.run_job(database, job.id, service.RunOptions(batch_size=7), clock=clock)

    assert (resumed.status, resumed.rows_read, resumed.rows_imported, resumed.points_imported) == (
        JobStatus.DONE,
        30,
        30,
        Decimal(sum(range(1, 31))),
    )
    async with database.read() as connection:
        assert await service.count_corrections(connection, job.id) == 30
    events = await promotion_events(database)
    assert [event[1] for event in events] == [Decimal(points) for points in range(1, 31)]
    assert {event[2] for event in events} == {generated_identifier(job.template_identity)}
    assert [await main_points(client_api, customer["userId"]) for customer in found] == [
        str(18 + sum(points for points in range(1, 31) if (points - 1) % 5 == index)) for index in range(5)
    ]
    await assert_reconciled(database)


async def test_a_batch_costs_the_same_statements_for_2_rows_as_for_12(client_api, database, org, tmp_path):
    found = await customers(client_api, 14)
    configuration = {"promotion_name": "Counted", "promotion_identifier": "COUNTED", "append_country_code": True}
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small.write_text(
        "mobile,store_code,points\n" + "".join(f"{customer['mobile']},till-1,3\n" for customer in found[:2])
    )
    large.write_text(
        "mobile,store_code,points\n" + "".join(f"{customer['mobile']},till-1,3\n" for customer in found[2:])
    )

    small_count = await statements_to_run(database, org.org_id, ImportProfile.CUSTOMER_PROMOTION, configuration, small)
    large_count = await statements_to_run(database, org.org_id, ImportProfile.CUSTOMER_PROMOTION, configuration, large)

    assert large_count == small_count
    assert await count_events(database, EventType.CUSTOMER_PROMOTION) == 14
    await assert_reconciled(database)


async def test_bad_configuration_is_a_typed_error_naming_the_setting_and_creates_no_job(client_api, database):
    body = "mobile,store_code,points\n9800000001,store-1,1\n"
    cases = [
        ({"promotionName": "X", "uniqueIdentifierType": "PASSPORT"}, 422, "INVALID_INPUT", "uniqueIdentifierType"),
        ({"promotionName": "X", "replacementStoreCode": "store-9"}, 422, "INVALID_INPUT", "replacementStoreCode"),
        ({"promotionName": "X", "program": "nope"}, 404, "PROGRAM_NOT_FOUND", "configuration.programCode"),
        (
            {"promotionName": "X", "expiryStrategy": "DAYS_AFTER_EARNING"},
            422,
            "INVALID_INPUT",
            "configuration.expiryValue",
        ),
        ({"promotionName": " "}, 422, "INVALID_INPUT", "promotionName"),
        ({"promotionName": "X", "appendCountryCode": "perhaps"}, 422, "INVALID_INPUT", "appendCountryCode"),
    ]

    for params, status, code, field in cases:
        response = await post(client_api, body, **params)
        assert (response.status_code, response.json()["error"]["code"], response.json()["error"]["field"]) == (
            status,
            code,
            field,
        ), params
    jobs = await client_api.data("query { importJobs(first: 10) { jobs { id } } }")
    assert jobs["importJobs"]["jobs"] == []


async def test_the_promotions_program_and_expiry_strategy_decide_the_lots(client_api, database):
    [customer] = await customers(client_api, 1)

    job = await run(
        client_api,
        f"mobile,store_code,points\n{customer['mobile']},till-cafe,9\n",
        **SETTINGS,
        program="cafe",
        expiryStrategy="DAYS_AFTER_EARNING",
        expiryValue="30",
    )

    assert job["rowsImported"] == 1
    async with database.read() as connection:
        lot = (
            await connection.execute(
                select(
                    ledger_repository.lots.c.points,
                    ledger_repository.lots.c.active_from,
                    ledger_repository.lots.c.expires_at,
                )
                .join(ledger_repository.entries, ledger_repository.entries.c.id == ledger_repository.lots.c.entry_id)
                .join(ledger_repository.events, ledger_repository.events.c.id == ledger_repository.entries.c.event_id)
                .where(ledger_repository.events.c.event_type == EventType.CUSTOMER_PROMOTION.value)
            )
        ).one()
    assert lot.points == Decimal(9)
    assert lot.expires_at == lot_expiry(
        ExpiryStrategy.DAYS_AFTER_EARNING, 30, lot.active_from, ZoneInfo("Asia/Kolkata")
    )
    assert (await points_of(client_api, "USER_ID", customer["userId"], program="cafe"))["loyaltyPoints"] == "9"
    await assert_reconciled(database)
