"""Points redemptions: a burn of points, by id, that a bill can carry and a return can reverse."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, Points, UTCDateTime


class RedemptionStatus(StrEnum):
    REDEEMED = "REDEEMED"
    PARTIALLY_REVERSED = "PARTIALLY_REVERSED"
    REVERSED = "REVERSED"


class PointRedemption(SQLModel, table=True):
    __tablename__ = "point_redemptions"
    __table_args__ = (
        Index("ix_point_redemptions_customer", "customer_id", "id"),
        Index("ix_point_redemptions_transaction", "transaction_id"),
        CheckConstraint("points > 0", name="point_redemptions_points_positive"),
        CheckConstraint(
            "points_reversed >= 0 AND points_reversed <= points", name="point_redemptions_reversed_within_points"
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    event_id: int = Field(foreign_key="ledger_events.id", sa_type=BigId)  # the POINTS_REDEMPTION event
    points: Decimal = Field(sa_type=Points)  # across every program it drew from (group redemption)
    points_reversed: Decimal = Field(default=Decimal(0), sa_type=Points)
    status: str = Field(max_length=20)
    source: str | None = Field(default=None, max_length=20)
    store_id: int | None = Field(default=None, foreign_key="stores.id")
    till_id: int | None = Field(default=None, foreign_key="tills.id")
    # The bill it was applied to (addTransaction's pointsRedemptions), once applied.
    transaction_id: int | None = Field(default=None, foreign_key="transactions.id", sa_type=BigId)
    external_reference: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=1000)
    redeemed_at: datetime = Field(sa_type=UTCDateTime)


class PointRedemptionReversal(SQLModel, table=True):
    """Points of a redemption given back, by reverseRedemption or by the return of the bill it
    was applied to; they add up to the redemption's points_reversed."""

    __tablename__ = "point_redemption_reversals"
    __table_args__ = (
        Index("ix_point_redemption_reversals_redemption", "redemption_id", "id"),
        CheckConstraint("points > 0", name="point_redemption_reversals_points_positive"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    redemption_id: int = Field(foreign_key="point_redemptions.id", sa_type=BigId)
    # The event whose credits gave the points back (REDEMPTION_REVERSAL, or the TRANSACTION_RETURN of a return).
    event_id: int = Field(foreign_key="ledger_events.id", sa_type=BigId)
    points: Decimal = Field(sa_type=Points)
    transaction_id: int | None = Field(
        default=None, foreign_key="transactions.id", sa_type=BigId
    )  # the return bill, if any
    notes: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
