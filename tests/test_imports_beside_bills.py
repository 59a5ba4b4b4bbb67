"""A bulk import yields to online writes: its write transactions end after a time limit whatever
the batch size, and bills posted while it runs all succeed.

The import runs as `pointledger import points` runs it, through its own Database (its own
writer connection, as the command's own process has): on SQLite the two writers then meet at
the file lock, where the server's writer waits at most its busy timeout before it fails with
"database is locked". Here that timeout is 2 s (10 s in production), so an import transaction
that held the lock longer, or that kept taking it back before a waiting bill could, fails a bill
within the test's few seconds (1 s failed bills on a machine loaded 4-6 times over its cores: a
waiting bill polls the lock, and there it can miss the import's 110 ms pause). An import that
ignored its time limit would write the file in one transaction, which the batch count catches.
"""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path

import httpx

from app.http.app import create_app
from app.imports import service
from app.imports.models import JobStatus
from app.kernel.settings import Settings
from app.storage.database import Database
from tests.client import Api, post_at_once
from tests.conftest import stop_background_work
from tests.documents import ADD_TRANSACTION
from tests.factories import bill
from tests.import_checks import balances, submit_local
from tests.ledger_checks import assert_reconciled


def points_file(path: Path, rows: int, customers: int) -> dict[str, Decimal]:
    """A TALON_ONE_POINTS file; returns the points each customer should hold after it."""
    expected: dict[str, Decimal] = {}
    lines = ["customerprofileid,amount"]
    for index in range(rows):
        customer, amount = f"C-{index % customers}", index % 9 + 1
        lines.append(f"{customer},{amount}")
        expected[customer] = expected.get(customer, Decimal(0)) + amount
    path.write_text("\n".join(lines) + "\n")
    return expected


async def test_an_import_with_a_huge_batch_size_beside_200_bills_fails_none_and_imports_exactly(
    database, org, tmp_path, clock
):
    expected = points_file(tmp_path / "points.csv", rows=20_000, customers=2_000)
    job = await submit_local(database, org.org_id, tmp_path / "points.csv")
    # The server's database: its own writer, which waits at most 2 s for the file lock.
    server_database = Database(database.url, pool_size=5, busy_timeout_ms=2000)
    app = create_app(Settings(database_url=database.url), database=server_database, clock=clock)
    bills_done = asyncio.Event()
    batches_while_billing = itertools.count()

    def committed(_: int) -> None:
        if not bills_done.is_set():
            next(batches_while_billing)

    importing = asyncio.create_task(
        service.run_job(database, job.id, service.RunOptions(batch_size=100_000, after_batch=committed), clock=clock)
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=120
        ) as client:
            results = await post_at_once(
                Api(client, org, server_database, clock), ADD_TRANSACTION, [bill() for _ in range(200)]
            )
            bills_done.set()
        ended = await importing
    finally:
        await stop_background_work(app)
        await server_database.dispose()

    assert [result["__typename"] for result in results] == ["TransactionAdded"] * 200
    assert next(batches_while_billing) >= 2  # the import went on while the bills were posted
    assert (ended.status, ended.rows_imported, ended.rows_rejected) == (JobStatus.DONE, 20_000, 0)
    assert ended.points_imported == sum(expected.values()) == 99_993
    assert await balances(database, org.org_id) == expected
    await assert_reconciled(database)


class SteppingTimer:
    """A monotonic time source that moves `step_seconds` each time it is read."""

    def __init__(self, step_seconds: float = 1.0) -> None:
        self.step_seconds = step_seconds
        self.seconds = 0.0

    def __call__(self) -> float:
        self.seconds += self.step_seconds
        return self.seconds


async def test_a_batch_ends_when_its_transaction_time_is_up_whatever_its_row_count(database, org, tmp_path, clock):
    expected = points_file(tmp_path / "points.csv", rows=5_000, customers=300)
    job = await submit_local(database, org.org_id, tmp_path / "points.csv")
    progress: list[int] = []
    # Each transaction reads the timer as it starts and after each chunk of 1,000 rows: with 1.5 s
    # allowed and a second a read, it takes two chunks, 2,000 rows, of the 100,000 it may hold.
    options = service.RunOptions(
        batch_size=100_000,
        transaction_max_ms=1500,
        timer=SteppingTimer(),
        on_progress=lambda current: progress.append(current.rows_read),
    )

    ended = await service.run_job(database, job.id, options, clock=clock)

    assert progress == [2_000, 4_000, 5_000]
    assert (ended.status, ended.rows_imported, ended.points_imported) == (JobStatus.DONE, 5_000, Decimal(24_990))
    assert await balances(database, org.org_id) == expected
    await assert_reconciled(database)


async def test_sqlite_pauses_once_the_imports_transactions_have_held_the_lock_for_their_time(
    database, org, tmp_path, clock
):
    expected = points_file(tmp_path / "points.csv", rows=5_000, customers=300)
    job = await submit_local(database, org.org_id, tmp_path / "points.csv")
    progress: list[int] = []
    paused_after: list[int] = []
    # Batches of one chunk; the timer is read as a transaction starts and after its chunk, so each
    # holds the lock 0.2 s and the next starts 0.2 s later: with 0.5 s allowed, the second
    # transaction of each window runs out of time and the import pauses after it.
    options = service.RunOptions(
        batch_size=1_000,
        transaction_max_ms=500,
        timer=SteppingTimer(0.2),
        on_progress=lambda current: progress.append(current.rows_read),
        on_pause=paused_after.append,
    )

    ended = await service.run_job(database, job.id, options, clock=clock)

    assert progress == [1_000, 2_000, 3_000, 4_000, 5_000]
    assert paused_after == ([2, 4] if database.is_sqlite else [])
    assert (ended.status, ended.rows_imported, ended.points_imported) == (JobStatus.DONE, 5_000, Decimal(24_990))
    assert await balances(database, org.org_id) == expected
    await assert_reconciled(database)
