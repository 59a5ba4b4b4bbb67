"""Pure point calculations: rounding, expiry dates, which counter an entry moves, and how lots
pay: what a debit takes from them, what a credit into a negative balance pays the debt with.
No I/O."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from app.kernel.enums import PointsCategory
from app.kernel.money import RAW_POINTS_SCALE
from app.ledger.models import EntryKind, EntryType
from app.organizations.config import ProgramConfig
from app.organizations.models import CountFrom, ExpiryStrategy, PointsRounding

_ROUNDING_MODES = {
    PointsRounding.FLOOR: ROUND_FLOOR,
    PointsRounding.CEILING: ROUND_CEILING,
    PointsRounding.HALF_UP: ROUND_HALF_UP,
    PointsRounding.HALF_EVEN: ROUND_HALF_EVEN,
}
_RAW_QUANTUM = Decimal(1).scaleb(-RAW_POINTS_SCALE)

# The account counter each kind of entry moves besides the balance, and which way (None: the
# balance only). Posting moves them and `reconcile` recomputes them from the entries by this table.
COUNTER_BY_KIND: dict[EntryKind, tuple[str, int] | None] = {
    EntryKind.OPENING_BALANCE: None,
    EntryKind.POINTS_ALLOCATION: ("earned", 1),
    EntryKind.POINTS_RETURN: ("returned", 1),
    EntryKind.POINTS_REDEMPTION: ("redeemed", 1),
    EntryKind.REDEMPTION_REVERSAL: ("redeemed", -1),
    EntryKind.POINTS_EXPIRY: ("expired", 1),
    EntryKind.POINTS_TRANSFER: None,
    EntryKind.PROMISED_POINTS_CONVERSION: None,
    EntryKind.TRIGGER_BASED_POINTS_CONVERSION: None,
    EntryKind.MERGE: None,
    EntryKind.POINTS_ADJUSTMENT_CREDIT: ("adjusted", 1),
    EntryKind.POINTS_ADJUSTMENT_DEBIT: ("adjusted", -1),
    EntryKind.REFERRAL_AWARD: ("earned", 1),
    EntryKind.REFERRAL_REVERSAL: ("returned", 1),
}
COUNTERS = ("earned", "redeemed", "expired", "returned", "adjusted")

# Points as Decimals (an event's postings) or as the driver's scaled integers (the bulk credits).
Amount = TypeVar("Amount", int, Decimal)


def signed(entry_type: EntryType | str, points: Decimal) -> Decimal:
    return points if entry_type == EntryType.CREDIT else -points


def debt_payments(balance_before: Amount, lots: Sequence[tuple[Amount, datetime | None]]) -> list[tuple[int, Amount]]:
    """How a credit into a negative balance pays the debt first, the one rule of both write paths
    (`service.post_event`, `credits.post_credits`).

    `lots` are the credit's lots (points, expires at), which add up to the credit. The debt
    (-balance_before, at most the credit) is paid out of them soonest-expiring first
    (never-expiring last, equal dates in the order given): returns, in that order, (index in
    `lots`, points of that lot that pay the debt) for every lot. What a lot does not pay stays
    in it, so the account's lots keep holding exactly its positive balance.
    """
    if len(lots) > 1:
        # (True, None) ties compare equal without comparing the Nones.
        order: Sequence[int] = sorted(range(len(lots)), key=lambda index: (lots[index][1] is None, lots[index][1]))
    else:
        order = range(len(lots))
    debt = -balance_before if balance_before < 0 else balance_before - balance_before
    payments: list[tuple[int, Amount]] = []
    for index in order:
        paid = min(debt, lots[index][0])
        debt -= paid
        payments.append((index, paid))
    return payments


def take_from_lots(
    ordered_lots: Sequence[tuple[int, Decimal, datetime, datetime | None]], points: Decimal
) -> list[tuple[int, Decimal, datetime, datetime | None]]:
    """Take `points` from lots in the order given: (lot id, points taken, active from, expires at).
    Takes less when the lots hold less."""
    taken: list[tuple[int, Decimal, datetime, datetime | None]] = []
    left = points
    for lot_id, remaining, active_from, expires_at in ordered_lots:
        if left <= 0:
            break
        share = min(left, remaining)
        if share > 0:
            taken.append((lot_id, share, active_from, expires_at))
            left -= share
    return taken


def share_of(total: Decimal, part: Decimal, whole: Decimal, rounding: PointsRounding, decimal_places: int) -> Decimal:
    """`total` x part / whole, rounded by the program's rule and never more than `total`
    (what a partial return takes back of a bill's points)."""
    if whole <= 0 or part >= whole:
        return total
    return min(total, round_points(total * part / whole, rounding, decimal_places))


def round_points(raw: Decimal, rounding: PointsRounding, decimal_places: int) -> Decimal:
    """The program's one rounding rule, applied to the raw value once per award."""
    return raw.quantize(Decimal(1).scaleb(-decimal_places), rounding=_ROUNDING_MODES[rounding])


def quantize_raw(raw: Decimal) -> Decimal:
    """Raw (unrounded) points are kept to six decimal places, half-even."""
    return raw.quantize(_RAW_QUANTUM, rounding=ROUND_HALF_EVEN)


def end_of_local_day(day: date, time_zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=time_zone).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def lot_expiry(
    strategy: ExpiryStrategy, value: int | None, earned_at: datetime, time_zone: ZoneInfo
) -> datetime | None:
    """When points earned at `earned_at` expire: the end of a day in the org's time zone.

    - NEVER: they do not expire;
    - DAYS_AFTER_EARNING N: at the end of the Nth day after the day they were earned;
    - END_OF_MONTH_AFTER_MONTHS N: at the end of the last day of the month N months after.
    """
    local_day = earned_at.astimezone(time_zone).date()
    if strategy is ExpiryStrategy.NEVER:
        return None
    assert value is not None, "the org spec requires a value for this strategy"
    assert value >= 1, "the org spec requires a value of at least 1"
    if strategy is ExpiryStrategy.DAYS_AFTER_EARNING:
        return end_of_local_day(local_day + timedelta(days=value), time_zone)
    target = add_months(local_day.replace(day=1), value)
    return end_of_local_day(target.replace(day=calendar.monthrange(target.year, target.month)[1]), time_zone)


@dataclass(frozen=True, slots=True)
class EarnedLot:
    """Where a bill's points go (the account's category) and their lot's dates."""

    category: PointsCategory
    active_from: datetime
    expires_at: datetime | None


def earned_lot(program: ProgramConfig, billing_time: datetime, now: datetime, time_zone: ZoneInfo) -> EarnedLot:
    """A bill's points posted at `now`: spendable at once, or held the program's promised days (a
    return window), and expiring by the program's strategy. The hold counts from the bill's
    billing time or from `now` (posting) as `hold_from` says, the expiry as `expiry_from` says.
    A hold already over when the bill is posted (a till that synced late) puts the points
    straight into REGULAR, spendable at once, where the conversion would have put them.
    TRIGGER_BASED points wait for their trigger whatever this says."""
    expiry_start = billing_time if program.expiry_from is CountFrom.BILLING_TIME else now
    expires_at = lot_expiry(program.expiry_strategy, program.expiry_value, expiry_start, time_zone)
    if program.earn_category is PointsCategory.PROMISED and program.promised_days:
        hold_start = billing_time if program.hold_from is CountFrom.BILLING_TIME else now
        held_until = hold_start + timedelta(days=program.promised_days)
        if held_until > now:
            return EarnedLot(PointsCategory.PROMISED, held_until, expires_at)
        return EarnedLot(PointsCategory.REGULAR, held_until, expires_at)
    return EarnedLot(program.earn_category, now, expires_at)


def tier_expiry(program: ProgramConfig, upgraded_at: datetime, time_zone: ZoneInfo) -> datetime | None:
    """A tier reached at `upgraded_at` lasts `tier_validity_months`, to the end of that local day;
    without a validity it does not expire."""
    if not program.tier_validity_months:
        return None
    return end_of_local_day(
        add_months(upgraded_at.astimezone(time_zone).date(), program.tier_validity_months), time_zone
    )
