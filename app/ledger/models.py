"""The append-only points ledger: accounts, events, entries and the lots points are earned as.

An account is (customer, program, points category). An event (customer registration,
transaction add, ...) owns one or more entries; an entry is a credit or a debit on one account
and records the account balance after it. Nothing here is ever updated except the cached
counters of `point_accounts` and the `points_remaining` of lots, both of which the
reconciliation check recomputes from the entries.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, Points, UTCDateTime


class EventType(StrEnum):
    CUSTOMER_REGISTRATION = "CUSTOMER_REGISTRATION"
    TRANSACTION_ADD = "TRANSACTION_ADD"
    TRANSACTION_RETURN = "TRANSACTION_RETURN"
    POINTS_REDEMPTION = "POINTS_REDEMPTION"
    REDEMPTION_REVERSAL = "REDEMPTION_REVERSAL"
    POINTS_EXPIRY = "POINTS_EXPIRY"
    POINTS_TRANSFER = "POINTS_TRANSFER"
    PROMISED_POINTS_CONVERSION = "PROMISED_POINTS_CONVERSION"
    TRIGGER_BASED_POINTS_CONVERSION = "TRIGGER_BASED_POINTS_CONVERSION"
    MERGE_CUSTOMER = "MERGE_CUSTOMER"
    POINTS_IMPORT = "POINTS_IMPORT"  # "Imported points": a row of a bulk import (app.imports)
    CUSTOMER_PROMOTION = "CUSTOMER_PROMOTION"  # points awarded by a points promotion
    TRACKER_POINTS = "TRACKER_POINTS"  # points issued on a tracked value
    POINTS_ADJUSTMENT = "POINTS_ADJUSTMENT"  # a manual credit or debit by member care (app.adjustments)
    # A program's alternate currencies (app.currencies): earned on a bill, taken back by its
    # returns (correcting the award event), redeemed by member care or a brand's app.
    ALTERNATE_CURRENCY_AWARD = "ALTERNATE_CURRENCY_AWARD"
    ALTERNATE_CURRENCY_RETURN = "ALTERNATE_CURRENCY_RETURN"
    ALTERNATE_CURRENCY_REDEMPTION = "ALTERNATE_CURRENCY_REDEMPTION"
    ALTERNATE_CURRENCY_TRANSFER = "ALTERNATE_CURRENCY_TRANSFER"  # between two customers (transferAlternateCurrency)
    REFERRAL_AWARD = "REFERRAL_AWARD"  # a referee's qualifying purchase pays both customers (app.referrals)
    REFERRAL_REVERSAL = "REFERRAL_REVERSAL"  # a return took that purchase below the qualifying rule
    # An opening balance brought from another system (the seed's PointsLedgerBulkJob, app.imports.ledger_history).
    POINTS_LEDGER_BULK_JOB = "POINTS_LEDGER_BULK_JOB"


class EntryType(StrEnum):
    CREDIT = "CREDIT"
    DEBIT = "DEBIT"


class EntryKind(StrEnum):
    """What an entry does; each kind moves exactly one of the account's counters."""

    OPENING_BALANCE = "OPENING_BALANCE"
    POINTS_ALLOCATION = "POINTS_ALLOCATION"
    POINTS_RETURN = "POINTS_RETURN"
    POINTS_REDEMPTION = "POINTS_REDEMPTION"
    REDEMPTION_REVERSAL = "REDEMPTION_REVERSAL"
    POINTS_EXPIRY = "POINTS_EXPIRY"
    POINTS_TRANSFER = "POINTS_TRANSFER"
    PROMISED_POINTS_CONVERSION = "PROMISED_POINTS_CONVERSION"
    TRIGGER_BASED_POINTS_CONVERSION = "TRIGGER_BASED_POINTS_CONVERSION"
    MERGE = "MERGE"
    # Member care's manual adjustments: both move the `adjusted` counter (net: credits less debits).
    POINTS_ADJUSTMENT_CREDIT = "POINTS_ADJUSTMENT_CREDIT"
    POINTS_ADJUSTMENT_DEBIT = "POINTS_ADJUSTMENT_DEBIT"
    # Referral awards count as earned points; their reversal as returned ones (as a bill's return).
    REFERRAL_AWARD = "REFERRAL_AWARD"
    REFERRAL_REVERSAL = "REFERRAL_REVERSAL"


