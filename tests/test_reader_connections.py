"""SQLite's reads keep their connections between them (app/storage/kept_readers.py): successive
reads check one connection out of the pool, once; concurrent reads get connections and snapshots
of their own; a read that fails, is cancelled, or runs over its budget on the event loop's thread
leaves its connection clean for the next read; one whose transaction could not end, or cancelled
while its statement ran on the driver's thread, is replaced;
the pool-use metric counts the connections in use by a read, not the idle kept ones. The
snapshot test runs on both databases; the rest are SQLite's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import bindparam, event, func, insert, select, text
from sqlalchemy.exc import OperationalError

from app.storage import direct_statements
from app.storage.database import Database
from app.storage.direct_statements import brief_read
from app.storage.sqlite_driver import ReaderConnection
from tests.client import customer_with_points
from tests.conftest import POSTGRES_URL
from tests.documents import CUSTOMER
from tests.sqlite_databases import (
    THINGS_METADATA,
    cancel_once_started,
    sqlite3_connection_of,
    sqlite_database_of,
    things,
)

NAMES_LIKE = brief_read(select(things.c.name).where(things.c.name.like(bindparam("pattern"))).order_by(things.c.id))


@pytest.fixture
async def sqlite_database(tmp_path) -> AsyncIterator[Database]:
    async with sqlite_database_of(tmp_path / "reader.db", THINGS_METADATA, pool_size=2) as database:
        yield database


@pytest.fixture
def checkouts(sqlite_database: Database) -> list[object]:
    """The driver's connections the read pool hands out from now on, one per check-out."""
    handed_out: list[object] = []
    event.listen(
        sqlite_database.read_engine.sync_engine.pool, "checkout", lambda connection, *_: handed_out.append(connection)
    )
    return handed_out


async def add(database: Database, name: str) -> None:
    await database.run_write(lambda connection: connection.execute(insert(things).values(name=name)))


async def count_things(connection) -> int:
    return (await connection.execute(select(func.count()).select_from(things))).scalar_one()


async def count_after_a_write(database: Database) -> int:
    """Add a thing, then count the things in a new read."""
    await add(database, "after")
    async with database.read() as connection:
        return await count_things(connection)


async def test_successive_reads_check_one_connection_out_and_keep_it_idle_between_them(sqlite_database, checkouts):
    seen = []
    in_use = []
    for name in ("a", "b", "c"):
        await add(sqlite_database, name)
        async with sqlite_database.read() as connection:
            in_use.append(sqlite_database.pools()["read"].checkedout())
            seen.append((sqlite3_connection_of(connection), await count_things(connection)))

    # One check-out for the three reads, on one connection, each read seeing the writes before it
    assert len(checkouts) == 1
    assert [connection is checkouts[0] for connection, _ in seen] == [True, True, True]
    assert [count for _, count in seen] == [1, 2, 3]
    # The metric counts it in use only while a read runs; the pool has it checked out, kept
    assert in_use == [1, 1, 1]
    assert sqlite_database.pools()["read"].checkedout() == 0
    assert sqlite_database.read_engine.pool.checkedout() == 1


async def test_concurrent_reads_have_connections_of_their_own_and_both_are_kept(sqlite_database, checkouts):
    await add(sqlite_database, "a")

    async with sqlite_database.read() as first:
        seen_by_first_before = await count_things(first)
        await add(sqlite_database, "b")
        async with sqlite_database.read() as second:
            seen_by_second = await count_things(second)
            seen_by_first_after = await count_things(first)
            in_use = sqlite_database.pools()["read"].checkedout()
            connections = [sqlite3_connection_of(first), sqlite3_connection_of(second)]
    async with sqlite_database.read() as again_first, sqlite_database.read() as again_second:
        seen_again = [await count_things(again_first), await count_things(again_second)]
        connections_again = {sqlite3_connection_of(again_first), sqlite3_connection_of(again_second)}

    # The second read saw the write the first one's snapshot began before, on another connection
    assert (seen_by_first_before, seen_by_second, seen_by_first_after) == (1, 2, 1)
    assert in_use == 2
    assert connections[0] is not connections[1]
    # Both were kept: two more concurrent reads took them, and nothing new from the pool
    assert seen_again == [2, 2]
    assert connections_again == set(connections)
    assert len(checkouts) == 2


