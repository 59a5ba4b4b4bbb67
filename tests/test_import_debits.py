"""Imports that debit (issue 16, seed 003's "Imports for points redemption or expiry"): historic
redemptions and expiries as rows of the POINTS_DEBITS profile, taking the customers' lots as a
live redemption or expiry would, refused per row when the balance would go negative."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from app.customers.models import CustomerIdentifier
from app.imports.models import ImportProfile
from app.ledger import repository as ledger_repository
from app.ledger.models import EventType
from tests.client import Api
from tests.conftest import make_org, org_spec
from tests.import_checks import finished, post_csv, post_file, statements_to_run
from tests.ledger_checks import assert_reconciled, count_events
from tests.snapshots import table_counts

accounts, lots, entries, events = (
    ledger_repository.accounts,
    ledger_repository.lots,
    ledger_repository.entries,
    ledger_repository.events,
)
movements = ledger_repository.movements
identifiers = CustomerIdentifier.__table__

# A: 180 points in three lots; B: 40 points.
CREDITS = (
    b"customerprofileid,amount,startdate,expirydate\n"
    b"A-1,100,2026-01-01T00:00:00Z,2027-06-30T00:00:00Z\n"
    b"A-1,50,2026-01-01T00:00:00Z,\n"
    b"A-1,30,2026-02-01T00:00:00Z,2027-03-31T00:00:00Z\n"
    b"B-1,40,2026-01-01T00:00:00Z,2026-12-31T00:00:00Z\n"
)
DEBITS = (
    "customerprofileid,type,amount,date,reason\n"
    "A-1,REDEMPTION,120,2026-10-01T10:00:00Z,till 7\n"
    "B-1,redemption,30,2026-10-02T00:00:00Z,\n"
    "B-1,REDEMPTION,20,2026-10-03T00:00:00Z,\n"
    "NOBODY,REDEMPTION,5,,\n"
    "A-1,GIFT,5,,\n"
    "A-1,EXPIRY,10,2027-01-01T00:00:00Z,\n"
)


async def import_debits(api: Api, body: str, **params: str) -> dict[str, Any]:
    response = await post_file(api, "/imports/points-debits", body, program="main", **params)
    assert response.status_code == 202, response.text
    return await finished(api, str(response.json()["job"]["id"]))


async def import_credits(api: Api, body: bytes) -> None:
    job = await finished(api, str((await post_csv(api, body)).json()["job"]["id"]))
    assert (job["status"], job["rowsRejected"]) == ("DONE", 0)


async def account_of(database: Any, external_id: str) -> dict[str, Decimal]:
    """The customer's REGULAR main account: balance and counters."""
    async with database.read() as connection:
        row = (
            await connection.execute(
                select(accounts.c.balance, accounts.c.earned, accounts.c.redeemed, accounts.c.expired)
                .join(identifiers, identifiers.c.customer_id == accounts.c.customer_id)
                .where(identifiers.c.value == external_id, accounts.c.category == "REGULAR")
            )
        ).one()
    return {"balance": row.balance, "earned": row.earned, "redeemed": row.redeemed, "expired": row.expired}


async def lots_left(database: Any, external_id: str) -> list[tuple[Decimal, Decimal]]:
    """The customer's lots in id order: (points, points remaining)."""
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(lots.c.points, lots.c.points_remaining)
                .join(accounts, accounts.c.id == lots.c.account_id)
                .join(identifiers, identifiers.c.customer_id == accounts.c.customer_id)
                .where(identifiers.c.value == external_id)
                .order_by(lots.c.id)
            )
        ).all()
    return [(row.points, row.points_remaining) for row in rows]


async def imported_debits(database: Any, external_id: str) -> list[tuple[Any, ...]]:
    """The customer's imported debits in id order: (entry kind, points, balance after, date,
    reason, the lots taken as (lot's points, points taken))."""
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(
                    entries.c.id,
                    entries.c.entry_kind,
                    entries.c.points,
                    entries.c.balance_after,
                    entries.c.created_at,
                    events.c.reason,
                )
                .join(events, events.c.id == entries.c.event_id)
                .join(identifiers, identifiers.c.customer_id == entries.c.customer_id)
                .where(
                    identifiers.c.value == external_id,
                    entries.c.event_type == EventType.POINTS_IMPORT.value,
                    entries.c.entry_type == "DEBIT",
                )
                .order_by(entries.c.id)
            )
        ).all()
        taken = (
            await connection.execute(
                select(movements.c.entry_id, lots.c.points, movements.c.points)
                .join(lots, lots.c.id == movements.c.lot_id)
                .where(movements.c.entry_id.in_([row.id for row in rows]))
                .order_by(movements.c.id)
            )
        ).all()
    return [
        (
            row.entry_kind,
            row.points,
            row.balance_after,
            row.created_at,
            row.reason,
            [(lot_points, -moved) for entry_id, lot_points, moved in taken if entry_id == row.id],
        )
        for row in rows
    ]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- Redemptions ------------------------------------------------------------------------------


