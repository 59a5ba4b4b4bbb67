"""Trackers: values an org tracks on bills (e.g. litres of fuel, kilometres), and the points
they issue.

A tracker is TRANSACTION level (a value per bill) or LINE_ITEM level (a value per line of a
bill). A tracked value is attached to an existing bill of its account holder (a customer, or a
member of a user group for the group) and may issue points: round(value x points_per_unit) by
the program's rounding rule, credited in one TRACKER_POINTS ledger event tagged with the value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import Amount, BigId, Points, Rate, UTCDateTime

CODE_LENGTH_MAX = 64
NAME_LENGTH_MAX = 200


class TrackerLevel(StrEnum):
    TRANSACTION = "TRANSACTION"
    LINE_ITEM = "LINE_ITEM"


class Tracker(SQLModel, table=True):
    __tablename__ = "trackers"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        CheckConstraint("points_per_unit >= 0", name="trackers_points_per_unit_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    code: str = Field(max_length=CODE_LENGTH_MAX)
    name: str = Field(max_length=NAME_LENGTH_MAX)
    level: str = Field(max_length=20)
    program_id: int = Field(foreign_key="programs.id")
    points_per_unit: Decimal = Field(sa_type=Rate)  # 0: the tracker only tracks
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class TrackerValue(SQLModel, table=True):
    __tablename__ = "tracker_values"
    __table_args__ = (
        # The loyalty tracker history walks one account holder's values newest first.
        Index("ix_tracker_values_customer", "customer_id", "id"),
        Index("ix_tracker_values_transaction", "transaction_id"),
        CheckConstraint("points >= 0", name="tracker_values_points_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    tracker_id: int = Field(foreign_key="trackers.id")
    customer_id: int = Field(foreign_key="customers.id")  # the account credited (a group's backing row for a group)
    transaction_id: int = Field(foreign_key="transactions.id", sa_type=BigId)
    line_item_id: int | None = Field(default=None, foreign_key="transaction_line_items.id", sa_type=BigId)
    value: Decimal = Field(sa_type=Amount)
    points: Decimal = Field(sa_type=Points)  # issued on this value (0: none)
    created_at: datetime = Field(sa_type=UTCDateTime)
