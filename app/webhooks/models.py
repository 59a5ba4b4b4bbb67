"""Webhook endpoints, their deliveries and the log of every attempt.

How an event reaches an endpoint (the delivery design):
- A write appends its event to outbox_events and one outbox_deliveries row (app/outbox), in the
  write's own transaction. That row is the event's place in the fan-out queue: the worker walks
  the rows whose `delivered_at` is empty (claimed with FOR UPDATE SKIP LOCKED on PostgreSQL), adds
  one webhook_deliveries row per enabled endpoint of the organisation subscribed to the event's
  type, and sets `delivered_at` (handed to the endpoints) in the same transaction.
- Why not a cursor per endpoint walking events by id, which would spare the bill its delivery
  row: on PostgreSQL ids are taken from a sequence before commit, so a transaction that commits
  late shows an id below a cursor that has already moved past it, and its event would be skipped
  for good (telling a late commit from a rolled-back id needs a wait or transaction ids). The
  queue row costs the bill one indexed insert in a statement it already sends (the events
  engineer's multi-row insert), and loses nothing whatever the commit order.
- A webhook_deliveries row is one event for one endpoint: the state the sender moves (attempts,
  next_attempt_at, claimed_until as a worker's lease, status). A replay adds new rows for the same
  events. A sender claims due rows by setting `claimed_until` in a write transaction (FOR UPDATE
  SKIP LOCKED on PostgreSQL; the single writer on SQLite), so two workers never send one row at the
  same time; a crashed worker's lease runs out and the row is sent again (at least once: receivers
  dedupe by `webhook-id`, the event id).
- webhook_attempts is the delivery log: one row per HTTP attempt (status code, latency, error).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, JSONDocument, UTCDateTime

URL_LENGTH_MAX = 2000
SECRET_LENGTH_MAX = 100
REASON_LENGTH_MAX = 500
ERROR_LENGTH_MAX = 1000


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # due at next_attempt_at (or being sent, while claimed)
    DELIVERED = "DELIVERED"  # the endpoint answered 2xx
    FAILED = "FAILED"  # still refused after the retry window (3 days): never sent again


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_org", "org_id", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    url: str = Field(max_length=URL_LENGTH_MAX)
    event_types: list[str] = Field(sa_type=JSONDocument)  # what the endpoint is sent
    enabled: bool
    ordered_per_customer: bool  # a customer's next event waits until the previous one is done
    secret: str = Field(max_length=SECRET_LENGTH_MAX)  # whsec_...: signs every delivery
    # After a rotation the old secret signs too (a second signature) until it expires.
    previous_secret: str | None = Field(default=None, max_length=SECRET_LENGTH_MAX)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=REASON_LENGTH_MAX)  # set when the worker disabled it
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # first failure since the last success
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The sender's walk: pending deliveries by due time.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # Order per customer: the endpoint's earlier pending delivery for the same customer.
        Index("ix_webhook_deliveries_customer", "endpoint_id", "customer_id", "status", "id"),
        Index("ix_webhook_deliveries_endpoint", "org_id", "endpoint_id", "id"),
        CheckConstraint("attempts >= 0", name="webhook_deliveries_attempts_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    endpoint_id: int = Field(foreign_key="webhook_endpoints.id", sa_type=BigId)
    event_id: int = Field(foreign_key="outbox_events.id", sa_type=BigId)
    customer_id: int | None = Field(default=None)  # the event's customer (order per customer)
    status: str = Field(max_length=20)  # DeliveryStatus
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)  # the retry window starts here
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # delivered or failed
    replayed: bool = False  # made by replayWebhooks


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_endpoint", "org_id", "endpoint_id", "id"),
        # Retention deletes a delivery's attempts with it (and PostgreSQL checks the foreign key).
        Index("ix_webhook_attempts_delivery", "delivery_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    endpoint_id: int = Field(foreign_key="webhook_endpoints.id", sa_type=BigId)
    delivery_id: int = Field(foreign_key="webhook_deliveries.id", sa_type=BigId)
    attempt_number: int  # 1 for the first try of the delivery
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None  # None: no answer (timeout, refused address, connection error)
    latency_ms: int
    error: str | None = Field(default=None, max_length=ERROR_LENGTH_MAX)
