"""Async engines and the two ways in: `read()` for queries, `run_write()` for changes.

SQLite (the embedded default) has one writer per process behind an asyncio lock, and every
write transaction starts with BEGIN IMMEDIATE, so a read-check-write can never interleave and
"database is locked" never reaches a client. PostgreSQL runs writes concurrently: use cases take
advisory locks on their natural keys and row locks in id order, and serialization failures or
deadlocks are retried a bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import orjson
from sqlalchemy import ColumnElement, Table, and_, event, literal_column, text, tuple_
from sqlalchemy import exc as sqlalchemy_exceptions
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from app.storage.direct_statements import BEGUN_ON_THE_DRIVER, DirectConnection, DirectStatements
from app.storage.kept_readers import KeptReaders
from app.storage.sqlite_driver import (
    DEFERRED_BEGIN,
    INLINE_ARGUMENT,
    READER_ARGUMENT,
    one_hop_url,
    statements_inline,
)
from app.storage.waiting_writers import WaitingWriters

logger = logging.getLogger(__name__)

Result = TypeVar("Result")

# SQLSTATEs worth a retry on PostgreSQL: serialization failure, deadlock detected.
RETRYABLE_SQLSTATES = {"40001", "40P01"}

# How long a SQLite writer waits for another process's write transaction (a CLI import, say)
# before it fails with "database is locked"; such transactions are kept far shorter.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Pages are read through a memory map of the file (as much of it as SQLite's build allows: 2 GiB
# for Debian's) rather than copied by a read() each into the connection's page cache: a bill for a
# random one of 1,000,000 customers finds most of its pages outside that cache. Writes still go to
# the WAL by write() and fsync as before. Measured with scripts/bench_tools/bill_server.py: a bill
# 0.5-0.8 ms of CPU less (medians of 4 rounds, returning and new customers).
SQLITE_MMAP_SIZE_BYTES = 1 << 40
# A writer's BEGIN takes the write lock at once, so a read-check-write never interleaves.
WRITE_BEGIN = "BEGIN IMMEDIATE"


class PoolUse(Protocol):
    """What the pool-use metrics read of a pool."""

    def checkedout(self) -> int: ...

    def size(self) -> int: ...


class _WriterUse:
    """SQLite's writer as a pool of one: its connection stays checked out between writes, so it
    is in use while a write holds the write lock."""

    def __init__(self, write_lock: asyncio.Lock) -> None:
        self._write_lock = write_lock

    def checkedout(self) -> int:
        return 1 if self._write_lock.locked() else 0

    def size(self) -> int:
        return 1


def _json_serializer(value: object) -> str:
    return orjson.dumps(value).decode()


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        write_retries_max: int = 5,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        snapshots_per_share_max: int | None = None,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.write_retries_max = write_retries_max
        common = {"json_serializer": _json_serializer, "json_deserializer": orjson.loads}
        if self.is_sqlite:
            engine_url = one_hop_url(url)
            # read() and run_write() always end their transaction themselves, so the pool's own
            # rollback on return would only cost a round trip to the driver's thread.
            # Its connections begin and end their read transactions without a trip to the driver's thread.
            self.read_engine = create_async_engine(
                engine_url,
                pool_size=pool_size,
                pool_reset_on_return=None,
                connect_args={READER_ARGUMENT: True},
                **common,
            )
            # One connection is all a single writer needs; a brief write's statements run inline.
            self.write_engine = create_async_engine(
                engine_url,
                pool_size=1,
                # The writer keeps the pool's connection (`_sqlite_writer`); one more for a tool
                # or a test that opens its own (SQLite's lock serializes them as two processes).
                max_overflow=1,
                pool_reset_on_return=None,
                connect_args={INLINE_ARGUMENT: True},
                **common,
            )
            _configure_sqlite(self.read_engine, begin_statement=DEFERRED_BEGIN, busy_timeout_ms=busy_timeout_ms)
            _configure_sqlite(self.write_engine, begin_statement=WRITE_BEGIN, busy_timeout_ms=busy_timeout_ms)
            # A brief write's registered statements skip SQLAlchemy's per-statement work, and so do
            # a read's registered brief ones (on a budget).
            self._direct_statements: DirectStatements | None = DirectStatements(self.write_engine.dialect)
            self._direct_reads: DirectStatements | None = DirectStatements(self.read_engine.dialect, reads=True)
            # Reads keep their connections started between them, as the writer does.
            self._readers: KeptReaders | None = KeptReaders(self.read_engine, idle_max=pool_size)
        else:
            self.read_engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, **common)
            self.write_engine = self.read_engine
            self._direct_statements = self._direct_reads = None
            self._readers = None
        # SQLite's one writer keeps its connection checked out from its first write on (the
        # write lock serializes its users): a check-out and check-in per write cost ~0.1 ms of
        # CPU, a thirtieth of a bill.
        self._writer: DirectConnection | None = None
        self._write_lock = asyncio.Lock()
        # Writers of this Database waiting for `_write_lock` (a long writer lets them in sooner).
        self._writers_queued = 0
        self._waiting_writers = WaitingWriters(sqlite_file(url)) if self.is_sqlite else None
        # Requests of one share (one organisation) hold at most this many read connections at
        # once, so that one tenant's flood of reads waits on itself, not on everybody's pool.
        self.snapshots_per_share_max = snapshots_per_share_max or pool_size
        self._shares: dict[object, asyncio.Semaphore] = {}

    def share(self, key: object) -> asyncio.Semaphore:
        """The read connections that requests of `key` may hold at once."""
        found = self._shares.get(key)
        if found is None:
            found = self._shares[key] = asyncio.Semaphore(self.snapshots_per_share_max)
        return found

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction: one consistent snapshot for the whole request (SQLite's
        deferred BEGIN gives one; PostgreSQL needs REPEATABLE READ for it). On SQLite it runs on
        a kept connection (app/storage/kept_readers.py), and statements registered by
        `brief_read()` run straight on the driver, on the event loop's thread."""
        connection = await self.open_read()
        try:
            yield connection
        finally:
            await self.close_read(connection)

    async def open_read(self) -> AsyncConnection:
        """`read()`'s transaction, begun, for a holder that ends it with `close_read` (a request's
        snapshot: without a context manager's layers, a few microseconds a request)."""
        readers, direct = self._readers, self._direct_reads
        if readers is None or direct is None:
            connection = self.read_engine.connect()
            await connection.start()
            try:
                await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                await connection.begin()
            except BaseException:
                await asyncio.shield(connection.close())  # as leaving `async with connect()` closes it
                raise
            return connection
        reader = await readers.take()
        try:
            # BEGIN and, on giving it back, ROLLBACK on this thread (ReaderConnection), neither
            # through the async layer; a deferred BEGIN takes no lock, so it always begins here.
            began = reader.begin_here(DEFERRED_BEGIN)
            assert began, "a deferred BEGIN never waits"
            reader.go_direct(direct)
        except BaseException:
            await readers.give_back(reader)
            raise
        return reader

    async def close_read(self, connection: AsyncConnection) -> None:
        """End a transaction `open_read` began (rolled back: it only read)."""
        if self._readers is None or self._direct_reads is None:
            await asyncio.shield(connection.close())
            return
        assert isinstance(connection, DirectConnection), "a kept reader"
        await self._readers.give_back(connection)

    async def run_write(
        self, operation: Callable[[AsyncConnection], Awaitable[Result]], *, brief: bool = False
    ) -> Result:
        """Run `operation` in one write transaction; committed when it returns, rolled back if it raises.

        `brief`: the transaction is a request's few indexed statements (a bill), never a batch:
        on SQLite they run on the event loop's thread instead of a trip to the driver's thread
        each (app/storage/sqlite_driver.py), half the CPU a statement. PostgreSQL ignores it."""
        if self.is_sqlite:
            self._writers_queued += 1
            try:
                await self._write_lock.acquire()
            finally:
                self._writers_queued -= 1
            try:
                return await self._write_once(operation, inline=brief)
            finally:
                self._write_lock.release()
        for attempt in range(1, self.write_retries_max + 1):
            try:
                return await self._write_once(operation)
            except DBAPIError as error:
                sqlstate = _sqlstate(error)
                if sqlstate not in RETRYABLE_SQLSTATES or attempt == self.write_retries_max:
                    raise
                logger.info("retrying write after SQLSTATE %s (attempt %d)", sqlstate, attempt)
                await asyncio.sleep(0.002 * attempt)
        raise AssertionError("unreachable")

    async def _write_once(
        self, operation: Callable[[AsyncConnection], Awaitable[Result]], *, inline: bool = False
    ) -> Result:
        """One write transaction (its statements on the event loop's thread when `inline`: SQLite
        only); what `after_commit` registered on it runs once it has committed."""
        committed: list[Callable[[], None]] = []
        finishing: dict[tuple[bool, str], Callable[[AsyncConnection], Awaitable[None]]] = {}
        direct = self._direct_statements if inline else None
        # Inline from BEGIN on: a free write lock is taken on the event loop's thread too.
        with statements_inline() if inline else nullcontext():
            async with self._begin(direct) as connection:
                # The info dict belongs to the pooled connection and outlives this transaction (kept
                # at hand: a failed statement makes `connection.info` itself raise until rolled back).
                info = connection.info
                info[_AFTER_COMMIT] = committed
                info[_BEFORE_COMMIT] = finishing
                try:
                    result = await operation(connection)
                    # Those registered `last` after the others (stable: each group in registration order).
                    for _, finish in sorted(finishing.items(), key=lambda item: item[0][0]):
                        await finish(connection)
                finally:
                    del info[_AFTER_COMMIT]
                    del info[_BEFORE_COMMIT]
        for callback in committed:
            callback()
        return result

    @asynccontextmanager
    async def _begin(self, direct: DirectStatements | None) -> AsyncIterator[AsyncConnection]:
        """A write transaction: on SQLite on the writer's kept connection, whose registered
        statements run straight on the driver with `direct` (app/storage/direct_statements.py);
        on PostgreSQL `write_engine.begin()`."""
        if not self.is_sqlite:
            async with self.write_engine.begin() as connection:
                yield connection
            return
        assert self._waiting_writers is not None, "SQLite's"
        writer = await self._sqlite_writer()
        try:
            if direct is not None and writer.begin_here(WRITE_BEGIN):
                writer.go_direct(direct)
                try:
                    yield writer
                    writer.commit_here()
                except BaseException:
                    # A failed COMMIT too: SQLAlchemy keeps its transaction, inactive, until rolled back.
                    await writer.rollback()
                    raise
            else:
                async with AsyncExitStack() as stack:
                    with self._waiting_writers.waiting():  # while its BEGIN may wait for another process's transaction
                        await stack.enter_async_context(writer.begin())
                    if direct is not None:
                        writer.go_direct(direct)
                    yield writer
            await _checkpoint_after_commit(writer)
        finally:
            writer.stop_direct()
            if not writer.ended_cleanly():
                # A transaction it could not end, or a connection SQLAlchemy gave up on: never reused.
                self._writer = None
                await writer.let_go()

    async def _sqlite_writer(self) -> DirectConnection:
        """The writer's connection (called with the write lock held), checked out on first use and
        again after `_begin` let an unusable one go."""
        writer = self._writer
        if writer is None:
            writer = self._writer = DirectConnection(self.write_engine)
            await writer.start()
        return writer

    def writer_waiting(self) -> bool:
        """Whether another writer is waiting for the write lock now: one of this Database's (for
        its turn) or of another (of any process: app/storage/waiting_writers.py). PostgreSQL
        cannot tell: True."""
        if self._waiting_writers is None:
            return True
        return self._writers_queued > 0 or self._waiting_writers.any_waiting()

    def pools(self) -> dict[str, PoolUse]:
        """The connection pools by name (what the pool-use metrics read): SQLite's readers (those
        in use by a read, not the idle kept ones) and its one writer, or PostgreSQL's one pool
        that reads and writes share."""
        if self._readers is None:
            return {"shared": cast(QueuePool, self.read_engine.pool)}
        return {"read": self._readers, "write": _WriterUse(self._write_lock)}

    async def dispose(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.close()
        if self._readers is not None:
            await self._readers.close()
        if self._waiting_writers is not None:
            self._waiting_writers.close()
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()

    def for_request(self, share_key: object = None) -> RequestDatabase:
        """A request's view; requests with the same `share_key` (an organisation) share a
        bounded part of the read pool (None: no bound)."""
        return RequestDatabase(self, None if share_key is None else self.share(share_key))


class RequestDatabase(Database):
    """One request's view of the database: one consistent snapshot for the whole response.

    Every `read()` of the request (resolvers, loaders, the services they call) uses one read
    transaction, opened on first use and closed by `close()` when the operation ends; concurrent
    resolvers take turns on its connection. A write through `run_write()` ends the snapshot, so
    what the request reads after its own write includes it (a mutation's payload), and calls
    `after_write` hooks (the request's loaders forget what they cached). Engines and the writer
    lock are the shared database's. The snapshot's connection is counted in `share` (the
    organisation's part of the pool) while it is open.
    """

    def __init__(self, shared: Database, share: asyncio.Semaphore | None = None) -> None:
        # not super().__init__(): it would build new engines
        self.shared = shared
        self._share = share
        self.url, self.is_sqlite = shared.url, shared.is_sqlite
        self.read_engine, self.write_engine = shared.read_engine, shared.write_engine
        self._turn = asyncio.Lock()
        self._holder: asyncio.Task[object] | None = None
        self._connection: AsyncConnection | None = None
        self._stale = False  # written meanwhile: the snapshot ends with the block that holds it
        self.after_write: list[Callable[[], None]] = []

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        task = asyncio.current_task()
        if self._holder is task and self._connection is not None:  # a read inside a read: the same one
            yield self._connection
            return
        async with self._turn:
            self._holder = task
            try:
                if self._connection is None:
                    if self._share is not None:
                        await self._share.acquire()
                    try:
                        self._connection = await self.shared.open_read()
                    except BaseException:
                        if self._share is not None:
                            self._share.release()
                        raise
                yield self._connection
            except BaseException:
                self._stale = True  # a failed statement can leave the transaction unusable (PostgreSQL)
                raise
            finally:
                self._holder = None
                if self._stale:
                    await self._end_snapshot()

    async def run_write(
        self, operation: Callable[[AsyncConnection], Awaitable[Result]], *, brief: bool = False
    ) -> Result:
        result = await self.shared.run_write(operation, brief=brief)
        for hook in self.after_write:
            hook()
        if self._holder is asyncio.current_task():
            self._stale = True  # inside a read block: the snapshot ends with the block
        else:
            async with self._turn:
                await self._end_snapshot()
        return result

    async def close(self) -> None:
        """End the snapshot (when the operation ends); the engines stay the shared database's."""
        async with self._turn:
            await self._end_snapshot()

    async def dispose(self) -> None:
        await self.close()

    async def _end_snapshot(self) -> None:
        connection, self._connection, self._stale = self._connection, None, False
        if connection is not None:
            try:
                await self.shared.close_read(connection)
            finally:
                if self._share is not None:
                    self._share.release()


async def lock_keys(connection: AsyncConnection, keys: Iterable[str]) -> None:
    """Serialize writers that touch the same natural keys (bill number, identifiers).

    On PostgreSQL: transaction-scoped advisory locks, taken in sorted order so two writers can
    never wait on each other in a cycle. On SQLite the single writer already holds the lock.
    """
    if connection.dialect.name != "postgresql":
        return
    ordered = sorted(set(keys))
    if ordered:
        await connection.execute(_LOCK_KEYS, {"keys": ordered})


# All of a write's keys in one statement, one lock after another in the array's order (the
# volatile lock function is evaluated after the sort).
_LOCK_KEYS = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(locked.key, 0)) "
    "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS locked(key, position) ORDER BY locked.position"
)


