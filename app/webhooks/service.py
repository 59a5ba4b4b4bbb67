"""Use cases of webhook endpoints: create (the secret is shown once), list, update, rotate the
secret, delete, the delivery log, and replaying events. Delivery itself: worker.py."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.errors import ValidationError
from app.organizations.config import OrgConfig
from app.storage.database import Database
from app.webhooks import repository
from app.webhooks.addresses import AddressRefusedError, destination
from app.webhooks.errors import (
    InvalidWebhookUrlError,
    UnknownEventTypeError,
    WebhookAddressNotAllowedError,
    WebhookEndpointNotFoundError,
    WebhookEndpointsLimitReachedError,
)
from app.webhooks.rules import EVENT_TYPES, url_refusal

ENDPOINTS_MAX = 20  # per organisation: each one multiplies the deliveries of every event
SECRET_BYTES = 32  # Standard Webhooks: between 24 and 64 bytes
SECRET_PREFIX = "whsec_"
# After a rotation the old secret keeps signing (a second signature) this long, so receivers can
# switch to the new one without refusing a delivery.
SECRET_ROTATION_GRACE = timedelta(hours=24)
REPLAY_SPAN_MAX = timedelta(days=31)


@dataclass(frozen=True)
class EndpointView:
    id: int
    url: str
    event_types: tuple[str, ...]
    enabled: bool
    ordered_per_customer: bool
    disabled_reason: str | None  # why the worker disabled it (failing for days)
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None  # the old secret still signs until then
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: EndpointView
    secret: str  # whsec_...: returned once, when created or rotated


@dataclass(frozen=True)
class EndpointRequest:
    url: str
    event_types: Sequence[str]
    enabled: bool = True
    ordered_per_customer: bool = False


@dataclass(frozen=True)
class EndpointChanges:
    """What to change; None keeps the value."""

    url: str | None = None
    event_types: Sequence[str] | None = None
    enabled: bool | None = None
    ordered_per_customer: bool | None = None


@dataclass(frozen=True)
class AttemptView:
    id: int
    delivery_id: int
    event_id: int
    event_type: str
    attempt_number: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    delivery_status: str
    next_attempt_at: datetime | None  # when the delivery is tried again, if it still is
    replayed: bool


def _view(row: Any) -> EndpointView:
    return EndpointView(
        id=row.id,
        url=row.url,
        event_types=tuple(row.event_types),
        enabled=row.enabled,
        ordered_per_customer=row.ordered_per_customer,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        previous_secret_expires_at=row.previous_secret_expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def checked_event_types(event_types: Sequence[str], field: str = "eventTypes") -> list[str]:
    """The types, each known, in a stable order, at least one."""
    if not event_types:
        raise ValidationError("must name at least one event type", field=field)
    for index, event_type in enumerate(event_types):
        if event_type not in EVENT_TYPES:
            raise UnknownEventTypeError(
                f"{event_type[:100]!r} is not an event type: one of {', '.join(sorted(EVENT_TYPES))}",
                field=f"{field}.{index}",
            )
    return sorted(set(event_types))


async def checked_url(url: str, org: OrgConfig, field: str = "url") -> str:
    refusal = url_refusal(url)
    if refusal is not None:
        raise InvalidWebhookUrlError(refusal, field=field)
    try:
        await destination(url, allow_private_addresses=org.webhooks_allow_private_addresses)
    except AddressRefusedError as error:
        raise WebhookAddressNotAllowedError(
            f"{error}: refused unless the organisation file sets [webhooks] allow_private_addresses = true",
            field=field,
        ) from error
    return url


async def create_endpoint(
    database: Database, org: OrgConfig, request: EndpointRequest, *, now: datetime
) -> EndpointWithSecret:
    url = await checked_url(request.url, org)
    event_types = checked_event_types(request.event_types)
    secret = new_secret()

    async def work(connection: AsyncConnection) -> EndpointWithSecret:
        if await repository.count_endpoints(connection, org_id=org.id) >= ENDPOINTS_MAX:
            raise WebhookEndpointsLimitReachedError(f"an organisation has at most {ENDPOINTS_MAX} webhook endpoints")
        endpoint_id = await repository.insert_endpoint(
            connection,
            {
                "org_id": org.id,
                "url": url,
                "event_types": event_types,
                "enabled": request.enabled,
                "ordered_per_customer": request.ordered_per_customer,
                "secret": secret,
                "created_at": now,
                "updated_at": now,
            },
        )
        row = await repository.endpoint(connection, org_id=org.id, endpoint_id=endpoint_id)
        return EndpointWithSecret(_view(row), secret)

    return await database.run_write(work)


async def org_endpoints(connection: AsyncConnection, *, org_id: int) -> list[EndpointView]:
    return [_view(row) for row in await repository.org_endpoints(connection, org_id=org_id)]


async def find_endpoint(connection: AsyncConnection, *, org_id: int, endpoint_id: int) -> EndpointView:
    row = await repository.endpoint(connection, org_id=org_id, endpoint_id=endpoint_id)
    if row is None:
        raise WebhookEndpointNotFoundError("no webhook endpoint of this organisation has this id", field="endpoint")
    return _view(row)


async def update_endpoint(
    database: Database, org: OrgConfig, endpoint_id: int, changes: EndpointChanges, *, now: datetime
) -> EndpointView:
    values: dict[str, Any] = {"updated_at": now}
    if changes.url is not None:
        values["url"] = await checked_url(changes.url, org)
    if changes.event_types is not None:
        values["event_types"] = checked_event_types(changes.event_types)
    if changes.ordered_per_customer is not None:
        values["ordered_per_customer"] = changes.ordered_per_customer
    if changes.enabled is not None:
        values["enabled"] = changes.enabled
        if changes.enabled:  # enabled again: its failing streak starts over
            values.update(disabled_reason=None, failing_since=None)
    return await _change(database, org.id, endpoint_id, values)


async def rotate_secret(database: Database, org: OrgConfig, endpoint_id: int, *, now: datetime) -> EndpointWithSecret:
    """A new secret; the current one keeps signing beside it for SECRET_ROTATION_GRACE."""
    secret = new_secret()

    async def work(connection: AsyncConnection) -> EndpointWithSecret:
        current = await repository.endpoint_secret(connection, org_id=org.id, endpoint_id=endpoint_id)
        if current is None:
            raise WebhookEndpointNotFoundError("no webhook endpoint of this organisation has this id", field="endpoint")
        values = {
            "secret": secret,
            "previous_secret": current,
            "previous_secret_expires_at": now + SECRET_ROTATION_GRACE,
            "updated_at": now,
        }
        await repository.update_endpoint(connection, org_id=org.id, endpoint_id=endpoint_id, values=values)
        return EndpointWithSecret(await find_endpoint(connection, org_id=org.id, endpoint_id=endpoint_id), secret)

    return await database.run_write(work)


async def delete_endpoint(database: Database, org: OrgConfig, endpoint_id: int) -> None:
    """The endpoint, its pending deliveries and its log (disable it instead to keep them)."""

    async def work(connection: AsyncConnection) -> None:
        if not await repository.delete_endpoint(connection, org_id=org.id, endpoint_id=endpoint_id):
            raise WebhookEndpointNotFoundError("no webhook endpoint of this organisation has this id", field="endpoint")

    await database.run_write(work)


async def _change(database: Database, org_id: int, endpoint_id: int, values: dict[str, Any]) -> EndpointView:
    async def work(connection: AsyncConnection) -> EndpointView:
        if not await repository.update_endpoint(connection, org_id=org_id, endpoint_id=endpoint_id, values=values):
            raise WebhookEndpointNotFoundError("no webhook endpoint of this organisation has this id", field="endpoint")
        return await find_endpoint(connection, org_id=org_id, endpoint_id=endpoint_id)

    return await database.run_write(work)


async def delivery_log(
    connection: AsyncConnection, *, org_id: int, endpoint_id: int, first: int, after_id: int | None
) -> tuple[list[AttemptView], bool]:
    """The endpoint's attempts, newest first (not found for another org's endpoint)."""
    await find_endpoint(connection, org_id=org_id, endpoint_id=endpoint_id)
    rows, has_next_page = await repository.attempts_page(
        connection, org_id=org_id, endpoint_id=endpoint_id, first=first, after_id=after_id
    )
    views = [
        AttemptView(
            id=row.id,
            delivery_id=row.delivery_id,
            event_id=row.event_id,
            event_type=row.event_type,
            attempt_number=row.attempt_number,
            attempted_at=row.attempted_at,
            status_code=row.status_code,
            latency_ms=row.latency_ms,
            error=row.error,
            delivery_status=row.status,
            next_attempt_at=row.next_attempt_at if row.status == repository.PENDING else None,
            replayed=row.replayed,
        )
        for row in rows
    ]
    return views, has_next_page


async def replay(
    database: Database,
    org: OrgConfig,
    endpoint_id: int,
    *,
    created_from: datetime,
    created_until: datetime,
    event_types: Sequence[str] | None,
    now: datetime,
) -> int:
    """Send the org's events created in [from, to) of these types (the endpoint's when None) to
    the endpoint again: new deliveries, due now, of the same events (same webhook-id). Returns how
    many."""
    if created_until <= created_from:
        raise ValidationError("must be after `from`", field="to")
    if created_until - created_from > REPLAY_SPAN_MAX:
        raise ValidationError(f"must be at most {REPLAY_SPAN_MAX.days} days after `from`", field="to")
    chosen = checked_event_types(event_types, field="types") if event_types is not None else None

    async def work(connection: AsyncConnection) -> int:
        endpoint = await find_endpoint(connection, org_id=org.id, endpoint_id=endpoint_id)
        return await repository.insert_replays(
            connection,
            org_id=org.id,
            endpoint_id=endpoint_id,
            created_from=created_from,
            created_until=created_until,
            event_types=chosen if chosen is not None else endpoint.event_types,
            now=now,
        )

    return await database.run_write(work)
