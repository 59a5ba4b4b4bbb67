"""A throwaway SQLite `Database` holding a test's own tables, and what storage-level tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from app.storage.database import Database
from app.storage.direct_statements import DirectConnection

# A table of named things, for storage tests that need any table at all.
THINGS_METADATA = MetaData()
things = Table("things", THINGS_METADATA, Column("id", Integer, primary_key=True), Column("name", String, unique=True))


@asynccontextmanager
async def sqlite_database_of(path: Path, metadata: MetaData, *, pool_size: int = 1) -> AsyncIterator[Database]:
    """A database in the file `path` with the tables of `metadata`, disposed of after."""
    database = Database(f"sqlite+aiosqlite:///{path}", pool_size=pool_size)
    async with database.write_engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


def sqlite3_connection_of(connection: DirectConnection) -> object:
    """The driver's connection a started SQLite connection holds (the same object while kept)."""
    assert connection.sync_connection is not None
    return connection.sync_connection.connection.dbapi_connection


async def cancel_once_started(run: Callable[[asyncio.Event], Awaitable[None]], *, after_seconds: float = 0) -> None:
    """Run `run` as a task, cancel it `after_seconds` after it has set the event it is given (as
    the request time limit cancels a request's task), and see it end cancelled."""
    started = asyncio.Event()
    task = asyncio.ensure_future(run(started))
    await started.wait()
    await asyncio.sleep(after_seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
