"""What the ledger's services and its repository hand each other and the domains above them:
small frozen values (account and lot references, postings, pages, reports). No I/O.

They live here, not in `service.py` or `repository.py`, because both of those need them and
neither may import the other back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from app.kernel.currencies import AccountCategory
from app.kernel.enums import PointsCategory
from app.ledger.models import EntryKind, EntryType, EventType

ZERO = Decimal(0)
PAGE_SIZE_MAX = 100  # every list of this API pages by at most this many
# Downloads read a list in pages this large (fewer round trips); what a client asks for stays at PAGE_SIZE_MAX.
READ_PAGE_SIZE_MAX = 1000
DEFAULT_WINDOW = timedelta(days=7)


# --- Writing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: int
    customer_id: int
    program_id: int
    category: AccountCategory  # a points category, or an alternate currency's (app.kernel.currencies)


@dataclass(frozen=True, slots=True)
class LotDraft:
    points: Decimal
    active_from: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class LotShare:
    """Points of one existing lot: what a debit takes from it or a reversal gives back."""

    lot_id: int
    points: Decimal
    active_from: datetime
    expires_at: datetime | None

    def as_draft(self) -> LotDraft:
        """The same points as a new lot elsewhere (a transfer or merge carries the expiry along)."""
        return LotDraft(self.points, self.active_from, self.expires_at)


@dataclass(frozen=True, slots=True)
class Posting:
    """One entry to write. Lots follow the entry:
    - a credit creates `lots` (new points) and/or gives points back to `restores` (a reversal);
      into a negative balance, the credit pays the debt first, out of its soonest-expiring lots
      (`rules.debt_payments`);
    - a debit consumes `consumes` when given, else lots first-expiring first (spendable lots
      before pending ones, `prefer_lot_ids` before all), never more than the lots hold: what it
      takes beyond them makes the balance negative.
    """

    account: AccountRef
    entry_type: EntryType
    entry_kind: EntryKind
    points: Decimal
    lots: tuple[LotDraft, ...] = ()
    restores: tuple[LotShare, ...] = ()
    consumes: tuple[LotShare, ...] | None = None
    prefer_lot_ids: tuple[int, ...] = ()
    corrects_entry_id: int | None = None  # on a reversal credit: the debit it gives back

    def __post_init__(self) -> None:
        assert self.points >= 0, "entries carry non-negative points; entry_type gives the sign"
        if self.entry_type is EntryType.CREDIT:
            assert self.consumes is None, "credits do not consume lots"
            assert not self.prefer_lot_ids, "credits do not consume lots"
            if self.lots or self.restores:
                given = sum((lot.points for lot in self.lots), ZERO) + sum(
                    (share.points for share in self.restores), ZERO
                )
                assert given == self.points, "a credit's lots add up to the credit"
        else:
            assert not self.lots, "debits do not create lots"
            assert not self.restores, "debits do not restore lots"


@dataclass(frozen=True, slots=True)
class EventDraft:
    event_type: EventType
    customer_id: int | None
    source: str | None
    store_id: int | None
    till_id: int | None
    transaction_id: int | None = None
    transaction_number: str | None = None
    corrects_event_id: int | None = None


@dataclass(frozen=True, slots=True)
class PostedEntry:
    id: int
    account_id: int
    points: Decimal
    balance_after: Decimal
    lots_consumed: tuple[LotShare, ...] = ()


@dataclass(frozen=True, slots=True)
class PostedEvent:
    id: int
    points_on_event: Decimal
    entries: tuple[PostedEntry, ...]


class StoredDebit(NamedTuple):
    """One debit in its own event, planned by a bulk path in stored points (scaled integers):
    the entry's points and balance after, dated `at`, and the lots it takes from as (lot id,
    points taken). What it takes beyond its lots went into a negative balance."""

    account: AccountRef
    event_type: EventType
    entry_kind: EntryKind
    points: int
    balance_after: int
    at: datetime | None
    taken: tuple[tuple[int, int], ...]
    import_job_id: int | None = None
    reason: str | None = None


class CreditDraft(NamedTuple):
    """One credit of `points` (> 0) to `account`, in its own event, making one lot of those points
    spendable from `active_from` and expiring at `expires_at` (None: never).

    A tuple, not a dataclass: an import builds a million of them (a frozen dataclass cost 6 us each)."""

    account: AccountRef
    points: Decimal
    active_from: datetime
    expires_at: datetime | None
    event_type: EventType
    entry_kind: EntryKind = EntryKind.POINTS_ALLOCATION
    source: str | None = None
    store_id: int | None = None
    till_id: int | None = None
    transaction_id: int | None = None
    transaction_number: str | None = None
    customer_promotion_id: int | None = None
    tracker_value_id: int | None = None
    import_job_id: int | None = None  # POINTS_IMPORT: the job, the row's reason, the lot's subledger
    reason: str | None = None
    subledger_id: int | None = None


class PostedCredit(NamedTuple):
    event_id: int
    entry_id: int
    balance_after: Decimal


@dataclass(frozen=True, slots=True)
class EventSummary:
    """An event as the domain that wrote it reads it back (an idempotent replay)."""

    id: int
    customer_id: int | None
    points_on_event: Decimal
    created_at: datetime
    customer_promotion_id: int | None
    tracker_value_id: int | None


# --- Reading the ledger ---------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerFilter:
    """The view of one customer's ledger; an empty list or None means no filter on that field."""

    sources: tuple[str, ...] = ()
    till_ids: tuple[int, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    entry_type: EntryType | None = None
    categories: tuple[PointsCategory, ...] = ()
    program_ids: tuple[int, ...] = ()
    # includeTillConceptEvents: with a program filter, also the group redemption entries (of any
    # program) made at these tills, the tills of the filtered programs' concepts.
    concept_till_ids: tuple[int, ...] = ()
    # Entries that credited a lot of these subledgers or moved points of one (a debit that
    # consumed from several subledgers shows whole in each).
    subledger_ids: tuple[int, ...] = ()
    # One alternate currency's entries (its account category) instead of points; None: points.
    currency_category: str | None = None
    entry_kinds: tuple[EntryKind, ...] = ()  # e.g. REFERRAL_AWARD: what a referral paid

    def with_default_window(self, now: datetime) -> LedgerFilter:
        """The seed's default: the last 7 days when no date is given."""
        if self.start is None and self.end is None:
            return replace(self, start=now - DEFAULT_WINDOW)
        return self


class LedgerEntryView(NamedTuple):
    """A ledger page's entry. A NamedTuple: built as a frozen dataclass (each field set through
    object.__setattr__, ~2 us an entry) it was about a tenth of a page of 100's CPU."""

    id: int
    event_id: int
    event_type: str
    entry_type: str
    entry_kind: str
    created_at: datetime
    program_id: int
    category: str
    points: Decimal
    balance_after: Decimal
    points_on_event: Decimal
    source: str | None
    store_id: int | None
    till_id: int | None
    transaction_id: int | None
    transaction_number: str | None
    customer_promotion_id: int | None = None
    tracker_value_id: int | None = None
    reason: str | None = None  # POINTS_IMPORT: the row's reason column
    import_job_id: int | None = None  # POINTS_IMPORT: the job that wrote it


@dataclass(frozen=True, slots=True)
class TransferEntryView:
    """A customer's side of a transfer, of points or of an alternate currency (entry kind POINTS_TRANSFER)."""

    event_id: int
    entry_type: str  # DEBIT: the customer sent it; CREDIT: the customer received it
    program_id: int
    category: str  # REGULAR for points, else the alternate currency's account category
    points: Decimal  # points, or units of the currency
    created_at: datetime
    other_customer_id: int  # the other party: its entry of the same event


@dataclass(frozen=True)
class TransferCategories:
    """Which transfers a list shows, by account category: None and False for both kinds."""

    category: str | None = None  # only this category's: REGULAR (points) or one currency's
    currencies_only: bool = False  # only alternate currencies' (any of them)


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntryView]
    has_next_page: bool


