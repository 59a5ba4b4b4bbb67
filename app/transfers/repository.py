"""The transfers' data access: record a transfer, read one back, page a customer's transfers.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel table; statements built
once, at import. Functions return plain values and `TransferView`s.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.tables import table_of
from app.transfers.models import PointTransfer
from app.transfers.views import TransferView

transfers = table_of(PointTransfer)

_COLUMNS = (
    transfers.c.id,
    transfers.c.from_customer_id,
    transfers.c.to_customer_id,
    transfers.c.program_id,
    transfers.c.points,
    transfers.c.notes,
    transfers.c.event_id,
    transfers.c.created_at,
)
_INSERT = insert(transfers).returning(transfers.c.id)
_BY_ID = select(*_COLUMNS).where(transfers.c.id == bindparam("transfer_id"))


def _newest_first(column: Any, *, after: bool) -> Any:
    """One side of a customer's transfers (sent or received), newest first; `after`: only those
    older than `before_id` (keyset)."""
    query = select(*_COLUMNS).where(transfers.c.org_id == bindparam("org_id"), column == bindparam("customer_id"))
    if after:
        query = query.where(transfers.c.id < bindparam("before_id"))
    return query.order_by(transfers.c.id.desc()).limit(bindparam("limit"))


# (sent, received) walks, without and with a keyset position.
_WALKS = {
    after: (
        _newest_first(transfers.c.from_customer_id, after=after),
        _newest_first(transfers.c.to_customer_id, after=after),
    )
    for after in (False, True)
}


def _view(row: Any) -> TransferView:
    return TransferView(*row)


async def insert_transfer(
    connection: AsyncConnection,
    *,
    org_id: int,
    from_customer_id: int,
    to_customer_id: int,
    program_id: int,
    points: Decimal,
    event_id: int,
    notes: str | None,
    now: datetime,
) -> TransferView:
    """Record a transfer whose ledger event is written; returns it as stored."""
    values = {
        "org_id": org_id,
        "from_customer_id": from_customer_id,
        "to_customer_id": to_customer_id,
        "program_id": program_id,
        "points": points,
        "event_id": event_id,
        "notes": notes,
        "created_at": now,
    }
    transfer_id = (await connection.execute(_INSERT, values)).scalar_one()
    return TransferView(transfer_id, from_customer_id, to_customer_id, program_id, points, notes, event_id, now)


async def transfer_by_id(connection: AsyncConnection, transfer_id: int) -> TransferView:
    return _view((await connection.execute(_BY_ID, {"transfer_id": transfer_id})).one())


async def customer_transfers(
    connection: AsyncConnection, *, org_id: int, customer_id: int, limit: int, before_id: int | None
) -> list[TransferView]:
    """The transfers a customer sent or received, newest first by id (keyset: older than
    `before_id`), at most `limit`. Two index walks (sent, received), each at most `limit` long,
    merged: no OR across indexes."""
    parameters: dict[str, Any] = {"org_id": org_id, "customer_id": customer_id, "limit": limit}
    if before_id is not None:
        parameters["before_id"] = before_id
    found: list[TransferView] = []
    for statement in _WALKS[before_id is not None]:
        found.extend(_view(row) for row in await connection.execute(statement, parameters))
    found.sort(key=lambda view: view.id, reverse=True)
    return found[:limit]
