"""Behavioural events brands' systems report about a customer (a product viewed, a store
visited, a survey opened), each once by its tracking id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, JSONDocument, UTCDateTime


class BehaviouralEvent(SQLModel, table=True):
    __tablename__ = "behavioural_events"
    __table_args__ = (
        UniqueConstraint("org_id", "tracking_id", name="uq_behavioural_events_tracking_id"),
        Index("ix_behavioural_events_customer", "org_id", "customer_id", "occurred_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    tracking_id: str = Field(max_length=200)
    event_name: str = Field(max_length=100)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    source: str = Field(max_length=16)
    account_id: str | None = Field(default=None, max_length=100)
    till_code: str | None = Field(default=None, max_length=100)  # the event's own, else the integration's
    integration_till_code: str | None = Field(default=None, max_length=100)  # as reported, for replays
    attributes: dict[str, Any] | None = Field(default=None, sa_type=JSONDocument)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
