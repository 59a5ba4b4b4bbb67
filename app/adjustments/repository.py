"""Data access of manual points adjustments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.adjustments.models import AdjustmentReason, PointsAdjustment
from app.adjustments.views import AdjustmentView
from app.ledger.models import EntryType
from app.storage.tables import table_of

adjustments = table_of(PointsAdjustment)

_INSERT = insert(adjustments).returning(adjustments.c.id)


def _view(row: Any) -> AdjustmentView:
    return AdjustmentView(
        id=row.id,
        customer_id=row.customer_id,
        program_id=row.program_id,
        entry_type=EntryType(row.entry_type),
        points=row.points,
        reason=AdjustmentReason(row.reason),
        note=row.note,
        event_id=row.event_id,
        created_at=row.created_at,
    )


async def insert_adjustment(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    program_id: int,
    entry_type: EntryType,
    points: Decimal,
    reason: AdjustmentReason,
    note: str,
    event_id: int,
    now: datetime,
) -> AdjustmentView:
    """Record an adjustment whose ledger event is written; returns it as stored."""
    values = {
        "org_id": org_id,
        "customer_id": customer_id,
        "program_id": program_id,
        "entry_type": entry_type.value,
        "points": points,
        "reason": reason.value,
        "note": note,
        "event_id": event_id,
        "created_at": now,
    }
    adjustment_id = (await connection.execute(_INSERT, values)).scalar_one()
    return AdjustmentView(adjustment_id, customer_id, program_id, entry_type, points, reason, note, event_id, now)


async def adjustment_by_id(connection: AsyncConnection, adjustment_id: int) -> AdjustmentView:
    return _view((await connection.execute(select(adjustments).where(adjustments.c.id == adjustment_id))).one())
