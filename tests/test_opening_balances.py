"""The opening-balance migration seed 003 calls PointsLedgerBulkJob (issue 16): customers brought
from another system start with one opening balance per program and category (profile
OPENING_BALANCES), then their history (credits, then debits) imports after it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from app.ledger.models import EventType
from tests.client import Api
from tests.import_checks import finished, points_of, post_csv, post_file
from tests.ledger_checks import assert_reconciled, count_events
from tests.snapshots import table_counts
from tests.test_import_debits import account_of, entries, identifiers, import_debits, lots, lots_left

OPENING = (
    "customerprofileid,category,balance,asof,expirydate\n"
    "M-1,REGULAR,500,2026-10-31T18:30:00Z,2027-12-31T18:29:59Z\n"
    "M-1,PROMISED,40,2026-10-31T18:30:00Z,\n"
    "M-2,,75,2026-10-31T18:30:00Z,unlimited\n"
)


async def import_opening(api: Api, body: str, **params: str) -> dict[str, Any]:
    response = await post_file(api, "/imports/opening-balances", body, program="main", **params)
    assert response.status_code == 202, response.text
    return await finished(api, str(response.json()["job"]["id"]))


async def opening_entries(database: Any, external_id: str) -> list[tuple[Any, ...]]:
    """The customer's POINTS_LEDGER_BULK_JOB entries: (category, kind, points, balance after, the
    lot's active from and expiry)."""
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(
                    entries.c.category,
                    entries.c.entry_kind,
                    entries.c.points,
                    entries.c.balance_after,
                    lots.c.active_from,
                    lots.c.expires_at,
                )
                .join(lots, lots.c.entry_id == entries.c.id)
                .join(identifiers, identifiers.c.customer_id == entries.c.customer_id)
                .where(
                    identifiers.c.value == external_id,
                    entries.c.event_type == EventType.POINTS_LEDGER_BULK_JOB.value,
                )
                .order_by(entries.c.id)
            )
        ).all()
    return [tuple(row) for row in rows]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_each_customer_program_and_category_starts_with_one_opening_balance(client_api, database):
    job = await import_opening(client_api, OPENING)

    assert {
        key: job[key] for key in ("status", "rowsImported", "rowsRejected", "customersCreated", "pointsImported")
    } == {"status": "DONE", "rowsImported": 3, "rowsRejected": 0, "customersCreated": 2, "pointsImported": "615"}
    assert await opening_entries(database, "M-1") == [
        ("REGULAR", "OPENING_BALANCE", 500, 500, at("2026-10-31T18:30:00"), at("2027-12-31T18:29:59")),
        ("PROMISED", "OPENING_BALANCE", 40, 40, at("2026-10-31T18:30:00"), None),
    ]
    assert await opening_entries(database, "M-2") == [
        ("REGULAR", "OPENING_BALANCE", 75, 75, at("2026-10-31T18:30:00"), None)
    ]
    assert await count_events(database, EventType.POINTS_LEDGER_BULK_JOB) == 3
    # The points were earned elsewhere: the balance, not the lifetime earnings, opens with them.
    assert await account_of(database, "M-1") == {"balance": 500, "earned": 0, "redeemed": 0, "expired": 0}
    summary = await points_of(client_api, "EXTERNAL_ID", "M-1")
    assert (summary["loyaltyPoints"], summary["spendable"]) == ("500", "500")
    await assert_reconciled(database)


async def test_the_history_after_the_opening_balance_imports_in_order(client_api, database):
    await import_opening(client_api, OPENING)
    credits = await finished(
        client_api,
        str(
            (
                await post_csv(
                    client_api,
                    b"customerprofileid,amount,startdate,expirydate\nM-1,60,2026-11-02T00:00:00Z,2027-01-31T00:00:00Z\n",
                )
            ).json()["job"]["id"]
        ),
    )
    debits = await import_debits(
        client_api,
        "customerprofileid,type,amount,date\nM-1,REDEMPTION,100,2026-11-10T00:00:00Z\nM-2,EXPIRY,75,\n",
    )

    assert (credits["rowsImported"], debits["rowsImported"], debits["rowsRejected"]) == (1, 2, 0)
    # The redemption takes the credit expiring first (60), then 40 of the opening balance.
    assert await lots_left(database, "M-1") == [(500, 460), (40, 40), (60, 0)]
    assert await account_of(database, "M-1") == {"balance": 460, "earned": 60, "redeemed": 100, "expired": 0}
    assert await account_of(database, "M-2") == {"balance": 0, "earned": 0, "redeemed": 0, "expired": 75}
    await assert_reconciled(database)


