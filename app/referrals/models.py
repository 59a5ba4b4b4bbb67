"""Referrals: each customer's referral code, who referred them, and the awards their qualifying
purchase paid (see app/referrals/service.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, Points, UTCDateTime

REFERRAL_CODE_LENGTH = 8


class ReferralCode(SQLModel, table=True):
    """A customer's own code (given at registration, never changed) and, once, their referrer."""

    __tablename__ = "referral_codes"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        Index("ix_referral_codes_referrer", "referrer_id", "customer_id"),
        CheckConstraint("referrer_id <> customer_id", name="referral_codes_not_own_referrer"),
    )

    customer_id: int = Field(primary_key=True, foreign_key="customers.id")
    org_id: int = Field(foreign_key="organizations.id")
    code: str = Field(max_length=REFERRAL_CODE_LENGTH)
    referrer_id: int | None = Field(default=None, foreign_key="customers.id")
    referred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ReferralAward(SQLModel, table=True):
    """What a referee's qualifying purchase paid in one program: one row per referee and program
    (the unique key makes the award once), reversed at most once by a return."""

    __tablename__ = "referral_awards"
    __table_args__ = (
        UniqueConstraint("program_id", "referee_id"),
        Index("ix_referral_awards_referrer", "referrer_id", "program_id", "awarded_at"),
        Index("ix_referral_awards_transaction", "transaction_id"),
        # A merge moves the victim's awards as a referee (the unique key leads with the program).
        Index("ix_referral_awards_referee", "referee_id"),
        CheckConstraint("referee_points >= 0 AND referrer_points >= 0", name="referral_awards_points_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    program_id: int = Field(foreign_key="programs.id")
    referee_id: int = Field(foreign_key="customers.id")
    referrer_id: int = Field(foreign_key="customers.id")
    transaction_id: int = Field(foreign_key="transactions.id", sa_type=BigId)
    referee_points: Decimal = Field(sa_type=Points)
    referrer_points: Decimal = Field(sa_type=Points)  # 0 when the referrer's limits were reached
    event_id: int | None = Field(default=None, foreign_key="ledger_events.id", sa_type=BigId)
    awarded_at: datetime = Field(sa_type=UTCDateTime)
    reversal_event_id: int | None = Field(default=None, foreign_key="ledger_events.id", sa_type=BigId)
    reversed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
