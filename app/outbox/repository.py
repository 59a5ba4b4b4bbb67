"""The outbox's data access: append an event with its delivery row, read events back.

SQLAlchemy Core on the caller's connection (the transaction of the change the event reports);
statements built once, at import.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.outbox.models import OutboxDelivery, OutboxEvent
from app.storage.tables import table_of

events = table_of(OutboxEvent)
deliveries = table_of(OutboxDelivery)

_EVENT_COLUMNS = ("org_id", "type", "payload", "customer_id", "created_at")
ROWS_PER_INSERT_MAX = 100  # events per statement (a bill has a few; a run's batch is chunked)
_INSERT_DELIVERY = insert(deliveries)
_EVENT = select(events.c.id, events.c.type, events.c.payload, events.c.customer_id, events.c.created_at).where(
    events.c.org_id == bindparam("org_id"), events.c.id == bindparam("event_id")
)


@cache
def _insert_events_statement(count: int) -> Any:
    """INSERT of `count` events in one VALUES list, built once per count: building and compiling
    a multi-row INSERT per call cost more CPU than the bill's other outbox work together."""
    return (
        insert(events)
        .values(
            [
                {name: bindparam(f"{name}_{index}", type_=events.c[name].type) for name in _EVENT_COLUMNS}
                for index in range(count)
            ]
        )
        .returning(events.c.id)
    )


async def insert_events(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """The events (org_id, type, payload, customer_id, created_at each) and their delivery rows
    (due at once, no attempt yet), in two statements for up to ROWS_PER_INSERT_MAX events;
    returns the event ids in the rows' order.

    One multi-row INSERT ... RETURNING: both databases number a statement's rows in the order of
    its VALUES (SQLite max + 1 each, PostgreSQL nextval per row), so the ids sorted are the rows'
    ids in order, whatever order RETURNING hands them back in."""
    event_ids: list[int] = []
    for start in range(0, len(rows), ROWS_PER_INSERT_MAX):
        chunk = rows[start : start + ROWS_PER_INSERT_MAX]
        parameters = {f"{name}_{index}": row[name] for index, row in enumerate(chunk) for name in _EVENT_COLUMNS}
        event_ids.extend(sorted((await connection.execute(_insert_events_statement(len(chunk)), parameters)).scalars()))
    await connection.execute(
        _INSERT_DELIVERY,
        [
            {
                "event_id": event_id,
                "org_id": row["org_id"],
                "attempts": 0,
                "next_attempt_at": row["created_at"],
                "claimed_until": None,
                "delivered_at": None,
                "last_error": None,
            }
            for event_id, row in zip(event_ids, rows, strict=True)
        ],
    )
    return event_ids


async def event(connection: AsyncConnection, *, org_id: int, event_id: int) -> Any:
    """The org's event: a row (id, type, payload, customer_id, created_at)."""
    return (await connection.execute(_EVENT, {"org_id": org_id, "event_id": event_id})).one()