@dataclass(frozen=True)
class ProgramHoldings:
    """A customer's points in one program beyond the spendable balance."""

    pending: Decimal  # in lots not active yet and not past their expiry (promised, or imported with a start date)
    promised: Decimal  # the PROMISED account's balance less its points past their expiry
    trigger_based: Decimal  # the TRIGGER_BASED account's balance less its points past their expiry
    spendable: Decimal  # REGULAR lots active now and not past their expiry date


@dataclass(frozen=True)
class ScheduledExpiry:
    date: date  # in the org's time zone
    program_id: int
    points: Decimal


@dataclass(frozen=True)
class ExpiredPoints:
    entry_id: int
    event_id: int
    expired_at: datetime  # when the expiry run wrote it
    program_id: int
    category: str
    points: Decimal


@dataclass(frozen=True)
class ExpiredPointsPage:
    items: list[ExpiredPoints]
    has_next_page: bool


# --- Runs and checks ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunReport:
    """What a run did: accounts it wrote an event for, lots it consumed, points it moved."""

    accounts: int = 0
    lots: int = 0
    points: Decimal = ZERO

    def __add__(self, other: RunReport) -> RunReport:
        return RunReport(self.accounts + other.accounts, self.lots + other.lots, self.points + other.points)


@dataclass(frozen=True)
class Discrepancy:
    account_id: int
    customer_id: int
    program_id: int
    category: str
    counter: str
    stored: Decimal
    from_entries: Decimal


@dataclass(frozen=True)
class ReconciliationReport:
    checked_accounts: int
    discrepancies: list[Discrepancy]


@dataclass(frozen=True)
class SubledgerHoldings:
    """A customer's points in one subledger of one program: what its lots hold."""

    program_id: int
    subledger_id: int
    pending: Decimal  # in lots not active yet
    spendable: Decimal  # in lots active now and not past their expiry date


@dataclass(frozen=True)
class ConsumedLot:
    """What a ledger entry took from one lot (the lot trace): the earn that made the lot and the
    points this entry consumed of it."""

    entry_id: int  # the entry that consumed (a debit: redemption, expiry, return, transfer ...)
    earn_entry_id: int  # the credit that made the lot
    earn_event_id: int
    points: Decimal
    earned_at: datetime
    active_from: datetime
    expires_at: datetime | None
    subledger_id: int | None
