"""Segments (seed 004's segment change history): named sets of customers, their members, and an
append-only history of every membership added or removed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, UTCDateTime

CODE_LENGTH_MAX = 50
NAME_LENGTH_MAX = 200
SOURCE_LENGTH_MAX = 50


class SegmentAction(StrEnum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"


class Segment(SQLModel, table=True):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    code: str = Field(max_length=CODE_LENGTH_MAX)
    name: str = Field(max_length=NAME_LENGTH_MAX)
    created_at: datetime = Field(sa_type=UTCDateTime)


class SegmentMember(SQLModel, table=True):
    """A customer in a segment: the primary key makes a membership a set (adding twice keeps one)."""

    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_customer", "org_id", "customer_id", "segment_id"),)

    segment_id: int = Field(foreign_key="segments.id", primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    added_at: datetime = Field(sa_type=UTCDateTime)


class SegmentChange(SQLModel, table=True):
    """One membership added or removed, with the request source that did it: append-only."""

    __tablename__ = "segment_changes"
    __table_args__ = (
        Index("ix_segment_changes_customer", "org_id", "customer_id", "id"),
        CheckConstraint("action IN ('ADDED', 'REMOVED')", name="segment_changes_action_known"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    segment_id: int = Field(foreign_key="segments.id")
    customer_id: int = Field(foreign_key="customers.id")
    action: str = Field(max_length=10)
    source: str = Field(max_length=SOURCE_LENGTH_MAX)
    changed_at: datetime = Field(sa_type=UTCDateTime)
