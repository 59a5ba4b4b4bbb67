"""The transfers' data access: record a transfer, read one back, read those of ledger events.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel table; statements built
once, at import. Functions return plain values and `TransferView`s.
"""

from __future__ import annotations

from collections.abc import Sequence
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


_BY_EVENTS = select(*_COLUMNS).where(
    transfers.c.org_id == bindparam("org_id"), transfers.c.event_id.in_(bindparam("event_ids", expanding=True))
)


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


async def transfers_of_events(
    connection: AsyncConnection, *, org_id: int, event_ids: Sequence[int]
) -> dict[int, TransferView]:
    """The points transfers these ledger events wrote, by event id (one statement; none for no ids)."""
    if not event_ids:
        return {}
    rows = await connection.execute(_BY_EVENTS, {"org_id": org_id, "event_ids": list(event_ids)})
    return {view.event_id: view for view in map(_view, rows)}