_AFTER_COMMIT = "pointledger.after_commit"


def after_commit(connection: AsyncConnection, callback: Callable[[], None]) -> None:
    """Call `callback` once the write transaction running on `connection` has committed, never
    if it rolls back (what it remembers must have been written). A transaction `run_write` did
    not start drops it: remembering is then left to a later write."""
    callbacks = connection.info.get(_AFTER_COMMIT)
    if callbacks is not None:
        callbacks.append(callback)


_BEFORE_COMMIT = "pointledger.before_commit"


Finish = TypeVar("Finish", bound=Callable[[AsyncConnection], Awaitable[None]])


def before_commit(connection: AsyncConnection, key: str, finish: Finish, *, last: bool = False) -> Finish:
    """Run `finish` once, last, inside the write transaction running on `connection` (the first
    registration under `key` counts, and is returned): what a transaction gathered as it went
    (its outbox events) is written in one statement at its end, and forgotten with the transaction
    if it rolls back. Only `run_write` transactions have an end to run it at: anywhere else it
    raises, so nothing gathered is ever silently dropped.

    `last`: after every finish registered without it, so its statements are the transaction's
    very last: a row many writers share (a promotion's counter) is then locked from there to the
    commit only, with nothing left to wait for while it is held."""
    finishing = connection.info.get(_BEFORE_COMMIT)
    if finishing is None:
        raise RuntimeError("before_commit needs a write transaction run by Database.run_write")
    return cast(Finish, finishing.setdefault((last, key), finish))


