"""The one-hop SQLite driver (app/storage/sqlite_driver.py): one trip to aiosqlite's worker thread
per statement, and everything SQLAlchemy reads from a cursor still right.

The driver relies on aiosqlite's private `Connection._execute` and `_conn`; these tests fail
first when an aiosqlite or SQLAlchemy release changes what it relies on.
"""

from __future__ import annotations

import asyncio
import sqlite3

import aiosqlite
import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from app.storage.database import SQLITE_BUSY_TIMEOUT_MS
from app.storage.sqlite_driver import INLINE_COMMITS_PER_CHECKPOINT, ReaderConnection
from tests.sqlite_databases import (
    THINGS_METADATA,
    cancel_once_started,
    sqlite3_connection_of,
    sqlite_database_of,
    things,
)


@pytest.fixture
async def sqlite_database(tmp_path):
    async with sqlite_database_of(tmp_path / "driver.db", THINGS_METADATA) as database:
        yield database


@pytest.fixture
def worker_calls(monkeypatch):
    """Every call aiosqlite's connection sends to its worker thread."""
    calls = []
    send = aiosqlite.Connection._execute

    async def counted(self, function, *args, **kwargs):
        calls.append(function.__name__)
        return await send(self, function, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


def test_the_engines_use_the_one_hop_driver(sqlite_database):
    assert sqlite_database.read_engine.dialect.driver == "pointledger_aiosqlite"
    assert sqlite_database.write_engine.dialect.driver == "pointledger_aiosqlite"


async def test_a_statement_is_one_trip_to_the_worker_thread(sqlite_database, worker_calls):
    async def write(connection):
        await connection.execute(insert(things), [{"name": "a"}, {"name": "b"}])
        return (await connection.execute(insert(things).values(name="c").returning(things.c.id))).scalar_one()

    await sqlite_database.run_write(write)
    async with sqlite_database.read() as connection:  # the read pool's connection exists from here on
        await connection.execute(select(things.c.id))
    worker_calls.clear()

    async with sqlite_database.read() as connection:
        names = (await connection.execute(select(things.c.name).order_by(things.c.id))).scalars().all()

    assert names == ["a", "b", "c"]
    # Only the SELECT: a read's deferred BEGIN and its ROLLBACK run on the event loop's thread.
    assert worker_calls == ["_run_statement"]


async def test_a_read_begins_and_ends_its_snapshot_without_the_worker_thread(sqlite_database, worker_calls):
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="a")))
    async with sqlite_database.read() as connection:
        await connection.execute(select(things.c.id))
    worker_calls.clear()

    async with sqlite_database.read() as reading:
        before = (await reading.execute(select(things.c.name))).scalars().all()
        await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="b")))
        during = (await reading.execute(select(things.c.name))).scalars().all()
    async with sqlite_database.read() as connection:
        after = (await connection.execute(select(things.c.name).order_by(things.c.id))).scalars().all()

    # One snapshot for the whole read (BEGIN held it), ended by the ROLLBACK (the next read sees the write).
    assert (before, during, after) == (["a"], ["a"], ["a", "b"])
    # The reads' three SELECTs and the write's BEGIN IMMEDIATE, INSERT and commit: no read's BEGIN or ROLLBACK.
    assert worker_calls == ["_run_statement"] * 3 + ["commit"] + ["_run_statement"] * 2


async def test_a_read_cancelled_during_its_select_ends_on_the_worker_thread_and_its_connection_stays_usable(
    sqlite_database, worker_calls, monkeypatch
):
    # The SELECT goes on in the worker thread after its task is cancelled (as at the request time
    # limit). SQLAlchemy then invalidates the connection: it is closed on that thread, queued behind
    # the SELECT, and no ROLLBACK runs on the loop's thread beside a statement still running.
    slow = text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT count(*) FROM c"
    )
    async with sqlite_database.read() as connection:  # the read pool's connection exists from here on
        await connection.execute(select(things.c.id))
    worker_calls.clear()
    inline_rollbacks = []
    roll_back = ReaderConnection.rollback
    monkeypatch.setattr(ReaderConnection, "rollback", lambda self: inline_rollbacks.append(1) or roll_back(self))

    async def read_slowly(started: asyncio.Event) -> None:
        async with sqlite_database.read() as connection:
            started.set()
            await connection.execute(slow)

    await cancel_once_started(read_slowly, after_seconds=0.05)
    async with sqlite_database.read() as connection:  # the pool's one connection again
        names = (await connection.execute(select(things.c.name))).scalars().all()

    assert names == []
    assert worker_calls[:2] == ["_run_statement", "close"]  # then the next read's new connection
    assert len(inline_rollbacks) == 1  # the next read's, not the cancelled one's


async def test_rows_rowcount_and_lastrowid_come_back_as_sqlalchemy_reads_them(sqlite_database):
    async def write(connection):
        many = await connection.execute(insert(things), [{"name": "a"}, {"name": "b"}, {"name": "c"}])
        returned = (
            await connection.execute(insert(things).values(name="d").returning(things.c.id, things.c.name))
        ).one()
        single = await connection.execute(insert(things).values(name="e"))
        changed = await connection.execute(update(things).where(things.c.id <= 2).values(name=things.c.name + "!"))
        return many.rowcount, tuple(returned), single.inserted_primary_key, changed.rowcount

    many, returned, inserted_key, changed = await sqlite_database.run_write(write)
    async with sqlite_database.read() as connection:
        result = await connection.execute(select(things).order_by(things.c.id))
        keys, rows = list(result.keys()), [tuple(row) for row in result]

    assert (many, returned, tuple(inserted_key), changed) == (3, (4, "d"), (5,), 2)
    assert keys == ["id", "name"]
    assert rows == [(1, "a!"), (2, "b!"), (3, "c"), (4, "d"), (5, "e")]


