"""The outbox's data access: append an event with its delivery row, read events back.

SQLAlchemy Core on the caller's connection (the transaction of the change the event reports);
statements built once, at import.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.outbox.models import OutboxDelivery, OutboxEvent
from app.storage.direct_statements import direct
from app.storage.tables import table_of

events = table_of(OutboxEvent)
deliveries = table_of(OutboxDelivery)

_INSERTED_COLUMNS = ("org_id", "type", "payload", "customer_id", "created_at")
ROWS_PER_INSERT_MAX = 100  # events per statement (a bill has a few; a run's batch is chunked)
_INSERT_DELIVERY = direct(insert(deliveries))
_EVENT = select(events.c.id, events.c.type, events.c.payload, events.c.customer_id, events.c.created_at).where(
    events.c.org_id == bindparam("org_id"), events.c.id == bindparam("event_id")
)


# Many rows in one statement through SQLAlchemy's "insertmanyvalues" (one multi-row VALUES per
# batch), whose compiled form is cached: a hand-built multi-row `.values([...])` has no cache key,
# so it was compiled again at every bill (most of the outbox's CPU on a bill). Not
# `sort_by_parameter_order`: without a sentinel column SQLite would then send a statement per row.
_INSERT_EVENTS = direct(insert(events).returning(events.c.id))


async def insert_events(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """The events (org_id, type, payload, customer_id, created_at each) and their delivery rows
    (due at once, no attempt yet), in two statements for up to ROWS_PER_INSERT_MAX events;
    returns the event ids in the rows' order.

    Both databases number a multi-row INSERT's rows in the order of its VALUES (SQLite max + 1
    each, PostgreSQL nextval per row), so the ids sorted are the rows' ids in order, whatever
    order RETURNING hands them back in."""
    event_ids: list[int] = []
    for start in range(0, len(rows), ROWS_PER_INSERT_MAX):
        chunk = [{name: row[name] for name in _INSERTED_COLUMNS} for row in rows[start : start + ROWS_PER_INSERT_MAX]]
        event_ids.extend(sorted((await connection.execute(_INSERT_EVENTS, chunk)).scalars()))
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


# --- the live feed (app/outbox/feed.py) -----------------------------------------------------------
#
# A reader that moves a cursor over event ids must never pass an id whose transaction has not
# committed yet: on PostgreSQL a transaction can take id 10, another id 11 and commit first. So
# every writer holds its organisation's feed lock in shared mode from its first event to its commit
# (writers never wait on each other), and the feed's reader takes it exclusively for a moment before
# it reads (READ COMMITTED: its snapshot comes after the lock): every id taken by then has
# committed or rolled back. SQLite's one writer commits ids in order already.

_HOLD_FEED_ORDER = text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:key, 0))")
_TAKE_FEED_ORDER = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
# How long the reader waits for the writers in flight before it gives up for this round: a writer
# waiting on a row lock held by a writer queued behind the reader would otherwise deadlock them.
_FEED_ORDER_WAIT = text("SET LOCAL lock_timeout = '200ms'")
LOCK_NOT_AVAILABLE = "55P03"

_EVENT_COLUMNS = (events.c.id, events.c.type, events.c.customer_id, events.c.payload, events.c.created_at)
_ORG_EVENTS_AFTER = (
    select(*_EVENT_COLUMNS)
    .where(events.c.org_id == bindparam("org_id"), events.c.id > bindparam("after_id"))
    .order_by(events.c.id)
    .limit(bindparam("limit"))
)
_LAST_EVENT_ID = select(func.coalesce(func.max(events.c.id), 0)).where(events.c.org_id == bindparam("org_id"))


def _feed_key(org_id: int) -> str:
    return f"outbox-feed:{org_id}"


async def hold_feed_order(connection: AsyncConnection, org_id: int) -> None:
    """In a write transaction, before its first event of this organisation (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(_HOLD_FEED_ORDER, {"key": _feed_key(org_id)})


async def settled_events_after(
    connection: AsyncConnection, *, org_id: int, after_id: int | None, limit: int
) -> list[Any] | None:
    """The organisation's events after `after_id` (rows: id, type, customer_id, payload,
    created_at), in id order, every one of them committed and no smaller id still to come; with
    `after_id` None, no rows but the last id (as the one row's `id`: where a new reader starts).
    None when the writers in flight did not finish in time (read again later). `connection` is
    fresh, outside a transaction (READ COMMITTED: the snapshot comes after the lock)."""
    try:
        async with connection.begin():  # rolled back when the lock times out
            if connection.dialect.name == "postgresql":
                await connection.execute(_FEED_ORDER_WAIT)
                await connection.execute(_TAKE_FEED_ORDER, {"key": _feed_key(org_id)})
            if after_id is None:
                last_id = (await connection.execute(_LAST_EVENT_ID, {"org_id": org_id})).scalar_one()
                return [SimpleNamespace(id=last_id)]
            parameters = {"org_id": org_id, "after_id": after_id, "limit": limit}
            return list((await connection.execute(_ORG_EVENTS_AFTER, parameters)).all())
    except DBAPIError as error:
        if not _lock_not_available(error):
            raise
        return None


def _lock_not_available(error: DBAPIError) -> bool:
    original = error.orig
    return any(
        LOCK_NOT_AVAILABLE in (getattr(candidate, "sqlstate", None), getattr(candidate, "pgcode", None))
        for candidate in (original, getattr(original, "__cause__", None))
    )


async def customer_events_between(
    connection: AsyncConnection, *, org_id: int, customer_id: int, after_id: int, until_id: int, limit: int
) -> list[Any]:
    """The customer's events with ids in (after_id, until_id], in id order (at most `limit`)."""
    parameters = {
        "org_id": org_id,
        "customer_id": customer_id,
        "after_id": after_id,
        "until_id": until_id,
        "limit": limit,
    }
    return list((await connection.execute(_CUSTOMER_EVENTS_BETWEEN, parameters)).all())


_CUSTOMER_EVENTS_BETWEEN = (
    select(*_EVENT_COLUMNS)
    .where(
        events.c.org_id == bindparam("org_id"),
        events.c.customer_id == bindparam("customer_id"),
        events.c.id > bindparam("after_id"),
        events.c.id <= bindparam("until_id"),
    )
    .order_by(events.c.id)
    .limit(bindparam("limit"))
)
