"""Row counts of every table: a failed mutation must leave them all unchanged."""

from __future__ import annotations

from sqlalchemy import func, select

from app.db import Database
from app.models import metadata


async def table_counts(database: Database) -> dict[str, int]:
    async with database.read() as connection:
        return {
            table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in metadata.sorted_tables
        }
