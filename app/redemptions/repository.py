"""The points redemptions' data access: redemptions, their reversals, and the redemptions a bill
carries.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables; functions return
plain values and rows: no other domain names a redemptions table.

Locks: redemption rows are locked after the customer's row and accounts (every writer's order).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.redemptions.models import PointRedemption, PointRedemptionReversal
from app.storage.tables import table_of

redemptions = table_of(PointRedemption)
reversals = table_of(PointRedemptionReversal)

_LOCK_REDEMPTIONS_OF_BILL = (
    select(redemptions.c.id, redemptions.c.event_id, redemptions.c.points, redemptions.c.points_reversed)
    .where(redemptions.c.transaction_id == bindparam("bill_id"))
    .order_by(redemptions.c.id)
    .with_for_update()
)


async def lock_redemptions_of_bill(connection: AsyncConnection, bill_id: int) -> list[Any]:
    """The redemptions applied to the bill, locked in id order: rows (id, event_id, points,
    points_reversed)."""
    return list((await connection.execute(_LOCK_REDEMPTIONS_OF_BILL, {"bill_id": bill_id})).all())
