"""What a bill earns in a program's alternate currencies, and what a return takes back: pure."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.ledger import rules as ledger_rules
from app.organizations.config import AlternateCurrencyConfig, ProgramConfig
from app.organizations.models import CountFrom

ZERO = Decimal(0)


def earned_value(currency: AlternateCurrencyConfig, eligible_amount: Decimal) -> Decimal:
    """The bill's eligible amount (what its points earn on) times the currency's rate, rounded
    once by the currency's own rule and decimal places."""
    if eligible_amount <= 0:
        return ZERO
    return ledger_rules.round_points(eligible_amount * currency.earn_rate, currency.rounding, currency.decimal_places)


def lot_expiry(
    program: ProgramConfig,
    currency: AlternateCurrencyConfig,
    billing_time: datetime,
    now: datetime,
    time_zone: ZoneInfo,
) -> datetime | None:
    """When a bill's units expire: the currency's strategy, counted from the time the program's
    `expiry_from` names (the bill's billing time by default), as its points are."""
    start = billing_time if program.expiry_from is CountFrom.BILLING_TIME else now
    return ledger_rules.lot_expiry(currency.expiry_strategy, currency.expiry_value, start, time_zone)


def returned_value(
    currency: AlternateCurrencyConfig,
    awarded: Decimal,
    returned_before: Decimal,
    returned_amount_after: Decimal,
    bill_amount: Decimal,
    *,
    complete: bool,
) -> Decimal:
    """What a return takes back of a bill's award: the award's share of the amount returned so
    far (all of it once the bill is wholly returned), rounded by the currency's rule, less what
    earlier returns of the bill took back. Shares are of the cumulative amount, so a bill
    returned in parts gives back exactly what returning it at once would."""
    due = (
        awarded
        if complete
        else ledger_rules.share_of(
            awarded, returned_amount_after, bill_amount, currency.rounding, currency.decimal_places
        )
    )
    return max(due - returned_before, ZERO)


def check_value(value: Decimal, currency: AlternateCurrencyConfig) -> str | None:
    """Why a value cannot be of this currency (None when it can): above zero, no finer than its decimal places."""
    if value <= 0:
        return "must be greater than zero"
    if value != value.quantize(Decimal(1).scaleb(-currency.decimal_places)):
        return f"currency {currency.identifier} counts to {currency.decimal_places} decimal places"
    return None
