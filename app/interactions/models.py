"""Messages brands' systems sent to or received from a customer (SMS, email, WeChat, WebEngage,
surveys), and each status a message went through. The product sends nothing itself: it records
what the senders report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, UTCDateTime


class Interaction(SQLModel, table=True):
    __tablename__ = "interactions"
    __table_args__ = (
        # The sender's message id identifies a message within its channel, per organisation.
        UniqueConstraint("org_id", "channel", "message_id", name="uq_interactions_message"),
        Index("ix_interactions_customer_channel", "org_id", "customer_id", "channel", "occurred_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    channel: str = Field(max_length=16)
    message_id: str = Field(max_length=200)
    account: str | None = Field(default=None, max_length=100)
    direction: str = Field(max_length=16)
    status: str = Field(max_length=16)  # the status with the latest time in the history
    status_at: datetime = Field(sa_type=UTCDateTime)
    template: str | None = Field(default=None, max_length=200)
    subject: str | None = Field(default=None, max_length=500)
    body_preview: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    occurred_at: datetime = Field(sa_type=UTCDateTime)  # sent_at, else the first status's time: the list's order
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class InteractionStatusChange(SQLModel, table=True):
    __tablename__ = "interaction_status_changes"
    __table_args__ = (
        # A status reported twice at the same time is one change (a sender's retry).
        UniqueConstraint("interaction_id", "status", "changed_at", name="uq_interaction_status_changes"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    interaction_id: int = Field(foreign_key="interactions.id", sa_type=BigId)
    status: str = Field(max_length=16)
    changed_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
