"""aiosqlite for SQLAlchemy with one thread hop per statement instead of four.

SQLAlchemy's aiosqlite adapter sends each statement to aiosqlite's worker thread as four
separate calls (open a cursor, execute, fetch all, close), each a round trip between the event
loop and the thread (~40-55 us here). The SQLite work itself is a few microseconds, so the hops
were most of the cost of a write. This adapter keeps aiosqlite and its worker thread but sends
each statement as a single call that does all four there. It relies on aiosqlite's
`Connection._execute(fn, ...)` (the queue every aiosqlite method uses); the driver test pins
the behaviour.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DIALECT_NAME = "pointledger_aiosqlite"
# connect_args={INLINE_ARGUMENT: True}: the engine's connections can run statements inline (InlineConnection).
INLINE_ARGUMENT = "pointledger_inline"
# connect_args={READER_ARGUMENT: True}: the engine's connections begin and end their (read) transactions
# on the caller's thread (ReaderConnection).
READER_ARGUMENT = "pointledger_reader"
# A deferred BEGIN: it takes no lock and touches no file, so it never waits.
DEFERRED_BEGIN = "BEGIN"


def _run_statement(
    connection: Any, operation: str, parameters: Any, many: bool
) -> tuple[Any, list[Any], int, int | None]:
    """Runs in aiosqlite's worker thread."""
    cursor: sqlite3.Cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, parameters if parameters is not None else ())
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


# Set by `statements_inline()`: the current task's statements on an InlineConnection run inline.
_statements_inline: ContextVar[bool] = ContextVar("pointledger_statements_inline", default=False)


@contextmanager
def statements_inline() -> Iterator[None]:
    """Within this block (this task and the greenlets SQLAlchemy runs it in), statements on an
    InlineConnection run on the event loop's thread. Only for brief transactions: a statement
    that takes long (a batch of 25,000 rows) would hold up every other request meanwhile."""
    token = _statements_inline.set(True)
    try:
        yield
    finally:
        _statements_inline.reset(token)


async def _run_inline(
    connection: Any, operation: str, parameters: Any, many: bool
) -> tuple[Any, list[Any], int, int | None]:
    """`_run_statement` on the caller's thread. A coroutine that never suspends: SQLAlchemy's async
    layer wants every statement awaited, and awaiting this costs two greenlet switches, no trip
    through the event loop."""
    return _run_statement(connection, operation, parameters, many)


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_begins_inline", "_description", "_inline", "_lastrowid", "_rowcount")
    server_side = False

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        # Each statement uses a short-lived sqlite3 cursor in the worker thread: no aiosqlite cursor.
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._inline = adapt_connection.runs_inline
        self._begins_inline = adapt_connection.begins_inline

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        rows: list[Any]
        try:
            # A brief write's BEGIN IMMEDIATE comes here only when DirectConnection.begin_here found
            # the write lock taken: it waits for it on the worker thread.
            inline = self._inline and _statements_inline.get() and not operation.startswith("BEGIN")
            if inline or (operation == DEFERRED_BEGIN and self._begins_inline):
                running = _run_inline(self._connection, operation, parameters, many)
            else:
                running = self._connection._execute(_run_statement, self._connection, operation, parameters, many)
            self._description, rows, self._rowcount, self._lastrowid = await_(running)
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(operation, seq_of_parameters, many=True)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor
    runs_inline = False
    begins_inline = False


def _checkpoint(connection: Any) -> None:
    """Runs in aiosqlite's worker thread: what the automatic checkpoint would have done."""
    connection._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


# Inline commits between two checkpoints on the worker thread. A bill adds ~10-20 pages to the
# WAL: about the 1,000 pages after which SQLite's automatic checkpoint would run.
INLINE_COMMITS_PER_CHECKPOINT = 64