def _sqlstate(error: DBAPIError) -> str | None:
    original = getattr(error, "orig", None)
    for candidate in (original, getattr(original, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


async def _checkpoint_after_commit(writer: DirectConnection) -> None:
    """The WAL checkpoint due after a committed write, on the driver's thread. The write stands
    whatever happens here: a failed checkpoint is logged (a later one copies the same pages), and
    one whose caller is cancelled is waited for before the cancellation goes on, since it uses the
    writer's connection on that thread and the write lock is let go after this."""
    if not writer.checkpoint_due():
        return
    running = asyncio.ensure_future(writer.checkpoint())
    cancelled = False
    while not running.done():
        try:
            await asyncio.wait([running])  # waits without cancelling it
        except asyncio.CancelledError:
            cancelled = True
    error = None if running.cancelled() else running.exception()
    if error is not None:
        logger.warning("WAL checkpoint after a write failed; a later one retries", exc_info=error)
    if cancelled:
        raise asyncio.CancelledError


def _configure_sqlite(engine: AsyncEngine, *, begin_statement: str, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Take BEGIN away from the driver so we choose it (IMMEDIATE for writers).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_SIZE_BYTES}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        if not connection.info.get(BEGUN_ON_THE_DRIVER):  # DirectConnection.begin_here ran it
            connection.exec_driver_sql(begin_statement)


def conflict_insert(dialect_name: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The INSERT of the backend in use, which has ON CONFLICT (do nothing / do update): the
    same statement text on SQLite and PostgreSQL, built by the dialect that runs it."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)


def constant(value: str) -> ColumnElement[Any]:
    """A constant of the code (an enum value) written into the SQL, not bound. Where a column has
    a partial index on a constant (`entry_kind = 'POINTS_TRANSFER'`), SQLite compares a bound
    parameter of the same column with it and then compiles the statement again on every run,
    whatever the value (~70 us; tests/test_query_plans.py finds such statements)."""
    assert value.replace("_", "").isalnum(), f"a constant of the code, not {value!r}"
    return literal_column(f"'{value}'")


def one_of_constants(column: ColumnElement[Any], values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN ('A', 'B')` with constants of the code (enum values) written into the SQL: the
    statement compiles once with them, where a list bound as a parameter is rendered again on
    every run (SQLAlchemy's post-compile step, ~20-60 us a statement)."""
    return column.in_([constant(value) for value in values])


def pairs_in(
    first: ColumnElement[Any], second: ColumnElement[Any], pairs: Sequence[tuple[Any, Any]]
) -> ColumnElement[bool]:
    """`(first, second) IN (pairs)` that an index leading with `first` serves: SQLite walks the whole
    index for a row-value IN of constant rows, and searches it once the first column has its own IN."""
    return and_(first.in_(sorted({pair[0] for pair in pairs})), tuple_(first, second).in_(list(pairs)))


def any_of(dialect_name: str, parameter: str, element_type: str = "text") -> str:
    """SQL for `IN (the list bound to :parameter)`, the whole list being one parameter (give it
    through `list_parameter`): the statement compiles once whatever the list's length, where an
    expanding IN renders a marker per value on every run (1-2 us per value on bulk lookups)."""
    if dialect_name == "postgresql":
        return f"= ANY(CAST(:{parameter} AS {element_type}[]))"
    return f"IN (SELECT value FROM json_each(:{parameter}))"


def list_parameter(dialect_name: str, values: Iterable[object]) -> object:
    """The value bound to an `any_of` parameter: an array for asyncpg, JSON text for SQLite."""
    values = list(values)
    return values if dialect_name == "postgresql" else orjson.dumps(values).decode()


# What a request meets when the database cannot serve it for now (down, unreachable, its pool
# exhausted): the HTTP layer answers 503 and the client retries.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # asyncpg's connection refused or reset
    sqlalchemy_exceptions.OperationalError,  # SQLite cannot open the file, the server went away
    sqlalchemy_exceptions.InterfaceError,
    sqlalchemy_exceptions.TimeoutError,  # no pool connection in time
)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None: not SQLite, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist yet (connecting would create it empty)."""
    path = sqlite_file(url)
    return None if path is None or path.exists() else path
