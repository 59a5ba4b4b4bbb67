"""The behavioural events' data access: find events by tracking id, record one, page a
customer's events with filters. SQLAlchemy Core on the caller's connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from app.behavioural_events import rules
from app.behavioural_events.models import BehaviouralEvent
from app.behavioural_events.views import BehaviouralEventView, CheckedEvent, EventSource
from app.storage.customer_rows import move_parameters, move_to_survivor_statement
from app.storage.tables import table_of

events = table_of(BehaviouralEvent)

_COLUMNS = (
    events.c.id,
    events.c.customer_id,
    events.c.tracking_id,
    events.c.event_name,
    events.c.occurred_at,
    events.c.source,
    events.c.account_id,
    events.c.till_code,
    events.c.integration_till_code,
    events.c.attributes,
    events.c.recorded_at,
)
_INSERT = insert(events).returning(events.c.id)
_MOVE = move_to_survivor_statement(events)
_BY_TRACKING_IDS = select(*_COLUMNS).where(
    events.c.org_id == bindparam("org_id"), events.c.tracking_id.in_(bindparam("tracking_ids", expanding=True))
)


def _view(row: Any) -> BehaviouralEventView:
    return BehaviouralEventView(
        id=row.id,
        customer_id=row.customer_id,
        tracking_id=row.tracking_id,
        event_name=row.event_name,
        occurred_at=row.occurred_at,
        source=EventSource(row.source),
        account_id=row.account_id,
        till_code=row.till_code,
        integration_till_code=row.integration_till_code,
        attributes=row.attributes,
        recorded_at=row.recorded_at,
    )


async def events_by_tracking_id(
    connection: AsyncConnection, *, org_id: int, tracking_ids: Sequence[str]
) -> dict[str, BehaviouralEventView]:
    if not tracking_ids:
        return {}
    parameters = {"org_id": org_id, "tracking_ids": sorted(set(tracking_ids))}
    return {row.tracking_id: _view(row) for row in await connection.execute(_BY_TRACKING_IDS, parameters)}


async def insert_event(
    connection: AsyncConnection, *, org_id: int, customer_id: int, checked: CheckedEvent, now: datetime
) -> BehaviouralEventView:
    data = checked.source
    values = {
        "org_id": org_id,
        "customer_id": customer_id,
        "tracking_id": data.tracking_id,
        "event_name": data.event_name,
        "occurred_at": checked.occurred_at,
        "source": data.source.value,
        "account_id": data.account_id,
        "till_code": checked.till_code,
        "integration_till_code": data.till_code,
        "attributes": data.attributes,
        "recorded_at": now,
    }
    event_id = (await connection.execute(_INSERT, values)).scalar_one()
    return rules.new_view(event_id, customer_id, checked, now)


async def customer_events(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    event_name: str | None,
    source: EventSource | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    after_id: int | None,
) -> list[BehaviouralEventView]:
    """A customer's events, newest first by (occurred_at, id), filtered, at most `limit`; `after_id`:
    only those after that event in this order (keyset). The customer's index walks the time range;
    name and source filter the rows it reads."""
    query = select(*_COLUMNS).where(events.c.org_id == org_id, events.c.customer_id == customer_id)
    if event_name is not None:
        query = query.where(events.c.event_name == event_name)
    if source is not None:
        query = query.where(events.c.source == source.value)
    if start is not None:
        query = query.where(events.c.occurred_at >= start)
    if end is not None:
        query = query.where(events.c.occurred_at < end)
    if after_id is not None:
        position = select(events.c.occurred_at).where(events.c.org_id == org_id, events.c.id == after_id)
        query = query.where(tuple_(events.c.occurred_at, events.c.id) < tuple_(position.scalar_subquery(), after_id))
    query = query.order_by(events.c.occurred_at.desc(), events.c.id.desc()).limit(limit)
    return [_view(row) for row in await connection.execute(query)]


async def move_events(connection: AsyncConnection, *, org_id: int, survivor_id: int, victim_id: int) -> int:
    """A merge: the victim's behavioural events become the survivor's. How many moved."""
    parameters = move_parameters(org_id=org_id, survivor_id=survivor_id, victim_id=victim_id)
    return (await connection.execute(_MOVE, parameters)).rowcount
