"""Ids for many new rows at once, so bulk inserts can be plain executemany.

An INSERT ... RETURNING of many rows whose ids must come back in parameter order runs one row
per statement on SQLite (SQLAlchemy has no sentinel to sort by there), about 30 times slower
than an executemany. So the bulk paths reserve the ids first and insert them explicitly:
- PostgreSQL: nextval of the table's sequence, once per row, in one statement (other writers
  keep taking ids from the same sequence, so nothing collides);
- SQLite: max(id) + 1 on: the one writer holds BEGIN IMMEDIATE until it commits, so nobody
  else inserts meanwhile (INTEGER PRIMARY KEY without AUTOINCREMENT takes max + 1 as well).
Insert the rows before reserving again for the same table.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.direct_statements import direct


@cache
def _max_id(table: Any) -> Any:
    """SQLite's highest id of `table`, built once per table (a brief write runs it direct)."""
    return direct(select(func.max(table.c.id)))


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table_name, 'id')) FROM generate_series(1, :count)")


async def reserve_ids(connection: AsyncConnection, table: Any, count: int) -> list[int]:
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        rows = await connection.execute(_NEXT_IDS, {"table_name": table.name, "count": count})
        return sorted(row[0] for row in rows)
    top = (await connection.execute(_max_id(table))).scalar_one() or 0
    return list(range(top + 1, top + 1 + count))