async def test_historic_redemptions_take_the_first_expiring_lots_and_refuse_what_the_balance_lacks(
    client_api, database
):
    await import_credits(client_api, CREDITS)

    job = await import_debits(client_api, DEBITS)

    assert {key: job[key] for key in ("status", "rowsRead", "rowsImported", "rowsRejected", "pointsImported")} == {
        "status": "DONE",
        "rowsRead": 6,
        "rowsImported": 2,
        "rowsRejected": 4,
        "pointsImported": "150",
    }
    assert [(item["rowNumber"], item["column"], item["code"]) for item in job["rejects"]["rejects"]] == [
        (4, "amount", "INSUFFICIENT_POINTS"),
        (5, "customerprofileid", "CUSTOMER_NOT_FOUND"),
        (6, "type", "INVALID_TYPE"),
        (7, "date", "INVALID_DATE"),
    ]
    assert job["rejects"]["rejects"][0]["message"] == (
        "the balance is 10 points, fewer than the 20 debited (program main allows no negative balance)"
    )
    # A's 120: the lot expiring first (30), then the next (90 of 100); the never-expiring lot is untouched.
    assert await imported_debits(database, "A-1") == [
        ("POINTS_REDEMPTION", Decimal(120), Decimal(60), at("2026-10-01T10:00:00"), "till 7", [(30, 30), (100, 90)])
    ]
    assert await lots_left(database, "A-1") == [(100, 10), (50, 50), (30, 0)]
    assert await account_of(database, "A-1") == {"balance": 60, "earned": 180, "redeemed": 120, "expired": 0}
    assert await imported_debits(database, "B-1") == [
        ("POINTS_REDEMPTION", Decimal(30), Decimal(10), at("2026-10-02T00:00:00"), None, [(40, 30)])
    ]
    assert await account_of(database, "B-1") == {"balance": 10, "earned": 40, "redeemed": 30, "expired": 0}
    await assert_reconciled(database)


async def test_an_expiry_takes_the_lots_past_their_date_first_and_a_redemption_the_spendable_ones(
    client_api, database, clock
):
    await import_credits(
        client_api,
        b"customerprofileid,amount,startdate,expirydate\n"
        b"C-1,20,2026-01-01T00:00:00Z,2026-12-10T00:00:00Z\n"
        b"C-1,50,2026-01-01T00:00:00Z,2026-12-01T00:00:00Z\n"
        b"C-1,40,2026-01-01T00:00:00Z,\n",
    )
    clock.set(at("2026-12-20T00:00:00"))  # both dated lots are past their date; the expiry run has not run

    job = await import_debits(
        client_api,
        "customerprofileid,type,amount,date\n"
        "C-1,REDEMPTION,10,2026-12-11T00:00:00Z\n"
        "C-1,EXPIRY,60,2026-12-11T00:00:00Z\n",
    )

    assert (job["status"], job["rowsImported"], job["rowsRejected"], job["pointsImported"]) == ("DONE", 2, 0, "70")
    assert await imported_debits(database, "C-1") == [
        ("POINTS_REDEMPTION", Decimal(10), Decimal(100), at("2026-12-11T00:00:00"), None, [(40, 10)]),
        ("POINTS_EXPIRY", Decimal(60), Decimal(40), at("2026-12-11T00:00:00"), None, [(50, 50), (20, 10)]),
    ]
    assert await lots_left(database, "C-1") == [(20, 10), (50, 0), (40, 30)]
    assert await account_of(database, "C-1") == {"balance": 40, "earned": 110, "redeemed": 10, "expired": 60}
    await assert_reconciled(database)


async def test_a_program_that_allows_negative_balances_takes_the_debit_below_zero_and_a_later_credit_pays_it(
    client_api, database, clock
):
    spec = org_spec("lenient")
    spec["programs"][0]["allow_negative_balance"] = True
    lenient = Api(client_api.client, await make_org(database, spec), database, clock)
    await import_credits(lenient, b"customerprofileid,amount,startdate\nN-1,25,2026-10-01T00:00:00Z\n")

    job = await import_debits(lenient, "customerprofileid,type,amount,date\nN-1,REDEMPTION,40,2026-11-01T00:00:00Z\n")

    assert (job["status"], job["rowsImported"], job["rowsRejected"]) == ("DONE", 1, 0)
    # The lot gives what it holds; the rest is the debt.
    assert await imported_debits(database, "N-1") == [
        ("POINTS_REDEMPTION", Decimal(40), Decimal(-15), at("2026-11-01T00:00:00"), None, [(25, 25)])
    ]
    await import_credits(lenient, b"customerprofileid,amount\nN-1,20\n")
    assert await lots_left(database, "N-1") == [(25, 0), (20, 5)]
    assert (await account_of(database, "N-1"))["balance"] == 5
    await assert_reconciled(database)


