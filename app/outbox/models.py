"""The outbox: events for the brand's systems (messaging, CRM), written in the transaction of the
change they report, and delivered later by a webhook worker (a later issue).

Two tables, so that the event itself stays append-only:
- outbox_events: what happened (type, JSON payload, time). Never updated or deleted.
- outbox_deliveries: one row per event, written with it, the only state a delivery worker moves:
  attempts, next_attempt_at (when it is due), claimed_until (a worker's lease), delivered_at.
  A worker claims due rows with `UPDATE ... SET claimed_until = :lease_end, attempts = attempts + 1
  WHERE event_id IN (SELECT event_id ... WHERE delivered_at IS NULL AND next_attempt_at <= :now
  AND (claimed_until IS NULL OR claimed_until < :now) ... FOR UPDATE SKIP LOCKED)` on PostgreSQL
  (the one writer serialises it on SQLite): a crashed worker's lease runs out and the event is
  claimed again, so delivery is at least once, and receivers dedupe by the event id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, JSONDocument, UTCDateTime

EVENT_TYPE_LENGTH_MAX = 100
ERROR_LENGTH_MAX = 1000


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_org", "org_id", "id"),
        # A customer's stream in commit order (subscriptions, per-customer delivery order).
        Index("ix_outbox_events_customer", "org_id", "customer_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)  # receivers dedupe by it
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int | None = Field(default=None, foreign_key="customers.id")  # None: about no one customer
    type: str = Field(max_length=EVENT_TYPE_LENGTH_MAX)  # e.g. coupon.resend_requested
    payload: dict[str, Any] = Field(sa_type=JSONDocument)
    created_at: datetime = Field(sa_type=UTCDateTime)


class OutboxDelivery(SQLModel, table=True):
    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        # The worker's walk: undelivered events by due time.
        Index("ix_outbox_deliveries_due", "delivered_at", "next_attempt_at"),
        CheckConstraint("attempts >= 0", name="outbox_deliveries_attempts_not_negative"),
    )

    event_id: int = Field(primary_key=True, foreign_key="outbox_events.id", sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=ERROR_LENGTH_MAX)
