"""Data access of webhooks: endpoints, the fan-out of outbox events into deliveries, claiming due
deliveries, recording attempts, the delivery log. SQLAlchemy Core; statements built once, at
import, except where a list's length shapes them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from app.outbox.models import OutboxDelivery, OutboxEvent
from app.storage.tables import table_of
from app.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

endpoints = table_of(WebhookEndpoint)
deliveries = table_of(WebhookDelivery)
attempts = table_of(WebhookAttempt)
events = table_of(OutboxEvent)
queue = table_of(OutboxDelivery)  # the outbox's fan-out queue: one row per event, `delivered_at` once fanned out

PENDING, DELIVERED, FAILED = DeliveryStatus.PENDING.value, DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value

_ENDPOINT_COLUMNS = (
    endpoints.c.id,
    endpoints.c.url,
    endpoints.c.event_types,
    endpoints.c.enabled,
    endpoints.c.ordered_per_customer,
    endpoints.c.previous_secret_expires_at,
    endpoints.c.disabled_reason,
    endpoints.c.failing_since,
    endpoints.c.created_at,
    endpoints.c.updated_at,
)
_INSERT_ENDPOINT = insert(endpoints).returning(endpoints.c.id)
_ORG_ENDPOINT = (endpoints.c.org_id == bindparam("org_id"), endpoints.c.id == bindparam("endpoint_id"))
_ENDPOINT = select(*_ENDPOINT_COLUMNS).where(*_ORG_ENDPOINT)
_ENDPOINTS = select(*_ENDPOINT_COLUMNS).where(endpoints.c.org_id == bindparam("org_id")).order_by(endpoints.c.id)
_COUNT_ENDPOINTS = select(func.count()).select_from(endpoints).where(endpoints.c.org_id == bindparam("org_id"))
_DELETE_ATTEMPTS = delete(attempts).where(
    attempts.c.org_id == bindparam("org_id"), attempts.c.endpoint_id == bindparam("endpoint_id")
)
_DELETE_DELIVERIES = delete(deliveries).where(
    deliveries.c.org_id == bindparam("org_id"), deliveries.c.endpoint_id == bindparam("endpoint_id")
)
_DELETE_ENDPOINT = delete(endpoints).where(*_ORG_ENDPOINT)


async def insert_endpoint(connection: AsyncConnection, values: dict[str, Any]) -> int:
    endpoint_id: int = (await connection.execute(_INSERT_ENDPOINT, values)).scalar_one()
    return endpoint_id


async def endpoint(connection: AsyncConnection, *, org_id: int, endpoint_id: int) -> Any:
    """The org's endpoint (no secrets), None when it has none with this id."""
    return (await connection.execute(_ENDPOINT, {"org_id": org_id, "endpoint_id": endpoint_id})).one_or_none()


async def org_endpoints(connection: AsyncConnection, *, org_id: int) -> Sequence[Any]:
    return (await connection.execute(_ENDPOINTS, {"org_id": org_id})).all()


async def count_endpoints(connection: AsyncConnection, *, org_id: int) -> int:
    count: int = (await connection.execute(_COUNT_ENDPOINTS, {"org_id": org_id})).scalar_one()
    return count


async def update_endpoint(
    connection: AsyncConnection, *, org_id: int, endpoint_id: int, values: dict[str, Any]
) -> bool:
    statement = update(endpoints).where(endpoints.c.org_id == org_id, endpoints.c.id == endpoint_id).values(values)
    return (await connection.execute(statement)).rowcount == 1


async def delete_endpoint(connection: AsyncConnection, *, org_id: int, endpoint_id: int) -> bool:
    """The endpoint, its deliveries and their attempts."""
    parameters = {"org_id": org_id, "endpoint_id": endpoint_id}
    await connection.execute(_DELETE_ATTEMPTS, parameters)
    await connection.execute(_DELETE_DELIVERIES, parameters)
    return (await connection.execute(_DELETE_ENDPOINT, parameters)).rowcount == 1


# The delivery log: an endpoint's attempts, newest first, with their delivery and event.
_LOG = (
    select(
        attempts.c.id,
        attempts.c.delivery_id,
        attempts.c.attempt_number,
        attempts.c.attempted_at,
        attempts.c.status_code,
        attempts.c.latency_ms,
        attempts.c.error,
        deliveries.c.event_id,
        deliveries.c.status,
        deliveries.c.next_attempt_at,
        deliveries.c.replayed,
        events.c.type.label("event_type"),
    )
    .join(deliveries, deliveries.c.id == attempts.c.delivery_id)
    .join(events, events.c.id == deliveries.c.event_id)
    .where(
        attempts.c.org_id == bindparam("org_id"),
        attempts.c.endpoint_id == bindparam("endpoint_id"),
        attempts.c.id < bindparam("after_id"),
    )
    .order_by(attempts.c.id.desc())
    .limit(bindparam("limit"))
)


