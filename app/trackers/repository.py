"""The trackers' data access: tracker definitions and tracked values.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables; tracked values are
written in bulk straight to the driver (app.storage.bulk_insert) with ids reserved first.
Functions return plain values and rows: no other domain names a trackers table, and the bills
the values are on are the transactions' repository's to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.bulk_insert import insert_rows
from app.storage.id_blocks import reserve_ids
from app.storage.tables import table_of
from app.trackers.models import Tracker, TrackerValue

trackers = table_of(Tracker)
values = table_of(TrackerValue)

_TRACKER_COLUMNS = (
    trackers.c.id,
    trackers.c.code,
    trackers.c.name,
    trackers.c.level,
    trackers.c.program_id,
    trackers.c.points_per_unit,
    trackers.c.created_at,
    trackers.c.updated_at,
)
_INSERT_TRACKER = insert(trackers).returning(trackers.c.id)
# The columns of a tracked value, in the order `insert_values` takes them.
VALUE_COLUMNS = (
    "id",
    "org_id",
    "tracker_id",
    "customer_id",
    "transaction_id",
    "line_item_id",
    "value",
    "points",
    "created_at",
)
_VALUE_COLUMNS = (
    values.c.id,
    values.c.tracker_id,
    values.c.customer_id,
    values.c.transaction_id,
    values.c.line_item_id,
    values.c.value,
    values.c.points,
    values.c.created_at,
)


# --- Trackers --------------------------------------------------------------------------------


async def trackers_by_code(connection: AsyncConnection, *, org_id: int, codes: Sequence[str] | None) -> list[Any]:
    """The org's trackers with these codes (all of them when None), by code: rows (id, code, name,
    level, program_id, points_per_unit, created_at, updated_at)."""
    query = select(*_TRACKER_COLUMNS).where(trackers.c.org_id == org_id)
    if codes is not None:
        query = query.where(trackers.c.code.in_(list(codes)))
    return list((await connection.execute(query.order_by(trackers.c.code))).all())


async def insert_tracker(
    connection: AsyncConnection,
    *,
    org_id: int,
    code: str,
    name: str,
    level: str,
    program_id: int,
    points_per_unit: Decimal,
    now: datetime,
) -> int:
    parameters = {
        "org_id": org_id,
        "code": code,
        "name": name,
        "level": level,
        "program_id": program_id,
        "points_per_unit": points_per_unit,
        "created_at": now,
        "updated_at": now,
    }
    return (await connection.execute(_INSERT_TRACKER, parameters)).scalar_one()


async def update_tracker(
    connection: AsyncConnection,
    *,
    tracker_id: int,
    name: str,
    program_id: int,
    points_per_unit: Decimal,
    now: datetime,
) -> None:
    await connection.execute(
        update(trackers)
        .where(trackers.c.id == tracker_id)
        .values(name=name, program_id=program_id, points_per_unit=points_per_unit, updated_at=now)
    )


# --- Tracked values --------------------------------------------------------------------------


async def reserve_value_ids(connection: AsyncConnection, count: int) -> list[int]:
    """Ids for `count` new values, to insert with `insert_values` before reserving again."""
    return await reserve_ids(connection, values, count)


async def insert_values(connection: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Tracked values, tuples in the order of VALUE_COLUMNS, in one executemany."""
    await insert_rows(connection, values, VALUE_COLUMNS, rows)


async def values_by_ids(connection: AsyncConnection, value_ids: Sequence[int]) -> list[Any]:
    """These values by id: rows (id, tracker_id, customer_id, transaction_id, line_item_id, value,
    points, created_at)."""
    query = select(*_VALUE_COLUMNS).where(values.c.id.in_(list(value_ids))).order_by(values.c.id)
    return list((await connection.execute(query)).all())


async def values_page(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    limit: int,
    before_id: int | None,
    tracker_id: int | None,
) -> list[Any]:
    """Up to `limit` of a holder's values (rows as `values_by_ids` reads them), newest first, below
    `before_id`, of one tracker or all."""
    conditions = [values.c.org_id == org_id, values.c.customer_id == customer_id]
    if before_id is not None:
        conditions.append(values.c.id < before_id)
    if tracker_id is not None:
        conditions.append(values.c.tracker_id == tracker_id)
    query = select(*_VALUE_COLUMNS).where(*conditions).order_by(values.c.id.desc()).limit(limit)
    return list((await connection.execute(query)).all())