# The partial-index predicate of transfer entries; the queries that want those indexes repeat it.
TRANSFER_ENTRY = "entry_kind = 'POINTS_TRANSFER'"


class PointAccount(SQLModel, table=True):
    __tablename__ = "point_accounts"
    __table_args__ = (
        UniqueConstraint("customer_id", "program_id", "category"),
        CheckConstraint("earned >= 0", name="point_accounts_earned_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    program_id: int = Field(foreign_key="programs.id")
    category: str = Field(max_length=20)
    # Cached sums of this account's entries, kept for speed; `reconcile` proves them.
    balance: Decimal = Field(sa_type=Points)
    earned: Decimal = Field(sa_type=Points)  # lifetime points allocated
    redeemed: Decimal = Field(sa_type=Points)
    expired: Decimal = Field(sa_type=Points)
    returned: Decimal = Field(sa_type=Points)
    adjusted: Decimal = Field(sa_type=Points)
    created_at: datetime = Field(sa_type=UTCDateTime)


class LedgerEvent(SQLModel, table=True):
    __tablename__ = "ledger_events"
    __table_args__ = (
        # Each link is indexed only where set: most events have none of them (an import writes
        # an event per row), and the queries name the link, which implies it is not NULL.
        Index(
            "ix_ledger_events_transaction",
            "transaction_id",
            postgresql_where=text("transaction_id IS NOT NULL"),
            sqlite_where=text("transaction_id IS NOT NULL"),
        ),
        Index(
            "ix_ledger_events_customer_promotion",
            "customer_promotion_id",
            postgresql_where=text("customer_promotion_id IS NOT NULL"),
            sqlite_where=text("customer_promotion_id IS NOT NULL"),
        ),
        Index(
            "ix_ledger_events_tracker_value",
            "tracker_value_id",
            postgresql_where=text("tracker_value_id IS NOT NULL"),
            sqlite_where=text("tracker_value_id IS NOT NULL"),
        ),
        # A return of a bill's alternate currencies sums what earlier returns took back by the
        # award event they correct.
        Index(
            "ix_ledger_events_corrects",
            "corrects_event_id",
            postgresql_where=text("corrects_event_id IS NOT NULL"),
            sqlite_where=text("corrects_event_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)  # the seed's event log id
    org_id: int = Field(foreign_key="organizations.id")
    event_type: str = Field(max_length=40)
    customer_id: int | None = Field(default=None, foreign_key="customers.id")
    source: str | None = Field(default=None, max_length=20)
    store_id: int | None = Field(default=None, foreign_key="stores.id")
    till_id: int | None = Field(default=None, foreign_key="tills.id")
    transaction_id: int | None = Field(default=None, sa_type=BigId)
    transaction_number: str | None = Field(default=None, max_length=50)
    # A correction (reversal, return) points at the event it corrects; nothing is ever rewritten.
    corrects_event_id: int | None = Field(default=None, foreign_key="ledger_events.id", sa_type=BigId)
    points_on_event: Decimal = Field(sa_type=Points)  # net of the event's credits and debits
    created_at: datetime = Field(sa_type=UTCDateTime)
    # POINTS_IMPORT: the import job that wrote it and the row's reason.
    import_job_id: int | None = Field(default=None, foreign_key="import_jobs.id", sa_type=BigId)
    reason: str | None = Field(default=None, max_length=255)
    # What awarded the points: a points promotion (CUSTOMER_PROMOTION), a tracked value (TRACKER_POINTS).
    customer_promotion_id: int | None = Field(default=None, foreign_key="customer_promotions.id")
    tracker_value_id: int | None = Field(default=None, foreign_key="tracker_values.id", sa_type=BigId)


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        # Ledger pages walk one customer's entries newest first by id (keyset pagination).
        Index("ix_ledger_entries_customer_id", "customer_id", "id"),
        Index("ix_ledger_entries_account_id", "account_id", "id"),
        # A customer's transfers (points and alternate currencies) newest first by event: only
        # transfer entries, so no other entry pays for it.
        Index(
            "ix_ledger_entries_transfers",
            "customer_id",
            "event_id",
            postgresql_where=text(TRANSFER_ENTRY),
            sqlite_where=text(TRANSFER_ENTRY),
        ),
        # An event's entries (a reversal's, a replay's; a transfer's other party), and the entries
        # correcting another (few: only they are indexed).
        Index("ix_ledger_entries_event_id", "event_id"),
        Index(
            "ix_ledger_entries_corrects",
            "corrects_entry_id",
            postgresql_where=text("corrects_entry_id IS NOT NULL"),
            sqlite_where=text("corrects_entry_id IS NOT NULL"),
        ),
        CheckConstraint("points >= 0", name="ledger_entries_points_not_negative"),
        CheckConstraint("entry_type IN ('CREDIT', 'DEBIT')", name="ledger_entries_entry_type"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    event_id: int = Field(foreign_key="ledger_events.id", sa_type=BigId)
    account_id: int = Field(foreign_key="point_accounts.id")
    # Copied from the account and the event so ledger filters need no join.
    customer_id: int = Field(foreign_key="customers.id")
    program_id: int = Field(foreign_key="programs.id")
    category: str = Field(max_length=20)
    event_type: str = Field(max_length=40)
    source: str | None = Field(default=None, max_length=20)
    store_id: int | None = Field(default=None, foreign_key="stores.id")
    till_id: int | None = Field(default=None, foreign_key="tills.id")
    entry_type: str = Field(max_length=10)
    entry_kind: str = Field(max_length=40)
    points: Decimal = Field(sa_type=Points)  # always >= 0; entry_type gives the sign
    balance_after: Decimal = Field(sa_type=Points)
    # A reversal credit names the debit it gives back (a redemption's, a transfer's ...).
    corrects_entry_id: int | None = Field(default=None, foreign_key="ledger_entries.id", sa_type=BigId)
    created_at: datetime = Field(sa_type=UTCDateTime)


# Partial-index predicates; the queries that want these indexes repeat them word for word.
OPEN_LOT = "points_remaining > 0"
PROMISED_LOT = "category = 'PROMISED' AND points_remaining > 0"


class PointLot(SQLModel, table=True):
    """Points earned together, with when they become spendable and when they expire.

    Every change to `points_remaining` is a `PointLotMovement` of some entry, so
    points_remaining = points + sum(movements); and an account's lots hold exactly its positive
    balance: sum(points_remaining) = max(balance, 0). `reconcile` checks both.
    """

    __tablename__ = "point_lots"
    __table_args__ = (
        Index("ix_point_lots_account_expiry", "account_id", "expires_at"),
        # The expiry run: only lots with points left, so expired and spent lots drop out of it.
        Index(
            "ix_point_lots_expiry", "org_id", "expires_at", postgresql_where=text(OPEN_LOT), sqlite_where=text(OPEN_LOT)
        ),
        # Promised points coming due (the conversion run): PROMISED lots with points left.
        Index(
            "ix_point_lots_promised",
            "org_id",
            "active_from",
            postgresql_where=text(PROMISED_LOT),
            sqlite_where=text(PROMISED_LOT),
        ),
        CheckConstraint(
            "points_remaining >= 0 AND points_remaining <= points",
            name="point_lots_remaining_within_points",
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    account_id: int = Field(foreign_key="point_accounts.id")
    category: str = Field(max_length=20)  # the account's, copied so the conversion run needs no join
    entry_id: int = Field(foreign_key="ledger_entries.id", sa_type=BigId, index=True)  # the credit that made it
    points: Decimal = Field(sa_type=Points)
    points_remaining: Decimal = Field(sa_type=Points)
    active_from: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    subledger_id: int | None = Field(default=None, foreign_key="subledgers.id")  # a subledger's balance: its lots


class PointLotMovement(SQLModel, table=True):
    """What an entry did to a lot: a debit consumed points from it (negative), a reversal gave
    them back (positive), a credit into a negative balance settled the debt out of its new lot."""

    __tablename__ = "point_lot_movements"
    __table_args__ = (
        Index("ix_point_lot_movements_lot", "lot_id"),
        Index("ix_point_lot_movements_entry", "entry_id"),
        CheckConstraint("points <> 0", name="point_lot_movements_points_not_zero"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    lot_id: int = Field(foreign_key="point_lots.id", sa_type=BigId)
    entry_id: int = Field(foreign_key="ledger_entries.id", sa_type=BigId)
    points: Decimal = Field(sa_type=Points)


class LotExpiryNotice(SQLModel, table=True):
    """A lot whose `points.expiring` event was emitted (the organisation's expiry notice window):
    its primary key makes the notice once per lot, however often or concurrently the run runs."""

    __tablename__ = "lot_expiry_notices"

    lot_id: int = Field(primary_key=True, foreign_key="point_lots.id", sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
