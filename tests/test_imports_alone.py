"""An import that runs alone keeps its transactions open to the batch's end (fewer, larger
commits, no pause), as `pointledger import` runs (RunOptions.longer_when_alone); a writer that
comes to wait for the lock, of another Database or process (app/storage/waiting_writers.py) or
of the same Database, ends the import's transaction once its time is up, as without the option.
PostgreSQL cannot tell whether a writer waits: its import keeps its time limit."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from app.http.app import create_app
from app.imports import service
from app.imports.models import JobStatus
from app.kernel.settings import Settings
from app.storage.database import Database
from tests.client import Api, post_at_once
from tests.conftest import POSTGRES_URL, stop_background_work
from tests.documents import ADD_TRANSACTION
from tests.factories import bill
from tests.import_checks import balances, submit_local
from tests.ledger_checks import assert_reconciled
from tests.test_imports_beside_bills import SteppingTimer, points_file

SQLITE_ONLY = pytest.mark.skipif(
    bool(POSTGRES_URL), reason="SQLite's file lock: PostgreSQL has no waiting writers to see"
)


async def test_alone_an_import_transaction_runs_past_its_time_to_its_batch_end_and_never_pauses(
    database, org, tmp_path, clock
):
    expected = points_file(tmp_path / "points.csv", rows=5_000, customers=300)
    job = await submit_local(database, org.org_id, tmp_path / "points.csv")
    progress: list[int] = []
    paused_after: list[int] = []
    # A second a timer read, 0.5 s allowed: each transaction's time is up after its first chunk.
    options = service.RunOptions(
        batch_size=2_000,
        transaction_max_ms=500,
        timer=SteppingTimer(),
        on_progress=lambda current: progress.append(current.rows_read),
        on_pause=paused_after.append,
        longer_when_alone=True,
    )

    ended = await service.run_job(database, job.id, options, clock=clock)

    if database.is_sqlite:  # nobody waits: whole batches, no pause
        assert (progress, paused_after) == ([2_000, 4_000, 5_000], [])
    else:  # the time limit as always
        assert (progress, paused_after) == ([1_000, 2_000, 3_000, 4_000, 5_000], [])
    assert (ended.status, ended.rows_imported, ended.points_imported) == (JobStatus.DONE, 5_000, Decimal(24_990))
    assert await balances(database, org.org_id) == expected
    await assert_reconciled(database)


@SQLITE_ONLY
async def test_a_writer_waiting_in_another_database_or_in_line_in_the_same_one_is_seen(database):
    other = Database(database.url, pool_size=1, busy_timeout_ms=5000)
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold_the_lock(connection) -> None:
        await connection.execute(text("SELECT 1"))
        holding.set()
        await release.wait()

    async def write(connection) -> int:
        return (await connection.execute(text("SELECT 2"))).scalar_one()

    try:
        holder = asyncio.create_task(database.run_write(hold_the_lock))
        await holding.wait()
        assert database.writer_waiting() is False
        # Another Database (another process's, as far as SQLite knows): waits at the file lock.
        waiting = asyncio.create_task(other.run_write(write))
        for _ in range(200):
            if database.writer_waiting():
                break
            await asyncio.sleep(0.01)
        assert database.writer_waiting() is True
        assert not waiting.done()
        release.set()
        assert (await holder, await waiting) == (None, 2)
        assert database.writer_waiting() is False

        # The same Database: a write in line for its turn.
        holding.clear()
        release.clear()
        holder = asyncio.create_task(database.run_write(hold_the_lock))
        await holding.wait()
        queued = asyncio.create_task(database.run_write(write))
        await asyncio.sleep(0.05)
        assert database.writer_waiting() is True
        release.set()
        assert (await holder, await queued) == (None, 2)
        assert database.writer_waiting() is False
    finally:
        release.set()
        await other.dispose()


@SQLITE_ONLY
async def test_an_import_running_longer_when_alone_beside_200_bills_fails_none_and_pauses_for_them(
    database, org, tmp_path, clock
):
    expected = points_file(tmp_path / "points.csv", rows=20_000, customers=2_000)
    job = await submit_local(database, org.org_id, tmp_path / "points.csv")
    # The server's database: its own writer, which waits at most 5 s for the file lock (2 s failed
    # a bill once on a machine running two test suites and a 5,000,000-row import besides: a
    # waiting bill polls the lock and can miss the import's pauses). Without the pauses (no
    # waiting writer seen), the import would write the file in one transaction: `paused_after`.
    server_database = Database(database.url, pool_size=5, busy_timeout_ms=5000)
    app = create_app(Settings(database_url=database.url), database=server_database, clock=clock)
    paused_after: list[int] = []
    importing = asyncio.create_task(
        service.run_job(
            database,
            job.id,
            service.RunOptions(batch_size=100_000, on_pause=paused_after.append, longer_when_alone=True),
            clock=clock,
        )
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=120
        ) as client:
            results = await post_at_once(
                Api(client, org, server_database, clock), ADD_TRANSACTION, [bill() for _ in range(200)]
            )
        ended = await importing
    finally:
        await stop_background_work(app)
        await server_database.dispose()

    assert [result["__typename"] for result in results] == ["TransactionAdded"] * 200
    assert paused_after  # for the bills waiting: alone, it would have run in one transaction
    assert (ended.status, ended.rows_imported, ended.rows_rejected) == (JobStatus.DONE, 20_000, 0)
    assert ended.points_imported == sum(expected.values()) == 99_993
    assert await balances(database, org.org_id) == expected
    await assert_reconciled(database)


async def test_a_dry_run_checks_2000_rows_at_a_time_whatever_the_batch_size(database, org, tmp_path, clock):
    # A check reads its rows at once (as lists of parameters): the CLI's 20,000-row batches must
    # not make its lists longer than PostgreSQL takes.
    points_file(tmp_path / "points.csv", rows=5_000, customers=300)
    job = await submit_local(database, org.org_id, tmp_path / "points.csv", dry_run=True)
    progress: list[int] = []
    options = service.RunOptions(
        batch_size=20_000, on_progress=lambda current: progress.append(current.rows_read), longer_when_alone=True
    )

    ended = await service.run_job(database, job.id, options, clock=clock)

    assert progress == [2_000, 4_000, 5_000]
    assert (ended.status, ended.dry_run, ended.rows_imported, ended.customers_created) == (
        JobStatus.DONE,
        True,
        5_000,
        300,
    )
    assert await balances(database, org.org_id) == {}