async def test_an_opening_balance_twice_is_refused_in_the_same_file_and_in_another_job(client_api, database):
    first = await import_opening(client_api, OPENING + "M-2,REGULAR,10,2026-10-31T18:30:00Z,\n")
    before = await table_counts(database)

    again = await import_opening(client_api, OPENING, importKey="another-key")

    assert [(item["rowNumber"], item["code"], item["message"]) for item in first["rejects"]["rejects"]] == [
        (5, "OPENING_BALANCE_EXISTS", "'M-2' has an opening balance in program main category REGULAR already")
    ]
    assert (again["status"], again["rowsImported"], again["rowsRejected"]) == ("DONE", 0, 3)
    assert [(item["rowNumber"], item["code"]) for item in again["rejects"]["rejects"]] == [
        (2, "OPENING_BALANCE_EXISTS"),
        (3, "OPENING_BALANCE_EXISTS"),
        (4, "OPENING_BALANCE_EXISTS"),
    ]
    after = await table_counts(database)
    # The job's own rows, and the import_job.finished event that tells subscribers it ended.
    report = ("import_jobs", "import_rejects", "import_files", "outbox_events", "outbox_deliveries")
    assert {table: count for table, count in after.items() if table not in report} == {
        table: count for table, count in before.items() if table not in report
    }
    assert await account_of(database, "M-2") == {
        "balance": 75,
        "earned": 0,
        "redeemed": 0,
        "expired": 0,
    }
    await assert_reconciled(database)


async def test_an_account_with_history_already_refuses_an_opening_balance(client_api, database):
    await finished(
        client_api, str((await post_csv(client_api, b"customerprofileid,amount\nX-0,1\n")).json()["job"]["id"])
    )
    user_id = (await points_of(client_api, "EXTERNAL_ID", "X-0"))["userId"]

    job = await import_opening(client_api, "customerprofileid,balance,asof\nX-0,100,2026-10-31T18:30:00Z\n")

    assert [
        (item["rowNumber"], item["column"], item["code"], item["message"]) for item in job["rejects"]["rejects"]
    ] == [
        (
            2,
            None,
            "ACCOUNT_HAS_HISTORY",
            f"customer {user_id}'s REGULAR points in program main have entries already (POINTS_IMPORT): "
            "an opening balance comes before them",
        )
    ]
    assert await account_of(database, "X-0") == {"balance": 1, "earned": 1, "redeemed": 0, "expired": 0}
    await assert_reconciled(database)


async def test_bad_rows_are_refused_with_their_column(client_api, database, clock):
    job = await import_opening(
        client_api,
        "customerprofileid,category,balance,asof,expirydate\n"
        "R-1,GOLD,10,2026-10-31T18:30:00Z,\n"
        "R-2,REGULAR,0,2026-10-31T18:30:00Z,\n"
        "R-3,REGULAR,10,,\n"
        "R-4,REGULAR,10,2026-12-31T18:30:00Z,\n"
        "R-5,REGULAR,10,2026-10-31T18:30:00Z,2026-10-01T00:00:00Z\n"
        "R-6,REGULAR,10,2026-10-31,\n",
    )

    assert [(item["rowNumber"], item["column"], item["code"]) for item in job["rejects"]["rejects"]] == [
        (2, "category", "INVALID_CATEGORY"),
        (3, "balance", "INVALID_BALANCE"),
        (4, "asof", "MISSING_VALUE"),
        (5, "asof", "INVALID_ASOF_DATE"),
        (6, "expirydate", "INVALID_EXPIRY_DATE"),
        (7, "asof", "INVALID_ASOF_DATE"),
    ]
    assert (job["rowsImported"], job["customersCreated"]) == (0, 0)
    await assert_reconciled(database)