async def attempts_page(
    connection: AsyncConnection, *, org_id: int, endpoint_id: int, first: int, after_id: int | None
) -> tuple[Sequence[Any], bool]:
    parameters = {
        "org_id": org_id,
        "endpoint_id": endpoint_id,
        "after_id": after_id if after_id is not None else 2**63 - 1,
        "limit": first + 1,
    }
    rows = (await connection.execute(_LOG, parameters)).all()
    return rows[:first], len(rows) > first


async def insert_replays(
    connection: AsyncConnection,
    *,
    org_id: int,
    endpoint_id: int,
    created_from: datetime,
    created_until: datetime,
    event_types: Sequence[str],
    now: datetime,
) -> int:
    """New deliveries, due now, of the org's events of these types created in [from, until), in
    event order; returns how many."""
    chosen = select(
        events.c.org_id,
        literal(endpoint_id).label("endpoint_id"),
        events.c.id,
        events.c.customer_id,
        literal(PENDING).label("status"),
        literal(0).label("attempts"),
        literal(now, deliveries.c.next_attempt_at.type).label("next_attempt_at"),
        literal(now, deliveries.c.created_at.type).label("created_at"),
        literal(True).label("replayed"),
    ).where(
        events.c.org_id == org_id,
        events.c.created_at >= created_from,
        events.c.created_at < created_until,
        events.c.type.in_(list(event_types)),
    )
    columns = [
        "org_id",
        "endpoint_id",
        "event_id",
        "customer_id",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "replayed",
    ]
    result = await connection.execute(insert(deliveries).from_select(columns, chosen.order_by(events.c.id)))
    return result.rowcount


# --- The worker's side ---------------------------------------------------------------------------


async def fan_out(connection: AsyncConnection, *, now: datetime, batch: int) -> int:
    """Hand up to `batch` queued events to the enabled endpoints subscribed to their types (made
    before the event): one delivery each. Returns how many events left the queue."""
    claim = select(queue.c.event_id).where(queue.c.delivered_at.is_(None)).order_by(queue.c.event_id).limit(batch)
    if connection.dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    event_ids = list((await connection.execute(claim)).scalars())
    if not event_ids:
        return 0
    rows = (
        await connection.execute(
            select(events.c.id, events.c.org_id, events.c.type, events.c.customer_id, events.c.created_at)
            .where(events.c.id.in_(event_ids))
            .order_by(events.c.id)
        )
    ).all()
    org_ids = sorted({row.org_id for row in rows})
    subscribed = (
        await connection.execute(
            select(endpoints.c.id, endpoints.c.org_id, endpoints.c.event_types, endpoints.c.created_at).where(
                endpoints.c.org_id.in_(org_ids), endpoints.c.enabled.is_(True)
            )
        )
    ).all()
    new = [
        {
            "org_id": row.org_id,
            "endpoint_id": target.id,
            "event_id": row.id,
            "customer_id": row.customer_id,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_until": None,
            "created_at": now,
            "finished_at": None,
            "replayed": False,
        }
        for row in rows
        for target in subscribed
        if target.org_id == row.org_id and row.type in target.event_types and row.created_at >= target.created_at
    ]
    if new:
        await connection.execute(insert(deliveries), new)
    await connection.execute(
        update(queue).where(queue.c.event_id.in_(event_ids)).values(delivered_at=now, attempts=queue.c.attempts + 1)
    )
    return len(event_ids)


_QUEUED = select(queue.c.event_id).where(queue.c.delivered_at.is_(None)).limit(1)
_ANY_DUE = (
    select(deliveries.c.id)
    .where(
        deliveries.c.status == PENDING,
        deliveries.c.next_attempt_at <= bindparam("now"),
        or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < bindparam("now")),
    )
    .limit(1)
)


async def work_waiting(connection: AsyncConnection, *, now: datetime) -> bool:
    """Whether a pass would find anything: an event queued for the fan-out or a delivery due
    (read only, both from an index: an idle worker's poll writes nothing)."""
    if (await connection.execute(_QUEUED)).first() is not None:
        return True
    return (await connection.execute(_ANY_DUE, {"now": now})).first() is not None