async def test_past_the_pools_size_connections_given_back_are_closed(sqlite_database, checkouts):
    closed: list[object] = []
    event.listen(sqlite_database.read_engine.sync_engine.pool, "close_detached", closed.append)

    # Given four reads at once on a pool of two
    async with AsyncExitStack() as reads:
        connections = [await reads.enter_async_context(sqlite_database.read()) for _ in range(4)]
        counts = [await count_things(connection) for connection in connections]

    # Then two are kept and two closed (not left open in the pool's queue besides)
    assert counts == [0, 0, 0, 0]
    assert len(checkouts) == 4
    assert len(closed) == 2
    assert sqlite_database.read_engine.pool.checkedout() == 2
    assert sqlite_database.pools()["read"].checkedout() == 0


async def test_a_read_that_fails_leaves_its_connection_clean_for_the_next_read(sqlite_database, checkouts):
    await add(sqlite_database, "a")

    async def statement_fails() -> None:
        async with sqlite_database.read() as connection:
            await count_things(connection)
            await connection.execute(text("SELECT * FROM nowhere"))

    async def caller_gives_up() -> None:
        async with sqlite_database.read() as connection:
            await count_things(connection)
            raise RuntimeError("the caller gave up")

    # Given a read whose statement fails, and one its caller gives up on
    with pytest.raises(OperationalError, match="no such table"):
        await statement_fails()
    with pytest.raises(RuntimeError, match="gave up"):
        await caller_gives_up()

    # When a write and then another read run
    seen = await count_after_a_write(sqlite_database)

    # Then the read began a new snapshot on the same connection: the others' transactions ended
    assert seen == 2
    assert len(checkouts) == 1
    assert sqlite_database.pools()["read"].checkedout() == 0


async def test_a_cancelled_read_leaves_its_connection_clean_for_the_next_read(sqlite_database, checkouts):
    async def stalls(started: asyncio.Event) -> None:
        async with sqlite_database.read() as connection:
            await count_things(connection)
            started.set()
            await asyncio.Event().wait()

    await cancel_once_started(stalls)

    assert await count_after_a_write(sqlite_database) == 1
    assert len(checkouts) == 1
    assert sqlite_database.pools()["read"].checkedout() == 0


async def test_a_connection_whose_read_could_not_end_is_replaced(sqlite_database, checkouts, monkeypatch):
    def rollback_fails(self) -> None:
        raise OSError("the rollback did not reach the database")

    # Given a read whose rollback fails (on a connection the pool has made: its first makes one)
    async with sqlite_database.read() as connection:
        await count_things(connection)
    with monkeypatch.context() as patched:
        patched.setattr(ReaderConnection, "rollback", rollback_fails)
        with pytest.raises(OSError, match="did not reach"):
            async with sqlite_database.read() as connection:
                await count_things(connection)

    # When a write and another read run
    await add(sqlite_database, "a")
    async with sqlite_database.read() as connection:
        seen = await count_things(connection)
        reader = sqlite3_connection_of(connection)

    # Then the read ran on a new connection, and the one let go holds nothing of the pool
    assert seen == 1
    assert len(checkouts) == 2
    assert reader is checkouts[1]
    assert checkouts[0] is not checkouts[1]
    assert sqlite_database.read_engine.pool.checkedout() == 1


