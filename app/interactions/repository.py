"""The interactions' data access: find reported messages by their message ids, record a message
and its status changes, page a customer's messages. SQLAlchemy Core on the caller's connection;
statements built once, at import."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.interactions import rules
from app.interactions.models import Interaction, InteractionStatusChange
from app.interactions.views import (
    Channel,
    CheckedInteraction,
    Direction,
    InteractionStatus,
    InteractionView,
    StatusChangeView,
)
from app.storage.customer_rows import move_parameters, move_to_survivor_statement
from app.storage.tables import table_of

interactions = table_of(Interaction)
status_changes = table_of(InteractionStatusChange)

_COLUMNS = (
    interactions.c.id,
    interactions.c.customer_id,
    interactions.c.channel,
    interactions.c.message_id,
    interactions.c.account,
    interactions.c.direction,
    interactions.c.status,
    interactions.c.status_at,
    interactions.c.template,
    interactions.c.subject,
    interactions.c.body_preview,
    interactions.c.sent_at,
    interactions.c.delivered_at,
    interactions.c.occurred_at,
    interactions.c.recorded_at,
)
_INSERT = insert(interactions).returning(interactions.c.id)
_INSERT_CHANGE = insert(status_changes)
_MOVE = move_to_survivor_statement(interactions)
_UPDATE_CURRENT = (
    update(interactions)
    .where(interactions.c.org_id == bindparam("org_id_value"), interactions.c.id == bindparam("interaction_id"))
    .values(status=bindparam("status"), status_at=bindparam("status_at"), delivered_at=bindparam("delivered_at_value"))
)
_BY_MESSAGE_IDS = select(*_COLUMNS).where(
    interactions.c.org_id == bindparam("org_id"),
    interactions.c.message_id.in_(bindparam("message_ids", expanding=True)),
)
_HISTORIES = (
    select(status_changes.c.interaction_id, status_changes.c.status, status_changes.c.changed_at)
    .where(
        status_changes.c.org_id == bindparam("org_id"),
        status_changes.c.interaction_id.in_(bindparam("interaction_ids", expanding=True)),
    )
    .order_by(status_changes.c.interaction_id, status_changes.c.changed_at, status_changes.c.id)
)


def _page(*, channel: bool, after: bool) -> Any:
    """A customer's messages, newest first by (occurred_at, id); `channel`: of one channel only;
    `after`: only those after the message `after_id` in that order (keyset)."""
    query = select(*_COLUMNS).where(
        interactions.c.org_id == bindparam("org_id"), interactions.c.customer_id == bindparam("customer_id")
    )
    if channel:
        query = query.where(interactions.c.channel == bindparam("channel"))
    if after:
        position = select(interactions.c.occurred_at).where(
            interactions.c.org_id == bindparam("org_id"), interactions.c.id == bindparam("after_id")
        )
        query = query.where(
            tuple_(interactions.c.occurred_at, interactions.c.id)
            < tuple_(position.scalar_subquery(), bindparam("after_id"))
        )
    return query.order_by(interactions.c.occurred_at.desc(), interactions.c.id.desc()).limit(bindparam("limit"))


_PAGES = {(channel, after): _page(channel=channel, after=after) for channel in (False, True) for after in (False, True)}


def _view(row: Any, history: Sequence[StatusChangeView] = ()) -> InteractionView:
    return InteractionView(
        id=row.id,
        customer_id=row.customer_id,
        channel=Channel(row.channel),
        message_id=row.message_id,
        account=row.account,
        direction=Direction(row.direction),
        status=InteractionStatus(row.status),
        status_at=row.status_at,
        template=row.template,
        subject=row.subject,
        body_preview=row.body_preview,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        status_history=tuple(history),
    )


async def _histories(
    connection: AsyncConnection, org_id: int, interaction_ids: Sequence[int]
) -> dict[int, list[StatusChangeView]]:
    found: dict[int, list[StatusChangeView]] = defaultdict(list)
    if interaction_ids:
        parameters = {"org_id": org_id, "interaction_ids": list(interaction_ids)}
        for row in await connection.execute(_HISTORIES, parameters):
            found[row.interaction_id].append(StatusChangeView(InteractionStatus(row.status), row.changed_at))
    return found


async def interactions_by_message(
    connection: AsyncConnection, *, org_id: int, keys: Sequence[tuple[Channel, str]]
) -> dict[tuple[Channel, str], InteractionView]:
    """The stored messages among these (channel, message id) keys, with their status histories:
    two statements whatever the number of keys."""
    if not keys:
        return {}
    wanted = set(keys)
    parameters = {"org_id": org_id, "message_ids": sorted({message_id for _, message_id in keys})}
    rows = [
        row for row in await connection.execute(_BY_MESSAGE_IDS, parameters) if (row.channel, row.message_id) in wanted
    ]
    histories = await _histories(connection, org_id, [row.id for row in rows])
    return {(Channel(row.channel), row.message_id): _view(row, histories[row.id]) for row in rows}


async def insert_interaction(
    connection: AsyncConnection, *, org_id: int, customer_id: int, checked: CheckedInteraction, now: datetime
) -> InteractionView:
    """Record a new message and its first status change; returns it as stored."""
    data = checked.source
    values = {
        "org_id": org_id,
        "customer_id": customer_id,
        "channel": data.channel.value,
        "message_id": data.message_id,
        "account": data.account,
        "direction": data.direction.value,
        "status": data.status.value,
        "status_at": checked.status_at,
        "template": data.template,
        "subject": data.subject,
        "body_preview": data.body_preview,
        "sent_at": data.sent_at,
        "delivered_at": data.delivered_at,
        "occurred_at": checked.occurred_at,
        "recorded_at": now,
    }
    interaction_id = (await connection.execute(_INSERT, values)).scalar_one()
    view = rules.new_view(interaction_id, customer_id, checked, now)
    await insert_status_change(
        connection, org_id=org_id, interaction_id=interaction_id, change=view.status_history[0], now=now
    )
    return view


async def insert_status_change(
    connection: AsyncConnection, *, org_id: int, interaction_id: int, change: StatusChangeView, now: datetime
) -> None:
    values = {
        "org_id": org_id,
        "interaction_id": interaction_id,
        "status": change.status.value,
        "changed_at": change.changed_at,
        "recorded_at": now,
    }
    await connection.execute(_INSERT_CHANGE, values)


async def set_current_status(
    connection: AsyncConnection,
    *,
    org_id: int,
    interaction_id: int,
    current: StatusChangeView,
    delivered_at: datetime | None,
) -> None:
    """The current status (the latest in the history) and the delivery time, as known now."""
    parameters = {
        "org_id_value": org_id,
        "interaction_id": interaction_id,
        "status": current.status.value,
        "status_at": current.changed_at,
        "delivered_at_value": delivered_at,
    }
    await connection.execute(_UPDATE_CURRENT, parameters)


async def customer_interactions(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    channel: Channel | None,
    limit: int,
    after_id: int | None,
) -> list[InteractionView]:
    """A customer's messages (of one channel when given), newest first, at most `limit`, with
    their status histories: two statements whatever the page size."""
    parameters: dict[str, Any] = {"org_id": org_id, "customer_id": customer_id, "limit": limit}
    if channel is not None:
        parameters["channel"] = channel.value
    if after_id is not None:
        parameters["after_id"] = after_id
    rows = list(await connection.execute(_PAGES[channel is not None, after_id is not None], parameters))
    histories = await _histories(connection, org_id, [row.id for row in rows])
    return [_view(row, histories[row.id]) for row in rows]


async def move_interactions(connection: AsyncConnection, *, org_id: int, survivor_id: int, victim_id: int) -> int:
    """A merge: the victim's interactions (with their status histories) become the survivor's.
    How many moved."""
    parameters = move_parameters(org_id=org_id, survivor_id=survivor_id, victim_id=victim_id)
    return (await connection.execute(_MOVE, parameters)).rowcount
