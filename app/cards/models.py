"""Loyalty cards and subledgers: the things a card-based program's points and a program's
sub-balances hang on (the Talon.One points import names them by identifier and code)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import UTCDateTime


class CardStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class LoyaltyCard(SQLModel, table=True):
    """A card of one program, held by one customer: points imported onto it go to the holder's
    account in the card's program. Only an ACTIVE card takes points."""

    __tablename__ = "loyalty_cards"
    __table_args__ = (
        UniqueConstraint("program_id", "identifier"),
        Index("ix_loyalty_cards_customer", "customer_id"),
        CheckConstraint("status IN ('ACTIVE', 'INACTIVE')", name="loyalty_cards_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    program_id: int = Field(foreign_key="programs.id")
    identifier: str = Field(max_length=254)
    status: str = Field(max_length=20)
    customer_id: int = Field(foreign_key="customers.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Subledger(SQLModel, table=True):
    """A named part of a program's points (e.g. a partner's share). Lots carry the subledger
    they were credited to, so a subledger's balance is the points left in its lots; accounts
    stay one per (customer, program, category)."""

    __tablename__ = "subledgers"
    __table_args__ = (UniqueConstraint("program_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    program_id: int = Field(foreign_key="programs.id")
    code: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
