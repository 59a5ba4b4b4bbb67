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
from app.storage.database import after_commit, before_commit


@dataclass(frozen=True)
class OutboxEventView:
    id: int
    type: str
    payload: dict[str, Any]
    created_at: datetime
    customer_id: int | None = None


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event not yet appended: its type, its payload (app/outbox/events.py builds both) and the
    customer it is about (internal id, for the per-customer stream; None: about no one customer)."""

    type: str
    payload: dict[str, Any]
    customer_id: int | None = None


async def emit(
    connection: AsyncConnection,
    *,
    org_id: int,
    event_type: str,
    payload: dict[str, Any],
    now: datetime,
    customer_id: int | None = None,
) -> OutboxEventView:
    """Append an event (and its delivery row) on the caller's write connection at once, for a
    caller that needs its id now (a coupon resend keeps it). `payload` must be plain JSON
    (strings, numbers, booleans, lists, objects): what the receiver gets as written. Otherwise
    prefer `stage`, which writes a transaction's events together."""
    draft = EventDraft(event_type, payload, customer_id)
    [event_id] = await _insert(connection, [_row(org_id, draft, now)])
    return OutboxEventView(event_id, event_type, payload, now, customer_id)


def stage(connection: AsyncConnection, *, org_id: int, draft: EventDraft, now: datetime) -> None:
    """Append an event at the end of the caller's write transaction (`Database.run_write`), with
    all others staged in it: one multi-row insert per transaction, not one statement per event
    (a bill's events are on its hot path). Ids follow the staging order; a transaction that rolls
    back writes none."""
    pending = before_commit(connection, _STAGED, _Staged())
    pending.rows.append(_row(org_id, draft, now))


_STAGED = "pointledger.outbox.staged"


class _Staged:
    """A transaction's staged events, written by `before_commit` when the transaction ends."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    async def __call__(self, connection: AsyncConnection) -> None:
        if self.rows:
            await _insert(connection, self.rows)


async def _insert(connection: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
    """Every event goes in here: live subscribers (app/outbox/feed.py) read ids in commit order
    (the feed order, held to the commit) and are woken once it commits."""
    org_ids = sorted({row["org_id"] for row in rows})
    for org_id in org_ids:
        await repository.hold_feed_order(connection, org_id)
    event_ids = await repository.insert_events(connection, rows)
    for org_id in org_ids:
        after_commit(connection, functools.partial(events_committed, org_id))
    return event_ids


def _row(org_id: int, draft: EventDraft, now: datetime) -> dict[str, Any]:
    assert 0 < len(draft.type) <= EVENT_TYPE_LENGTH_MAX
    return {
        "org_id": org_id,
        "type": draft.type,
        "payload": draft.payload,
        "customer_id": draft.customer_id,
        "created_at": now,
    }


async def load_event(connection: AsyncConnection, *, org_id: int, event_id: int) -> OutboxEventView:
    row = await repository.event(connection, org_id=org_id, event_id=event_id)
    return OutboxEventView(row.id, row.type, row.payload, row.created_at, row.customer_id)