async def test_a_failed_statement_raises_the_dbapi_error_and_leaves_the_writer_usable(sqlite_database):
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="a")))

    with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: things\.name"):
        await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="a")))
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="b")))

    async with sqlite_database.read() as connection:
        assert (await connection.execute(select(things.c.name).order_by(things.c.id))).scalars().all() == ["a", "b"]


async def test_a_brief_write_runs_begin_its_statements_and_commit_inline_with_no_trip_to_the_thread(
    sqlite_database, worker_calls
):
    async def write(connection):
        await connection.execute(insert(things), [{"name": "a"}, {"name": "b"}])
        inserted = (await connection.execute(insert(things).values(name="c").returning(things.c.id))).scalar_one()
        names = (await connection.execute(select(things.c.name).order_by(things.c.id))).scalars().all()
        return inserted, names

    await sqlite_database.run_write(lambda connection: connection.execute(select(things.c.id)))  # connected
    worker_calls.clear()

    inserted, names = await sqlite_database.run_write(write, brief=True)

    assert (inserted, names) == (3, ["a", "b", "c"])
    assert worker_calls == []  # BEGIN IMMEDIATE took the free write lock inline; COMMIT too
    worker_calls.clear()
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="d")))
    assert worker_calls == ["_run_statement", "_run_statement", "commit"]  # not brief: each statement goes


async def test_a_brief_write_that_fails_inline_rolls_back_and_leaves_the_writer_usable(sqlite_database):
    async def write_twice(connection):
        await connection.execute(insert(things).values(name="b"))
        await connection.execute(insert(things).values(name="a"))

    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="a")))

    with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: things\.name"):
        await sqlite_database.run_write(write_twice, brief=True)
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="c")), brief=True)

    async with sqlite_database.read() as connection:
        assert (await connection.execute(select(things.c.name).order_by(things.c.id))).scalars().all() == ["a", "c"]


async def test_a_brief_write_waits_on_the_thread_for_a_write_lock_another_connection_holds(
    sqlite_database, worker_calls, tmp_path
):
    await sqlite_database.run_write(lambda connection: connection.execute(select(things.c.id)))  # connected
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO things (name) VALUES ('other')")
    worker_calls.clear()
    sent: list[str] = []  # every statement the writer's sqlite3 connection starts, on any thread
    raw = sqlite3_connection_of(sqlite_database._writer)._connection._conn  # type: ignore[attr-defined]
    raw.set_trace_callback(sent.append)

    write = asyncio.create_task(
        sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="a")), brief=True)
    )
    while "_run_statement" not in worker_calls:  # noqa: ASYNC110 (the inline try found the lock taken: BEGIN went to the thread)
        await asyncio.sleep(0.01)
    assert not write.done()
    other.execute("COMMIT")
    other.close()
    await write

    # BEGIN waited on the thread (the busy timeout), the INSERT and the commit ran inline: one
    # try without waiting (busy timeout 0, put back), then the BEGIN that waited
    raw.set_trace_callback(None)
    assert worker_calls == ["_run_statement"]
    begun = [statement for statement in sent if statement.startswith(("BEGIN", "PRAGMA busy_timeout"))]
    assert begun == [
        "PRAGMA busy_timeout",  # read once, on the writer's first try
        "PRAGMA busy_timeout=0",
        "BEGIN IMMEDIATE",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "BEGIN IMMEDIATE",
    ]
    async with sqlite_database.read() as connection:
        assert (await connection.execute(select(things.c.name).order_by(things.c.id))).scalars().all() == [
            "other",
            "a",
        ]
    busy_timeout = await sqlite_database.run_write(
        lambda connection: connection.exec_driver_sql("PRAGMA busy_timeout"), brief=True
    )
    assert busy_timeout.scalar_one() == SQLITE_BUSY_TIMEOUT_MS  # the inline try's 0 was put back


async def test_inline_commits_leave_the_wal_checkpoint_to_the_thread_once_every_so_many(sqlite_database, worker_calls):
    await sqlite_database.run_write(lambda connection: connection.execute(select(things.c.id)))  # connected
    worker_calls.clear()

    for number in range(2 * INLINE_COMMITS_PER_CHECKPOINT):
        await sqlite_database.run_write(
            lambda connection, number=number: connection.execute(insert(things).values(name=f"n{number}")),
            brief=True,
        )

    assert worker_calls == ["_checkpoint", "_checkpoint"]
    async with sqlite_database.read() as connection:
        count = (await connection.execute(select(func.count()).select_from(things))).scalar_one()
    assert count == 2 * INLINE_COMMITS_PER_CHECKPOINT

    async def autocheckpoint(connection) -> int:
        return (await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one()

    # SQLite's own checkpoint is off while inline commits count them, and on again (its default)
    # once a write commits through the thread
    assert await sqlite_database.run_write(autocheckpoint, brief=True) == 0
    assert await sqlite_database.run_write(autocheckpoint) == 0
    assert await sqlite_database.run_write(autocheckpoint) == 1000
