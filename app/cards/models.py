"""Loyalty cards and subledgers: the things a card-based program's points and a program's
sub-balances hang on (the Talon.One points import names them by identifier and code)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import UTCDateTime


class CardStatus(StrEnum):
    """ACTIVE takes points; BLOCKED and LOST take none (and may become ACTIVE again: a lost card
    found); REPLACED is final: the card's number moved on to a new card (`replaced_by_card_id`).
    Cards that were INACTIVE before these statuses became BLOCKED (both: no points, reversible)."""

    ACTIVE = "ACTIVE"
    BLOCKED = "BLOCKED"
    LOST = "LOST"
    REPLACED = "REPLACED"


class LoyaltyCard(SQLModel, table=True):
    """A card of one program, held by one customer: points imported onto it go to the holder's
    account in the card's program. Only an ACTIVE card takes points."""

    __tablename__ = "loyalty_cards"
    __table_args__ = (
        UniqueConstraint("program_id", "identifier"),
        UniqueConstraint("program_id", "external_id"),
        Index("ix_loyalty_cards_customer", "customer_id"),
        CheckConstraint("status IN ('ACTIVE', 'BLOCKED', 'LOST', 'REPLACED')", name="loyalty_cards_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    program_id: int = Field(foreign_key="programs.id")
    identifier: str = Field(max_length=254)
    status: str = Field(max_length=20)
    customer_id: int = Field(foreign_key="customers.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    external_id: str | None = Field(default=None, max_length=254)  # the brand's own id of the card
    replaced_by_card_id: int | None = Field(default=None, foreign_key="loyalty_cards.id")
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