_earlier = aliased(deliveries, name="earlier")
_DUE = (
    select(deliveries.c.id, deliveries.c.endpoint_id)
    .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
    .where(
        deliveries.c.status == PENDING,
        deliveries.c.next_attempt_at <= bindparam("now"),
        or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < bindparam("now")),
        endpoints.c.enabled.is_(True),
        # Order per customer: the endpoint's earlier delivery for the customer is done first.
        or_(
            endpoints.c.ordered_per_customer.is_(False),
            deliveries.c.customer_id.is_(None),
            ~exists().where(
                _earlier.c.endpoint_id == deliveries.c.endpoint_id,
                _earlier.c.customer_id == deliveries.c.customer_id,
                _earlier.c.status == PENDING,
                _earlier.c.id < deliveries.c.id,
            ),
        ),
    )
    .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
    .limit(bindparam("limit"))
)
_DUE_LOCKED = _DUE.with_for_update(of=deliveries, skip_locked=True)
_IN_FLIGHT = (
    select(deliveries.c.endpoint_id, func.count())
    .where(deliveries.c.status == PENDING, deliveries.c.claimed_until >= bindparam("now"))
    .group_by(deliveries.c.endpoint_id)
)
_TO_SEND = (
    select(
        deliveries.c.id,
        deliveries.c.org_id,
        deliveries.c.endpoint_id,
        deliveries.c.attempts,
        deliveries.c.created_at,
        events.c.id.label("event_id"),
        events.c.type.label("event_type"),
        events.c.payload,
        events.c.created_at.label("event_created_at"),
        endpoints.c.url,
        endpoints.c.secret,
        endpoints.c.previous_secret,
        endpoints.c.previous_secret_expires_at,
    )
    .join(events, events.c.id == deliveries.c.event_id)
    .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
    .order_by(deliveries.c.id)
)


async def claim_due(
    connection: AsyncConnection, *, now: datetime, lease_end: datetime, batch: int, in_flight_max: int
) -> Sequence[Any]:
    """Lease up to `batch` due deliveries, at most `in_flight_max` leased per endpoint at once,
    counting one more attempt on each; returns what sending them needs."""
    due_statement = _DUE_LOCKED if connection.dialect.name == "postgresql" else _DUE
    due = (await connection.execute(due_statement, {"now": now, "limit": batch})).all()
    if not due:
        return []
    in_flight = {row[0]: row[1] for row in (await connection.execute(_IN_FLIGHT, {"now": now})).all()}
    chosen: list[int] = []
    for row in due:
        if in_flight.get(row.endpoint_id, 0) < in_flight_max:
            in_flight[row.endpoint_id] = in_flight.get(row.endpoint_id, 0) + 1
            chosen.append(row.id)
    await connection.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(chosen))
        .values(claimed_until=lease_end, attempts=deliveries.c.attempts + 1)
    )
    return (await connection.execute(_TO_SEND.where(deliveries.c.id.in_(chosen)))).all()


_INSERT_ATTEMPT = insert(attempts)
_FINISH = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("delivery_id"))
    .values(
        status=bindparam("status"),
        next_attempt_at=bindparam("next_at"),
        claimed_until=None,
        finished_at=bindparam("finished_at"),
    )
)
_SUCCEEDED = update(endpoints).where(endpoints.c.id == bindparam("endpoint_id")).values(failing_since=None)
_FAILED = (
    update(endpoints)
    .where(endpoints.c.id == bindparam("endpoint_id"), endpoints.c.failing_since.is_(None))
    .values(failing_since=bindparam("now"))
)
_GIVE_UP = (
    update(endpoints)
    .where(
        endpoints.c.id == bindparam("endpoint_id"),
        endpoints.c.enabled.is_(True),
        endpoints.c.failing_since <= bindparam("failing_before"),
    )
    .values(enabled=False, disabled_reason=bindparam("reason"), updated_at=bindparam("now"))
)


async def still_there(connection: AsyncConnection, delivery_ids: Sequence[int]) -> set[int]:
    """Those of the deliveries that were not deleted (with their endpoint) while being sent; locked
    on PostgreSQL until the transaction ends, so they stay while their outcome is recorded."""
    statement = select(deliveries.c.id).where(deliveries.c.id.in_(list(delivery_ids)))
    if connection.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return set((await connection.execute(statement)).scalars())


async def record_attempts(connection: AsyncConnection, attempt_rows: list[dict[str, Any]]) -> None:
    await connection.execute(_INSERT_ATTEMPT, attempt_rows)


