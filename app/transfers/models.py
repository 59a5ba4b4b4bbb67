"""Points transfers between two customers of one organisation and program."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, Points, UTCDateTime


class PointTransfer(SQLModel, table=True):
    __tablename__ = "point_transfers"
    __table_args__ = (
        # A customer's transfers are listed from the ledger, by event (app.transfers.service).
        Index("ix_point_transfers_event", "event_id", unique=True),
        CheckConstraint("points > 0", name="point_transfers_points_positive"),
        CheckConstraint("from_customer_id <> to_customer_id", name="point_transfers_two_customers"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)  # the transfer id
    org_id: int = Field(foreign_key="organizations.id")
    from_customer_id: int = Field(foreign_key="customers.id")
    to_customer_id: int = Field(foreign_key="customers.id")
    program_id: int = Field(foreign_key="programs.id")
    points: Decimal = Field(sa_type=Points)
    event_id: int = Field(foreign_key="ledger_events.id", sa_type=BigId)
    notes: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