async def test_a_read_over_its_budget_leaves_its_connection_usable_and_direct(sqlite_database, checkouts, monkeypatch):
    await sqlite_database.run_write(
        lambda connection: connection.execute(insert(things), [{"name": f"thing {number}"} for number in range(3_000)])
    )
    went_direct: list[bool] = []

    def before(connection, cursor, statement, parameters, context, executemany) -> None:
        if "LIKE" in statement:
            went_direct.append(context is None)

    event.listen(sqlite_database.read_engine.sync_engine, "before_cursor_execute", before)

    # Given a read whose walk runs over its time on the event loop's thread (then on the driver's)
    with monkeypatch.context() as patched:
        patched.setattr(direct_statements, "READ_SECONDS_MAX", 0.0)
        async with sqlite_database.read() as connection:
            walked = (await connection.execute(NAMES_LIKE, {"pattern": "%99%"})).scalars().all()

    # When a write and another read within its budget run
    await add(sqlite_database, "late 99")
    async with sqlite_database.read() as connection:
        walked_again = (await connection.execute(NAMES_LIKE, {"pattern": "%99%"})).scalars().all()

    # Then the second walk ran direct, on the same connection, in a new snapshot
    assert walked == [f"thing {number}" for number in range(3_000) if "99" in str(number)]
    assert walked_again == [*walked, "late 99"]
    assert went_direct == [True, False, True]
    assert len(checkouts) == 1


async def test_dispose_gives_the_kept_connections_back_to_the_pool(sqlite_database, checkouts):
    checkins: list[object] = []
    pool = sqlite_database.read_engine.sync_engine.pool
    event.listen(pool, "checkin", lambda connection, *_: checkins.append(connection))
    async with sqlite_database.read() as first, sqlite_database.read() as second:
        await count_things(first)
        await count_things(second)
    kept = sqlite_database.read_engine.pool.checkedout()

    await sqlite_database.dispose()

    assert (len(checkouts), kept) == (2, 2)
    assert set(checkins) == set(checkouts)


async def test_a_reads_snapshot_misses_a_later_write_that_a_new_read_sees(database):
    async with database.write_engine.begin() as connection:
        await connection.run_sync(THINGS_METADATA.create_all)
    try:
        await add(database, "a")
        async with database.read() as first:
            seen_before = await count_things(first)
            await add(database, "b")
            seen_after = await count_things(first)
        async with database.read() as second:
            seen_by_next = await count_things(second)
    finally:
        async with database.write_engine.begin() as connection:
            await connection.run_sync(THINGS_METADATA.drop_all)

    assert (seen_before, seen_after, seen_by_next) == (1, 1, 2)


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's kept read connections")
async def test_requests_read_on_the_kept_connections(api):
    mobile, _ = await customer_with_points(api)
    checked_out: list[object] = []
    event.listen(api.database.read_engine.sync_engine.pool, "checkout", lambda *_: checked_out.append(1))

    points = [
        (await api.data(CUSTOMER, {"lookup": {"type": "MOBILE", "value": mobile}}))["customer"]["loyaltyPoints"]
        for _ in range(3)
    ]

    assert points == ["10", "10", "10"]
    assert checked_out == []
    assert api.database.pools()["read"].checkedout() == 0


async def test_a_read_cancelled_while_its_statement_runs_on_the_drivers_thread_is_not_reused(
    sqlite_database, checkouts
):
    # Seconds of counting, on the driver's thread (not a brief read)
    long_count = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) SELECT count(*) FROM n"
    )
    request = sqlite_database.for_request()

    async def counts_long(started: asyncio.Event) -> None:
        try:
            async with request.read() as connection:
                started.set()
                await connection.execute(long_count)
        finally:
            await request.close()

    # Given a request's read cancelled (as the time limit does) while its statement runs
    await cancel_once_started(counts_long, after_seconds=0.05)

    # When a write and another read run
    seen = await count_after_a_write(sqlite_database)

    # Then SQLAlchemy gave up on the cancelled one (its statement's outcome unknown) and the
    # read ran on a new connection: the one let go holds nothing of the pool
    assert seen == 1
    assert len(checkouts) == 2
    assert checkouts[0] is not checkouts[1]
    assert sqlite_database.read_engine.pool.checkedout() == 1
