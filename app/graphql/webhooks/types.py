"""Output types of webhooks: endpoints, the secret shown once, the delivery log."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo
from app.webhooks.service import AttemptView, EndpointView, EndpointWithSecret


@strawberry.type(description="Where the organisation's events are sent (Standard Webhooks), and which.")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    event_types: list[str] = strawberry.field(description="The event types sent to it.")
    enabled: bool = strawberry.field(description="False: nothing is sent (pending deliveries wait).")
    ordered_per_customer: bool = strawberry.field(
        description="A customer's next event is sent only once the previous one was delivered or failed."
    )
    disabled_reason: str | None = strawberry.field(
        description="Why delivery disabled it (every attempt failed for days); cleared when enabled again."
    )
    failing_since: datetime | None = strawberry.field(description="Every attempt since then failed.")
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="After a rotation, deliveries carry a signature with the previous secret too until then."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_view(cls, view: EndpointView) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(view.id)),
            url=view.url,
            event_types=list(view.event_types),
            enabled=view.enabled,
            ordered_per_customer=view.ordered_per_customer,
            disabled_reason=view.disabled_reason,
            failing_since=view.failing_since,
            previous_secret_expires_at=view.previous_secret_expires_at,
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


@strawberry.type(description="An endpoint and its signing secret: shown this once, never again.")
class WebhookEndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(description="whsec_ and the base64 key, as Standard Webhooks libraries take it.")

    @classmethod
    def from_view(cls, view: EndpointWithSecret) -> WebhookEndpointWithSecret:
        return cls(endpoint=WebhookEndpoint.from_view(view.endpoint), secret=view.secret)


@strawberry.type(description="The endpoint after the change.")
class WebhookEndpointUpdated:
    endpoint: WebhookEndpoint


@strawberry.type(description="The endpoint, its pending deliveries and its delivery log are gone.")
class WebhookEndpointDeleted:
    endpoint_id: strawberry.ID


@strawberry.type(description="New deliveries of the matching events (same event ids, so same webhook-id), due now.")
class WebhooksReplayed:
    deliveries: int


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@strawberry.type(description="One HTTP attempt to deliver an event to the endpoint.")
class WebhookAttempt:
    id: strawberry.ID
    delivery_id: strawberry.ID
    event_id: strawberry.ID = strawberry.field(description="The outbox event: the webhook-id header.")
    event_type: str
    attempt_number: int = strawberry.field(description="1 for the delivery's first try.")
    attempted_at: datetime
    status_code: int | None = strawberry.field(description="Empty when no answer came (timeout, refused address).")
    latency_ms: int
    error: str | None
    delivery_status: WebhookDeliveryStatus = strawberry.field(description="The delivery's state now.")
    next_attempt_at: datetime | None = strawberry.field(description="When a PENDING delivery is tried again.")
    replayed: bool = strawberry.field(description="The delivery was made by replayWebhooks.")

    @classmethod
    def from_view(cls, view: AttemptView) -> WebhookAttempt:
        return cls(
            id=strawberry.ID(str(view.id)),
            delivery_id=strawberry.ID(str(view.delivery_id)),
            event_id=strawberry.ID(str(view.event_id)),
            event_type=view.event_type,
            attempt_number=view.attempt_number,
            attempted_at=view.attempted_at,
            status_code=view.status_code,
            latency_ms=view.latency_ms,
            error=view.error,
            delivery_status=WebhookDeliveryStatus(view.delivery_status),
            next_attempt_at=view.next_attempt_at,
            replayed=view.replayed,
        )


@strawberry.type
class WebhookDeliveryLogPage:
    endpoint_id: strawberry.ID
    attempts: list[WebhookAttempt]
    page_info: PageInfo


WebhookDeliveryLogResult = Annotated[
    WebhookDeliveryLogPage | NotFoundError | InvalidInputError, strawberry.union("WebhookDeliveryLogResult")
]
