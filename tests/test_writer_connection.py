"""SQLite's one writer keeps its connection between writes (app/storage/database.py,
`Database._sqlite_writer`): every write, brief or not, runs on the same connection; a write that
fails or is cancelled leaves it clean for the next; a connection whose transaction could not end
is replaced; the pool-use metric counts the writer in use only while a write runs."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from app.storage import sqlite_driver
from app.storage.sqlite_driver import InlineConnection
from tests.sqlite_databases import THINGS_METADATA, sqlite3_connection_of, sqlite_database_of, things


@pytest.fixture
async def sqlite_database(tmp_path):
    async with sqlite_database_of(tmp_path / "writer.db", THINGS_METADATA) as database:
        yield database


async def names(database) -> list[str]:
    async with database.read() as connection:
        return list((await connection.execute(select(things.c.name).order_by(things.c.id))).scalars())


async def test_writes_brief_or_not_share_one_connection_in_use_only_while_they_run(sqlite_database):
    checkouts = []
    event.listen(sqlite_database.write_engine.sync_engine.pool, "checkout", lambda *_: checkouts.append(1))
    in_use = []

    async def write(connection, name: str) -> None:
        in_use.append(sqlite_database.pools()["write"].checkedout())
        await connection.execute(insert(things).values(name=name))

    await sqlite_database.run_write(lambda connection: write(connection, "a"), brief=True)
    await sqlite_database.run_write(lambda connection: write(connection, "b"))
    await sqlite_database.run_write(lambda connection: write(connection, "c"), brief=True)

    # One check-out for the three writes (one a write before), kept between them
    assert len(checkouts) == 1
    assert sqlite_database.write_engine.pool.checkedout() == 1
    # The metric counts the writer in use only while a write runs
    assert in_use == [1, 1, 1]
    assert sqlite_database.pools()["write"].checkedout() == 0
    assert await names(sqlite_database) == ["a", "b", "c"]


async def test_a_failed_write_leaves_nothing_and_the_next_write_runs_on_the_same_connection(sqlite_database):
    seen = []

    async def fails(connection) -> None:
        seen.append(sqlite3_connection_of(connection))
        await connection.execute(insert(things).values(name="kept out"))
        raise RuntimeError("refused halfway")

    async def writes(connection) -> None:
        seen.append(sqlite3_connection_of(connection))
        await connection.execute(insert(things).values(name="after"))

    with pytest.raises(RuntimeError):
        await sqlite_database.run_write(fails, brief=True)
    await sqlite_database.run_write(writes, brief=True)

    assert seen[0] is seen[1]
    assert await names(sqlite_database) == ["after"]


async def test_a_cancelled_write_is_rolled_back_and_the_next_write_runs(sqlite_database):
    started = asyncio.Event()

    async def stalls(connection) -> None:
        await connection.execute(insert(things).values(name="cancelled"))
        started.set()
        await asyncio.Event().wait()

    stalled = asyncio.create_task(sqlite_database.run_write(stalls))
    await started.wait()
    stalled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stalled
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="next")))

    assert await names(sqlite_database) == ["next"]


async def test_a_connection_whose_transaction_could_not_end_is_replaced(sqlite_database, monkeypatch):
    seen = []

    async def fails(connection) -> None:
        seen.append(sqlite3_connection_of(connection))
        await connection.execute(insert(things).values(name="kept out"))
        raise RuntimeError("refused halfway")

    def rollback_fails(self) -> None:
        raise OSError("the rollback did not reach the database")

    # Given a write that fails, and whose rollback fails too
    with monkeypatch.context() as patched:
        patched.setattr(InlineConnection, "rollback", rollback_fails)  # the driver's
        with pytest.raises(OSError, match="did not reach"):
            await sqlite_database.run_write(fails)

    # When the next write runs
    async def writes(connection) -> None:
        seen.append(sqlite3_connection_of(connection))
        await connection.execute(insert(things).values(name="after"))

    await sqlite_database.run_write(writes)

    # Then it ran on a new connection, and the failed write's row is nowhere
    assert seen[0] is not seen[1]
    assert await names(sqlite_database) == ["after"]
    async with sqlite_database.read() as connection:
        assert (await connection.execute(select(func.count()).select_from(things))).scalar_one() == 1


async def test_a_brief_write_whose_commit_fails_is_rolled_back_and_writes_after_it_run(sqlite_database):
    # Given a child table whose foreign key SQLite checks only at COMMIT
    async def create(connection) -> None:
        await connection.exec_driver_sql("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        await connection.exec_driver_sql(
            "CREATE TABLE children (id INTEGER PRIMARY KEY, "
            "parent_id INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
        )

    await sqlite_database.run_write(create)

    async def orphan(connection) -> None:
        await connection.execute(insert(things).values(name="with the orphan"))
        await connection.exec_driver_sql("INSERT INTO children (parent_id) VALUES (99)")

    # When a brief write's COMMIT fails
    with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"):
        await sqlite_database.run_write(orphan, brief=True)

    # Then nothing of it stands, and writes of both kinds run after it
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="a")))
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="b")), brief=True)
    assert await names(sqlite_database) == ["a", "b"]
    async with sqlite_database.read() as connection:
        assert (await connection.exec_driver_sql("SELECT count(*) FROM children")).scalar_one() == 0


async def test_a_failed_checkpoint_after_a_commit_leaves_the_write_standing(sqlite_database, monkeypatch, caplog):
    def failing(connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_driver, "_checkpoint", failing)

    # When the write that makes a checkpoint due has its checkpoint fail
    for number in range(sqlite_driver.INLINE_COMMITS_PER_CHECKPOINT):
        await sqlite_database.run_write(
            lambda connection, number=number: connection.execute(insert(things).values(name=f"n{number}")), brief=True
        )

    # Then every write stands (none was reported failed), the failure is logged, and writes go on
    assert len(await names(sqlite_database)) == sqlite_driver.INLINE_COMMITS_PER_CHECKPOINT
    assert "WAL checkpoint after a write failed" in caplog.text
    await sqlite_database.run_write(
        lambda connection: connection.execute(insert(things).values(name="after")), brief=True
    )
    assert (await names(sqlite_database))[-1] == "after"


async def test_a_commit_that_fails_after_sqlite_rolled_back_leaves_a_writer_that_writes(sqlite_database, monkeypatch):
    # Given a COMMIT that fails as SQLITE_IOERR or SQLITE_FULL do: SQLite has rolled back already
    commit = InlineConnection.commit

    def failing_commit(self) -> None:
        self._connection._connection.rollback()
        self._handle_exception(sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(InlineConnection, "commit", failing_commit)
    with pytest.raises(OperationalError, match="disk I/O error"):
        await sqlite_database.run_write(
            lambda connection: connection.execute(insert(things).values(name="lost")), brief=True
        )
    monkeypatch.setattr(InlineConnection, "commit", commit)

    # Then writes of both kinds run after it (SQLAlchemy's transaction was rolled back too)
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="a")))
    await sqlite_database.run_write(lambda connection: connection.execute(insert(things).values(name="b")), brief=True)
    assert await names(sqlite_database) == ["a", "b"]
