"""SQLite's read connections, kept started between reads.

A read used to check a connection out of the read engine's pool and check it back in when it
ended: through SQLAlchemy's async layer (greenlet spawns, pool events, the close run in a task of
its own) that cost ~0.1 ms of CPU a request, for a deferred BEGIN and a ROLLBACK that cost SQLite
next to nothing. Reads now take a started connection from an idle list and give it back when
their transaction has ended, so a read pays for its BEGIN and ROLLBACK only, both run on this
thread without the async layer (app/storage/database.py, `Database.read`). Measured with
scripts/bench_tools/page_stages.py: a ledger page of 10 1.08 -> 0.84 ms of CPU in-process, the
request's "database.close" stage 0.10 -> 0.03 ms.

Every kept connection stays checked out of the pool, so the pool's bound (and the organisations'
shares, app/storage/database.py) still bound the connections reads hold: one is started, through
the pool, only when none is idle, and at most as many as the pool's size are kept idle (past
that, a connection given back is closed), as many as the pool itself kept open between bursts.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from app.storage.direct_statements import DirectConnection


class KeptReaders:
    """The read engine's connections that reads take in turn (the latest given back first: its
    pages are the warmest), and the pool-use metric of them: connections in use by a read."""

    def __init__(self, engine: AsyncEngine, idle_max: int) -> None:
        self._engine = engine
        self._idle_max = idle_max
        self._idle: list[DirectConnection] = []

    async def take(self) -> DirectConnection:
        """An idle connection, or a new one checked out of the pool (which may wait for one)."""
        if self._idle:
            return self._idle.pop()
        reader = DirectConnection(self._engine)
        await reader.start()
        return reader

    async def give_back(self, reader: DirectConnection) -> None:
        """End its read: its transaction rolled back, it is kept if it ended cleanly (and fewer
        than the pool's size are idle), else let go: a connection whose transaction could not
        end is invalidated, never reused."""
        reader.stop_direct()
        connection = reader.sync_connection
        try:
            if connection is not None and connection.in_transaction():
                # Called straight, not through the async layer's greenlet (~10 us less a read):
                # ReaderConnection's ROLLBACK runs on this thread and awaits nothing.
                connection.rollback()
        finally:
            if not reader.ended_cleanly():
                await reader.let_go()
            elif len(self._idle) < self._idle_max:
                self._idle.append(reader)
            else:
                # Closed for real: checked in, it would stay open in the pool's queue beside the
                # idle kept ones (after a burst, twice the pool's size of open connections).
                assert connection is not None, "ended cleanly: open"
                connection.detach()
                await reader.close()

    async def close(self) -> None:
        """Close the idle connections, and from now on those that reads give back (those in use
        now among them): nothing is kept after `Database.dispose()`."""
        self._idle_max = 0
        idle, self._idle = self._idle, []
        for reader in idle:
            await reader.close()

    def checkedout(self) -> int:
        """Connections in use by a read (or by a tool that opened the read engine itself): the
        idle kept ones are checked out of the pool but serve nobody."""
        return cast(QueuePool, self._engine.pool).checkedout() - len(self._idle)

    def size(self) -> int:
        return cast(QueuePool, self._engine.pool).size()
