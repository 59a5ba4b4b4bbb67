"""Customers, their identifiers, their loyalty state per program and the history of changes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import Amount, BigId, JSONDocument, UTCDateTime


class LoyaltyType(StrEnum):
    LOYALTY = "LOYALTY"
    NON_LOYALTY = "NON_LOYALTY"


class HistoryAction(StrEnum):
    REGISTERED = "REGISTERED"
    DETAILS_UPDATED = "DETAILS_UPDATED"
    IDENTIFIER_ADDED = "IDENTIFIER_ADDED"
    IDENTIFIER_REMOVED = "IDENTIFIER_REMOVED"
    COMBINE = "COMBINE"  # the identifiers and balance of another customer moved here (merge)
    MERGED_INTO = "MERGED_INTO"  # this customer was the merge victim
    SECONDARY_IDENTIFIER_SKIPPED = "SECONDARY_IDENTIFIER_SKIPPED"


class CustomerKind(StrEnum):
    CUSTOMER = "CUSTOMER"
    USER_GROUP = "USER_GROUP"  # the account holder of a user group (app.user_groups): no identifiers


# Name keys compare by code point on both databases (SQLite's BINARY; "C" on PostgreSQL, whose
# default collation would order them by language rules and break the prefix ranges).
NameKey = String(200).with_variant(String(200, collation="C"), "postgresql")


class Customer(SQLModel, table=True):
    """A customer. `first_name_key` and `last_name_key` are the names as name search compares them
    (app.customers.rules.name_search_key), written with every name: the indexes
    ix_customers_first_name_key and ix_customers_last_name_key (org_id, key) serve a name prefix
    as a range scan, on SQLite and PostgreSQL alike."""

    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_first_name_key", "org_id", "first_name_key"),
        Index("ix_customers_last_name_key", "org_id", "last_name_key"),
        # A reversal finds the customers merged into the redeemer; few are merged, only they are indexed.
        Index(
            "ix_customers_merged_into",
            "merged_into_customer_id",
            postgresql_where=sa.text("merged_into_customer_id IS NOT NULL"),
            sqlite_where=sa.text("merged_into_customer_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)  # the seed's user_id
    org_id: int = Field(foreign_key="organizations.id", index=True)
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    first_name_key: str = Field(default="", sa_type=NameKey)
    last_name_key: str = Field(default="", sa_type=NameKey)
    loyalty_type: str = Field(max_length=20)
    source: str = Field(max_length=20)
    lifetime_purchases: Decimal = Field(sa_type=Amount)
    registered_on: datetime = Field(sa_type=UTCDateTime)
    updated_on: datetime = Field(sa_type=UTCDateTime)
    merged_into_customer_id: int | None = Field(default=None, foreign_key="customers.id")
    kind: str = Field(
        default=CustomerKind.CUSTOMER.value,
        max_length=20,
        sa_column_kwargs={"server_default": CustomerKind.CUSTOMER.value},
    )
    # Values of the customer fields the organisation declares (its file's [[customer_fields]]),
    # by field name, checked against the declaration when written; NULL: none yet.
    extended_fields: dict[str, Any] | None = Field(default=None, sa_type=JSONDocument)


class CustomerIdentifier(SQLModel, table=True):
    __tablename__ = "customer_identifiers"
    __table_args__ = (
        UniqueConstraint("org_id", "type", "value"),
        Index("ix_customer_identifiers_customer", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    type: str = Field(max_length=20)
    value: str = Field(max_length=254)
    created_at: datetime = Field(sa_type=UTCDateTime)


class CustomerHistory(SQLModel, table=True):
    """What happened to a customer's profile and identifiers, newest last (member care reads it)."""

    __tablename__ = "customer_history"
    __table_args__ = (Index("ix_customer_history_customer", "customer_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    action: str = Field(max_length=40)
    identifier_type: str | None = Field(default=None, max_length=20)
    identifier_value: str | None = Field(default=None, max_length=254)
    other_customer_id: int | None = Field(default=None, foreign_key="customers.id")
    transaction_id: int | None = Field(default=None, sa_type=BigId)
    details: dict[str, Any] | None = Field(default=None, sa_type=JSONDocument)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # The seed's Source and Account columns: where a change identifier or merge request came from.
    source: str | None = Field(default=None, max_length=20)
    account: str | None = Field(default=None, max_length=64)
    # True for what member care asked for (changeIdentifier, mergeCustomers): the seed's identifier
    # history lists only these, not what a purchase did on its own (an automatic merge).
    requested: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class CustomerProgram(SQLModel, table=True):
    """A customer's standing in one loyalty program: tier and cumulative purchases."""

    __tablename__ = "customer_programs"
    __table_args__ = (
        UniqueConstraint("customer_id", "program_id"),
        # The tier expiry run walks it (app.customers.tiers).
        Index("ix_customer_programs_tier_expiry", "org_id", "tier_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    program_id: int = Field(foreign_key="programs.id")
    tier_id: int = Field(foreign_key="tiers.id")
    tier_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cumulative_purchases: Decimal = Field(sa_type=Amount)


class UserGroupMember(SQLModel, table=True):
    """A customer in a user group. A customer may be in several groups (a fleet and a family);
    a merge moves the memberships to the survivor, so they live with the customer."""

    __tablename__ = "user_group_members"
    __table_args__ = (Index("ix_user_group_members_customer", "customer_id"),)

    group_id: int = Field(foreign_key="user_groups.id", primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    added_at: datetime = Field(sa_type=UTCDateTime)


class TierChangeKind(StrEnum):
    UPGRADE = "UPGRADE"
    DOWNGRADE = "DOWNGRADE"
    EXPIRY = "EXPIRY"  # the tier's validity ended: back to the base tier (app.customers.tiers)


class TierChangeCause(StrEnum):
    PURCHASE = "PURCHASE"  # a bill (transaction_id) raised the cumulative purchases
    RETURN = "RETURN"  # a return (transaction_id) lowered them
    MERGE = "MERGE"  # another customer's purchases moved here
    TIER_EXPIRY = "TIER_EXPIRY"  # the maintenance run found the tier's validity ended


class TierChange(SQLModel, table=True):
    """Member care's slab history: every change of a customer's tier in a program, append-only."""

    __tablename__ = "tier_changes"
    __table_args__ = (Index("ix_tier_changes_customer", "customer_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    program_id: int = Field(foreign_key="programs.id")
    kind: str = Field(max_length=20)
    cause: str = Field(max_length=20)
    tier_id_before: int = Field(foreign_key="tiers.id")
    tier_id_after: int = Field(foreign_key="tiers.id")
    tier_expires_at_after: datetime | None = Field(default=None, sa_type=UTCDateTime)
    transaction_id: int | None = Field(default=None, sa_type=BigId)
    created_at: datetime = Field(sa_type=UTCDateTime)
