"""Manual points adjustments: one row per adjustment, beside its POINTS_ADJUSTMENT ledger event."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, Points, UTCDateTime

NOTE_LENGTH_MAX = 1000


class AdjustmentReason(StrEnum):
    """Why member care moved points by hand (mandatory; OTHER says it in the note)."""

    GOODWILL = "GOODWILL"  # a gesture for a complaint or an inconvenience
    MISSED_PURCHASE = "MISSED_PURCHASE"  # a purchase that did not reach the loyalty system
    SERVICE_RECOVERY = "SERVICE_RECOVERY"  # a failed service or delivery made good
    ERROR_CORRECTION = "ERROR_CORRECTION"  # points given or taken by mistake
    FRAUD = "FRAUD"  # points obtained by abuse, taken back
    OTHER = "OTHER"


class PointsAdjustment(SQLModel, table=True):
    __tablename__ = "points_adjustments"
    __table_args__ = (
        Index("ix_points_adjustments_customer", "customer_id", "id"),
        CheckConstraint("points > 0", name="points_adjustments_points_positive"),
        CheckConstraint("entry_type IN ('CREDIT', 'DEBIT')", name="points_adjustments_entry_type"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    program_id: int = Field(foreign_key="programs.id")
    entry_type: str = Field(max_length=10)  # CREDIT adds points, DEBIT takes them
    points: Decimal = Field(sa_type=Points)
    reason: str = Field(max_length=40)
    note: str = Field(max_length=NOTE_LENGTH_MAX)
    event_id: int = Field(foreign_key="ledger_events.id", sa_type=BigId)
    created_at: datetime = Field(sa_type=UTCDateTime)
