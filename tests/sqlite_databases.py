"""A throwaway SQLite `Database` holding a test's own tables (storage-level tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import MetaData

from app.storage.database import Database


@asynccontextmanager
async def sqlite_database_of(path: Path, metadata: MetaData) -> AsyncIterator[Database]:
    """A database in the file `path` with the tables of `metadata`, disposed of after."""
    database = Database(f"sqlite+aiosqlite:///{path}", pool_size=1)
    async with database.write_engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()
