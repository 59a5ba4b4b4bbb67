"""Leads (the seed's Leads tab): a sales opportunity for one customer, its status history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, JSONDocument, UTCDateTime

LEAD_TYPE_LENGTH_MAX = 100
LEAD_FOR_LENGTH_MAX = 100
SUB_STATUS_LENGTH_MAX = 100


class LeadStatus(StrEnum):
    """OPEN and IN_PROGRESS are live; WON and LOST close a lead (a closed lead may be reopened)."""

    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    WON = "WON"
    LOST = "LOST"


_STATUSES = ", ".join(f"'{status.value}'" for status in LeadStatus)


class Lead(SQLModel, table=True):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_customer", "org_id", "customer_id", "id"),
        CheckConstraint(f"status IN ({_STATUSES})", name="leads_status_known"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)  # the lead id
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")  # the lead owner: always the customer
    lead_type: str = Field(max_length=LEAD_TYPE_LENGTH_MAX)  # product (SKU) or category
    lead_for: str = Field(max_length=LEAD_FOR_LENGTH_MAX)  # product SKU, variant SKU or category id
    status: str = Field(max_length=20)
    sub_status: str | None = Field(default=None, max_length=SUB_STATUS_LENGTH_MAX)
    extended_fields: dict[str, Any] = Field(sa_type=JSONDocument)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    last_follow_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_follow_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LeadStatusChange(SQLModel, table=True):
    """One row per status (or sub-status) a lead took, the first one on creation: append-only."""

    __tablename__ = "lead_status_changes"
    __table_args__ = (
        Index("ix_lead_status_changes_lead", "lead_id", "id"),
        CheckConstraint(f"status IN ({_STATUSES})", name="lead_status_changes_status_known"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    lead_id: int = Field(foreign_key="leads.id", sa_type=BigId)
    status: str = Field(max_length=20)
    sub_status: str | None = Field(default=None, max_length=SUB_STATUS_LENGTH_MAX)
    changed_at: datetime = Field(sa_type=UTCDateTime)