class InlineConnection(OneHopConnection):
    """A connection that can run statements on the caller's thread (the event loop) with no trip
    to the worker thread at all: inside `statements_inline()`, every statement, BEGIN when the
    write lock is free (held by another process, BEGIN waits it out on the thread: the busy
    timeout) and COMMIT (without the WAL checkpoint it may run: every
    INLINE_COMMITS_PER_CHECKPOINT inline commits, `checkpoint()` runs one on the thread);
    ROLLBACK keeps its trip. For the one writer's brief transactions: inside its transaction a
    statement never waits on a lock, and its SQLite work (a few microseconds on indexed rows)
    costs far less than the trip (measured: ~200 us of CPU a statement through the thread, ~100
    inline, on a loaded 2-core machine).

    Its inline commits leave checkpoints to `checkpoint()`: the connection's automatic
    checkpoint is off from its first inline commit until a commit through the thread (a bulk
    write's) puts it back. Switching it off and on around every commit cost four PRAGMAs a write."""

    __slots__ = ("_autocheckpoint_pages", "_busy_timeout_ms", "_inline_commits")
    runs_inline = True

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._inline_commits = 0
        # The automatic checkpoint's setting to put back; None while it is on.
        self._autocheckpoint_pages: int | None = None
        self._busy_timeout_ms: int | None = None  # the connection's, read once

    def begin_without_waiting(self, operation: str) -> bool:
        """BEGIN on the caller's thread if the write lock is free now: False, with nothing begun,
        when another connection holds it (then the caller waits for it on the worker thread, up to
        the busy timeout, and the event loop never blocks on a lock). The busy timeout is set to 0
        for the one attempt and put back."""
        raw: sqlite3.Connection = self._connection._conn
        if self._busy_timeout_ms is None:
            (self._busy_timeout_ms,) = raw.execute("PRAGMA busy_timeout").fetchone()
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute(operation)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                return False
            raise
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
        return True

    def commit(self) -> None:
        raw: sqlite3.Connection | None = self._connection._connection  # None once closed
        if raw is None or not _statements_inline.get():
            if raw is not None and self._autocheckpoint_pages is not None:
                # Through the thread (a batch's commit): SQLite's own checkpoint applies again.
                raw.execute(f"PRAGMA wal_autocheckpoint={self._autocheckpoint_pages}")
                self._autocheckpoint_pages = None
            super().commit()
            return
        try:
            if self._autocheckpoint_pages is None:
                # A checkpoint copies pages and syncs the file: never on the event loop.
                (self._autocheckpoint_pages,) = raw.execute("PRAGMA wal_autocheckpoint").fetchone()
                raw.execute("PRAGMA wal_autocheckpoint=0")
            raw.commit()
            self._inline_commits += 1
        except Exception as error:
            self._handle_exception(error)

    def checkpoint_due(self) -> bool:
        """Whether INLINE_COMMITS_PER_CHECKPOINT inline commits ran since the last checkpoint."""
        return self._inline_commits >= INLINE_COMMITS_PER_CHECKPOINT

    async def checkpoint(self) -> None:
        """The checkpoint SQLite would have run by now, on the worker thread."""
        self._inline_commits = 0
        await self._connection._execute(_checkpoint, self._connection)


class ReaderConnection(OneHopConnection):
    """A read pool's connection: its statements go to the worker thread (a read may take long),
    but a read transaction's deferred BEGIN and its ROLLBACK run on the caller's thread. Neither
    waits on anything: the BEGIN takes no lock (the first SELECT does, on the thread), and the
    ROLLBACK of a transaction that wrote nothing only lets go of its snapshot. Two trips a
    request fewer, out of four for a ledger page (BEGIN, the customer, the page, ROLLBACK)."""

    __slots__ = ()
    begins_inline = True

    def begin_without_waiting(self, operation: str) -> bool:
        """The read's deferred BEGIN on the caller's thread: it takes no lock, so never waits."""
        try:
            self._connection._conn.execute(operation)
        except Exception as error:
            self._handle_exception(error)
        return True

    def rollback(self) -> None:
        connection = self._connection._connection  # the sqlite3 connection; None once closed
        if connection is not None:
            try:
                connection.rollback()
            except Exception as error:
                self._handle_exception(error)


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        inline = kw.pop(INLINE_ARGUMENT, False)
        reader = kw.pop(READER_ARGUMENT, False)
        if inline or reader:
            kw["check_same_thread"] = False  # opened on the worker thread, used on the loop's too
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's adapter does: never block interpreter exit
        kind = InlineConnection if inline else ReaderConnection if reader else OneHopConnection
        return kind(self, await_(connection))


class OneHopSQLiteDialect(SQLiteDialect_aiosqlite):
    driver = DIALECT_NAME
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DIALECT_NAME}", "app.storage.sqlite_driver", "OneHopSQLiteDialect")


def sqlite3_connection(pooled: Any) -> sqlite3.Connection:
    """The sqlite3 connection under a pooled connection of this adapter (for statements run
    inline, on the caller's thread)."""
    adapted = pooled.dbapi_connection
    assert isinstance(adapted, InlineConnection | ReaderConnection), (
        "only an inline or a reader connection's statements may run on the caller's thread"
    )
    raw: sqlite3.Connection = adapted._connection._conn
    return raw


def one_hop_url(url: str) -> str:
    """sqlite+aiosqlite://... -> the same database through this adapter."""
    return url.replace("sqlite+aiosqlite:", f"sqlite+{DIALECT_NAME}:", 1)
