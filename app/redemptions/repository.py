"""The points redemptions' data access: redemptions, their reversals, and the redemptions a bill
carries.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables; functions return
plain values and rows: no other domain names a redemptions table.

Locks: redemption rows are locked after the customer's row and accounts (every writer's order);
points_reversed and a redemption's bill move only through guarded UPDATEs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.redemptions.models import PointRedemption, PointRedemptionReversal
from app.storage.tables import table_of

redemptions = table_of(PointRedemption)
reversals = table_of(PointRedemptionReversal)

_INSERT_REDEMPTION = insert(redemptions).returning(redemptions.c.id)
_INSERT_REVERSAL = insert(reversals).returning(reversals.c.id)
_REDEMPTION_OWNER = select(redemptions.c.customer_id, redemptions.c.event_id).where(
    redemptions.c.id == bindparam("redemption_id"), redemptions.c.org_id == bindparam("org_id")
)
_LOCK_REDEMPTION_POINTS = (
    select(redemptions.c.points, redemptions.c.points_reversed)
    .where(redemptions.c.id == bindparam("redemption_id"))
    .with_for_update()
)
_LOCK_REDEMPTIONS_OF_BILL = (
    select(redemptions.c.id, redemptions.c.event_id, redemptions.c.points, redemptions.c.points_reversed)
    .where(redemptions.c.transaction_id == bindparam("bill_id"))
    .order_by(redemptions.c.id)
    .with_for_update()
)


# --- Redeeming and reversing -----------------------------------------------------------------


async def insert_redemption(connection: AsyncConnection, values: Mapping[str, Any]) -> int:
    """A redemption (the point_redemptions columns by name); its id."""
    return (await connection.execute(_INSERT_REDEMPTION, values)).scalar_one()


async def redemption_owner(connection: AsyncConnection, *, org_id: int, redemption_id: int) -> Any:
    """The org's redemption as a reversal starts from it: a row (customer_id, event_id), None when
    the org has no such redemption."""
    parameters = {"org_id": org_id, "redemption_id": redemption_id}
    return (await connection.execute(_REDEMPTION_OWNER, parameters)).one_or_none()


async def lock_redemption_points(connection: AsyncConnection, redemption_id: int) -> Any:
    """The redemption's row locked: a row (points, points_reversed)."""
    return (await connection.execute(_LOCK_REDEMPTION_POINTS, {"redemption_id": redemption_id})).one()


async def move_points_reversed(
    connection: AsyncConnection, *, redemption_id: int, reversed_before: Decimal, reversed_after: Decimal, status: str
) -> bool:
    """Set the redemption's points_reversed (and status) from `reversed_before` to
    `reversed_after`, guarded: False when it no longer reads `reversed_before` or would pass its
    points."""
    query = (
        update(redemptions)
        .where(
            redemptions.c.id == redemption_id,
            redemptions.c.points_reversed == reversed_before,
            redemptions.c.points >= reversed_after,
        )
        .values(points_reversed=reversed_after, status=status)
        .returning(redemptions.c.id)
    )
    return (await connection.execute(query)).scalar_one_or_none() == redemption_id


async def insert_reversal(connection: AsyncConnection, values: Mapping[str, Any]) -> int:
    """A reversal (the point_redemption_reversals columns by name); its id."""
    return (await connection.execute(_INSERT_REVERSAL, values)).scalar_one()


async def redemption_place(connection: AsyncConnection, redemption_id: int) -> Any:
    """Where the redemption was made: a row (source, store_id, till_id)."""
    query = select(redemptions.c.source, redemptions.c.store_id, redemptions.c.till_id).where(
        redemptions.c.id == redemption_id
    )
    return (await connection.execute(query)).one()


async def redemption_of_reversal(connection: AsyncConnection, reversal_id: int) -> int:
    query = select(reversals.c.redemption_id).where(reversals.c.id == reversal_id)
    return (await connection.execute(query)).scalar_one()


# --- Redemptions on bills --------------------------------------------------------------------


async def apply_to_bill(
    connection: AsyncConnection,
    *,
    org_id: int,
    redemption_ids: Sequence[int],
    owner_ids: Sequence[int],
    transaction_id: int,
) -> set[int]:
    """Apply to the bill, in one guarded UPDATE, those of these redemptions of the org that belong
    to one of `owner_ids`, have no point reversed and are on no bill yet: the ids applied."""
    query = (
        update(redemptions)
        .where(
            redemptions.c.org_id == org_id,
            redemptions.c.id.in_(list(redemption_ids)),
            redemptions.c.customer_id.in_(list(owner_ids)),
            redemptions.c.points_reversed == 0,
            redemptions.c.transaction_id.is_(None),
        )
        .values(transaction_id=transaction_id)
        .returning(redemptions.c.id)
    )
    return set((await connection.execute(query)).scalars())


async def bill_state(connection: AsyncConnection, *, org_id: int, redemption_id: int) -> Any:
    """What decides whether the redemption can be applied to a bill: a row (customer_id,
    points_reversed, transaction_id), None when the org has no such redemption."""
    query = select(redemptions.c.customer_id, redemptions.c.points_reversed, redemptions.c.transaction_id).where(
        redemptions.c.id == redemption_id, redemptions.c.org_id == org_id
    )
    return (await connection.execute(query)).one_or_none()


async def lock_redemptions_of_bill(connection: AsyncConnection, bill_id: int) -> list[Any]:
    """The redemptions applied to the bill, locked in id order: rows (id, event_id, points,
    points_reversed)."""
    return list((await connection.execute(_LOCK_REDEMPTIONS_OF_BILL, {"bill_id": bill_id})).all())


# --- Reading redemptions back ----------------------------------------------------------------


async def redemption_rows(connection: AsyncConnection, *, org_id: int, redemption_ids: Sequence[int]) -> list[Any]:
    """The org's redemptions among these ids (every column)."""
    query = select(redemptions).where(redemptions.c.org_id == org_id, redemptions.c.id.in_(list(redemption_ids)))
    return list((await connection.execute(query)).all())


async def reversals_of(connection: AsyncConnection, redemption_ids: Sequence[int]) -> list[Any]:
    """The reversals of these redemptions (every column), by id."""
    query = select(reversals).where(reversals.c.redemption_id.in_(list(redemption_ids))).order_by(reversals.c.id)
    return list((await connection.execute(query)).all())


async def customer_redemption_ids(
    connection: AsyncConnection, *, org_id: int, customer_id: int, limit: int, before_id: int | None
) -> list[int]:
    """Up to `limit` of the customer's redemption ids, newest first, below `before_id`."""
    conditions = [redemptions.c.org_id == org_id, redemptions.c.customer_id == customer_id]
    if before_id is not None:
        conditions.append(redemptions.c.id < before_id)
    query = select(redemptions.c.id).where(*conditions).order_by(redemptions.c.id.desc()).limit(limit)
    return list((await connection.execute(query)).scalars())