async def test_rows_are_judged_in_file_order_on_what_the_earlier_rows_left(client_api, database):
    await import_credits(client_api, b"customerprofileid,amount\nD-1,50\n")

    job = await import_debits(
        client_api,
        "customerprofileid,type,amount\nD-1,REDEMPTION,30\nD-1,REDEMPTION,30\nD-1,EXPIRY,20\n",
    )

    assert [(item["rowNumber"], item["code"]) for item in job["rejects"]["rejects"]] == [(3, "INSUFFICIENT_POINTS")]
    assert await account_of(database, "D-1") == {"balance": 0, "earned": 50, "redeemed": 30, "expired": 20}
    await assert_reconciled(database)


# --- The job machinery ---------------------------------------------------------------------------


async def test_a_dry_run_reports_the_same_rejects_and_writes_nothing(client_api, database):
    await import_credits(client_api, CREDITS)
    before = await table_counts(database)

    job = await import_debits(client_api, DEBITS, dryRun="true")

    assert (job["dryRun"], job["rowsImported"], job["rowsRejected"], job["pointsImported"]) == (True, 2, 4, "150")
    assert [(item["rowNumber"], item["code"]) for item in job["rejects"]["rejects"]] == [
        (4, "INSUFFICIENT_POINTS"),
        (5, "CUSTOMER_NOT_FOUND"),
        (6, "INVALID_TYPE"),
        (7, "INVALID_DATE"),
    ]
    after = await table_counts(database)
    report = ("import_jobs", "import_rejects")  # the job and its rejects are its report
    assert {table: count for table, count in after.items() if table not in report} == {
        table: count for table, count in before.items() if table not in report
    }
    assert await account_of(database, "A-1") == {"balance": 180, "earned": 180, "redeemed": 0, "expired": 0}


async def test_the_rejects_download_names_each_refused_row_and_its_reason(client_api, database):
    await import_credits(client_api, CREDITS)
    job = await import_debits(client_api, DEBITS)

    response = await client_api.client.get(
        f"/imports/{job['id']}/rejects.csv", headers={"Authorization": client_api.credentials.header}
    )

    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0].startswith("customerprofileid,type,amount,date,reason,")
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["B-1", "REDEMPTION"],
        ["NOBODY", "REDEMPTION"],
        ["A-1", "GIFT"],
        ["A-1", "EXPIRY"],
    ]


async def test_the_cli_imports_debits(database, org, tmp_path, monkeypatch, clock, client_api):
    from app.cli.main import cli
    from app.kernel.settings import get_settings

    await import_credits(client_api, CREDITS)
    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    get_settings.cache_clear()
    path = tmp_path / "debits.csv"
    path.write_text(DEBITS)
    try:
        arguments = ["import", "debits", str(path), "--org", "acme", "--program", "main"]
        result = await asyncio.to_thread(CliRunner().invoke, cli, arguments, obj=clock)
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "DONE: 2 imported, 4 rejected of 6 rows" in result.output
    assert (await account_of(database, "A-1"))["balance"] == 60
    await assert_reconciled(database)


async def test_the_statements_a_job_sends_do_not_grow_with_its_rows(database, org, client_api, tmp_path: Path):
    customers = [f"S-{number}" for number in range(60)]
    await import_credits(
        client_api,
        b"customerprofileid,amount,expirydate\n"
        + b"".join(f"{key},10,2027-01-31T00:00:00Z\n{key},10,\n".encode() for key in customers),
    )
    few, many = tmp_path / "few.csv", tmp_path / "many.csv"
    few.write_text("customerprofileid,type,amount\n" + "".join(f"{key},REDEMPTION,15\n" for key in customers[:3]))
    many.write_text("customerprofileid,type,amount\n" + "".join(f"{key},REDEMPTION,15\n" for key in customers[3:]))
    configuration = {"program_code": "main"}

    few_statements = await statements_to_run(database, org.org_id, ImportProfile.POINTS_DEBITS, configuration, few)
    many_statements = await statements_to_run(database, org.org_id, ImportProfile.POINTS_DEBITS, configuration, many)

    assert many_statements == few_statements
    assert await count_events(database, EventType.POINTS_IMPORT) == 120 + 60
    assert await lots_left(database, "S-59") == [(10, 0), (10, 5)]
    await assert_reconciled(database)
