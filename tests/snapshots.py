"""Row counts of every table: a failed mutation must leave them all unchanged."""

from __future__ import annotations

from sqlalchemy import func, select

from app.storage.database import Database
from app.storage.tables import registered_tables


async def table_counts(database: Database) -> dict[str, int]:
    async with database.read() as connection:
        return {
            table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in registered_tables().sorted_tables
        }