async def finish_deliveries(connection: AsyncConnection, outcomes: list[dict[str, Any]]) -> None:
    """Each delivery's new state: `status`, `next_at`, `finished_at` (by `delivery_id`)."""
    await connection.execute(_FINISH, outcomes)


async def endpoints_succeeded(connection: AsyncConnection, endpoint_ids: Sequence[int]) -> None:
    await connection.execute(_SUCCEEDED, [{"endpoint_id": endpoint_id} for endpoint_id in endpoint_ids])


async def endpoints_failed(
    connection: AsyncConnection, endpoint_ids: Sequence[int], *, now: datetime, failing_before: datetime, reason: str
) -> list[int]:
    """Mark the endpoints failing since now (unless they were already); disable those failing
    since `failing_before` or earlier. Returns the ids disabled."""
    await connection.execute(_FAILED, [{"endpoint_id": endpoint_id, "now": now} for endpoint_id in endpoint_ids])
    disabled = []
    for endpoint_id in endpoint_ids:
        parameters = {"endpoint_id": endpoint_id, "failing_before": failing_before, "reason": reason, "now": now}
        if (await connection.execute(_GIVE_UP, parameters)).rowcount == 1:
            disabled.append(endpoint_id)
    return disabled


_SECRET = select(endpoints.c.secret).where(*_ORG_ENDPOINT)


async def endpoint_secret(connection: AsyncConnection, *, org_id: int, endpoint_id: int) -> str | None:
    """The endpoint's current secret (rotation keeps it as the previous one), None when not found."""
    return (await connection.execute(_SECRET, {"org_id": org_id, "endpoint_id": endpoint_id})).scalar_one_or_none()


# --- Operations: the backlog (metrics) and retention (maintenance) --------------------------------
# Both read or delete over every organisation: they are the operator's, not a tenant's.

_QUEUE_BACKLOG = select(func.count(), func.min(queue.c.next_attempt_at)).where(queue.c.delivered_at.is_(None))
_PENDING_BACKLOG = select(func.count(), func.min(deliveries.c.created_at)).where(deliveries.c.status == PENDING)


async def backlog(connection: AsyncConnection) -> tuple[int, datetime | None, int, datetime | None]:
    """(events queued for the fan-out, the oldest one's time, pending deliveries, the oldest
    one's creation), over every organisation."""
    queued, queued_since = (await connection.execute(_QUEUE_BACKLOG)).one()
    pending, pending_since = (await connection.execute(_PENDING_BACKLOG)).one()
    return queued, queued_since, pending, pending_since


# A finished delivery's next_attempt_at is its finishing time (_FINISH sets it to now when it is
# delivered or given up), so the due index (status, next_attempt_at) finds old finished rows.
_OLD_FINISHED = (
    select(deliveries.c.id)
    .where(
        deliveries.c.status.in_([DELIVERED, FAILED]),
        deliveries.c.next_attempt_at < bindparam("cutoff"),
        deliveries.c.finished_at < bindparam("cutoff"),
    )
    .limit(bindparam("limit"))
)
_DELETE_ATTEMPTS_OF = delete(attempts).where(attempts.c.delivery_id.in_(bindparam("ids", expanding=True)))
_DELETE_DELIVERIES_OF = delete(deliveries).where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
_OLD_FANNED_OUT = select(queue.c.event_id).where(queue.c.delivered_at < bindparam("cutoff")).limit(bindparam("limit"))
_DELETE_QUEUE_ROWS = delete(queue).where(queue.c.event_id.in_(bindparam("ids", expanding=True)))


async def forget_finished_deliveries(connection: AsyncConnection, *, cutoff: datetime, limit: int) -> tuple[int, int]:
    """Delete up to `limit` deliveries delivered or given up before `cutoff`, with their attempts;
    returns (deliveries, attempts) deleted. Pending deliveries are never deleted."""
    ids = list((await connection.execute(_OLD_FINISHED, {"cutoff": cutoff, "limit": limit})).scalars())
    if not ids:
        return 0, 0
    attempts_deleted = (await connection.execute(_DELETE_ATTEMPTS_OF, {"ids": ids})).rowcount
    return (await connection.execute(_DELETE_DELIVERIES_OF, {"ids": ids})).rowcount, attempts_deleted


async def forget_fanned_out_queue_rows(connection: AsyncConnection, *, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` of the outbox's queue rows fanned out before `cutoff` (the events stay)."""
    ids = list((await connection.execute(_OLD_FANNED_OUT, {"cutoff": cutoff, "limit": limit})).scalars())
    if not ids:
        return 0
    return (await connection.execute(_DELETE_QUEUE_ROWS, {"ids": ids})).rowcount
