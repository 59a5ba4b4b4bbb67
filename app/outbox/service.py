"""The outbox: events for the brand's systems, appended in the caller's write transaction, so an
event exists exactly when the change it reports was committed (see models.py for delivery)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.outbox import repository
from app.outbox.feed import events_committed
from app.outbox.models import EVENT_TYPE_LENGTH_MAX
from app.storage.database import after_commit


@dataclass(frozen=True)
class OutboxEventView:
    id: int
    type: str
    payload: dict[str, Any]
    created_at: datetime


async def emit(
    connection: AsyncConnection, *, org_id: int, event_type: str, payload: dict[str, Any], now: datetime
) -> OutboxEventView:
    """Append an event (and its delivery row) on the caller's write connection. `payload` must be
    plain JSON (strings, numbers, booleans, lists, objects): what the receiver gets as written."""
    assert 0 < len(event_type) <= EVENT_TYPE_LENGTH_MAX
    await repository.hold_feed_order(connection, org_id)  # live subscribers read ids in commit order
    event_id = await repository.insert_event(connection, org_id=org_id, event_type=event_type, payload=payload, now=now)
    after_commit(connection, functools.partial(events_committed, org_id))  # wakes this process's live feed
    return OutboxEventView(event_id, event_type, payload, now)


async def load_event(connection: AsyncConnection, *, org_id: int, event_id: int) -> OutboxEventView:
    row = await repository.event(connection, org_id=org_id, event_id=event_id)
    return OutboxEventView(row.id, row.type, row.payload, row.created_at)