async def test_an_opening_balance_already_past_its_expiry_expires_in_the_same_job(client_api, database):
    job = await import_opening(
        client_api, "customerprofileid,balance,asof,expirydate\nE-1,30,2026-01-01T00:00:00Z,2026-06-30T18:29:59Z\n"
    )

    assert (job["rowsImported"], job["pointsImported"], job["pointsExpired"]) == (1, "30", "30")
    assert await account_of(database, "E-1") == {"balance": 0, "earned": 0, "redeemed": 0, "expired": 30}
    await assert_reconciled(database)


async def test_a_dry_run_counts_what_it_would_open_and_writes_nothing(client_api, database):
    before = await table_counts(database)

    job = await import_opening(client_api, OPENING + "M-1,REGULAR,1,2026-10-31T18:30:00Z,\n", dryRun="true")

    assert {
        key: job[key] for key in ("dryRun", "rowsImported", "rowsRejected", "customersCreated", "pointsImported")
    } == {
        "dryRun": True,
        "rowsImported": 3,
        "rowsRejected": 1,
        "customersCreated": 2,
        "pointsImported": "615",
    }
    assert [(item["rowNumber"], item["code"], item["message"]) for item in job["rejects"]["rejects"]] == [
        (5, "OPENING_BALANCE_EXISTS", "'M-1' has an opening balance in program main category REGULAR already")
    ]
    after = await table_counts(database)
    report = ("import_jobs", "import_rejects")
    assert {table: count for table, count in after.items() if table not in report} == {
        table: count for table, count in before.items() if table not in report
    }


async def test_the_cli_imports_opening_balances_once(database, org, tmp_path, monkeypatch, clock):
    from app.cli.main import cli
    from app.kernel.settings import get_settings

    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    get_settings.cache_clear()
    path, again_path = tmp_path / "opening.csv", tmp_path / "opening-again.csv"
    path.write_text(OPENING)
    header, *rows = OPENING.splitlines(keepends=True)
    again_path.write_text(header + "".join(reversed(rows)))  # another file: the job machinery runs it
    try:
        arguments = ["import", "opening-balances", "--org", "acme", "--program", "main"]
        result = await asyncio.to_thread(CliRunner().invoke, cli, [*arguments, str(path)], obj=clock)
        again = await asyncio.to_thread(CliRunner().invoke, cli, [*arguments, str(again_path)], obj=clock)
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "DONE: 3 imported, 0 rejected of 3 rows" in result.output
    assert again.exit_code == 0, again.output
    assert "DONE: 0 imported, 3 rejected of 3 rows" in again.output
    assert await count_events(database, EventType.POINTS_LEDGER_BULK_JOB) == 3
    await assert_reconciled(database)


async def test_a_file_of_many_customers_opens_each_exactly(client_api, database):
    # 600 rows: each table's batch is past COPY_ROWS_MIN, so PostgreSQL writes them with COPY.
    body = "customerprofileid,balance,asof\n" + "".join(
        f"MANY-{number},{number + 1},2026-10-31T18:30:00Z\n" for number in range(600)
    )

    job = await import_opening(client_api, body)

    assert (job["status"], job["rowsImported"], job["customersCreated"]) == ("DONE", 600, 600)
    assert job["pointsImported"] == str(600 * 601 // 2)
    assert await count_events(database, EventType.POINTS_LEDGER_BULK_JOB) == 600
    for number in (0, 299, 599):
        assert await account_of(database, f"MANY-{number}") == {
            "balance": number + 1,
            "earned": 0,
            "redeemed": 0,
            "expired": 0,
        }
        assert await opening_entries(database, f"MANY-{number}") == [
            ("REGULAR", "OPENING_BALANCE", number + 1, number + 1, at("2026-10-31T18:30:00"), None)
        ]
    await assert_reconciled(database)
