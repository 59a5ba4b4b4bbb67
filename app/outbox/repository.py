"""The outbox's data access: append an event with its delivery row, read events back.

SQLAlchemy Core on the caller's connection (the transaction of the change the event reports);
statements built once, at import.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.outbox.models import OutboxDelivery, OutboxEvent
from app.storage.tables import table_of

events = table_of(OutboxEvent)
deliveries = table_of(OutboxDelivery)

_INSERT_EVENT = insert(events).returning(events.c.id)
_INSERT_DELIVERY = insert(deliveries)
_EVENT = select(events.c.id, events.c.type, events.c.payload, events.c.created_at).where(
    events.c.org_id == bindparam("org_id"), events.c.id == bindparam("event_id")
)


async def insert_event(
    connection: AsyncConnection, *, org_id: int, event_type: str, payload: dict[str, Any], now: datetime
) -> int:
    """The event and its delivery row (due now, no attempt yet); returns the event id."""
    values = {"org_id": org_id, "type": event_type, "payload": payload, "created_at": now}
    event_id: int = (await connection.execute(_INSERT_EVENT, values)).scalar_one()
    delivery = {
        "event_id": event_id,
        "org_id": org_id,
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_until": None,
        "delivered_at": None,
        "last_error": None,
    }
    await connection.execute(_INSERT_DELIVERY, delivery)
    return event_id


async def event(connection: AsyncConnection, *, org_id: int, event_id: int) -> Any:
    """The org's event: a row (id, type, payload, created_at)."""
    return (await connection.execute(_EVENT, {"org_id": org_id, "event_id": event_id})).one()
