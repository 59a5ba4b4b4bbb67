"""What a bill earns in a program's alternate currencies, and what a return takes back: pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.kernel.bill_conditions import BillFacts, all_hold
from app.kernel.line_conditions import AttributeCondition, line_matches
from app.ledger import rules as ledger_rules
from app.organizations.config import AlternateCurrencyConfig, LineRuleConfig, ProgramConfig
from app.organizations.models import CountFrom

ZERO = Decimal(0)


def earned_value(currency: AlternateCurrencyConfig, eligible_amount: Decimal) -> Decimal:
    """The bill-level part of an award: the bill's eligible amount (what its points earn on)
    times the currency's rate, rounded once by the currency's own rule and decimal places."""
    if eligible_amount <= 0:
        return ZERO
    return ledger_rules.round_points(eligible_amount * currency.earn_rate, currency.rounding, currency.decimal_places)


@dataclass(frozen=True, slots=True)
class EarningLine:
    """A bill's line as line rules read it."""

    serial: int
    item_code: str
    qty: Decimal
    eligible_amount: Decimal  # the part of the line that earns (nothing for an outlier line or bill)
    attributes: tuple[AttributeCondition, ...]
    facts: BillFacts  # the line's own extended and custom fields


def _line_rule_value(currency: AlternateCurrencyConfig, rule: LineRuleConfig, line: EarningLine) -> Decimal:
    if rule.units_per_quantity is not None:
        exact = line.qty * rule.units_per_quantity
    else:
        assert rule.earn_rate is not None, "a line rule gives units per quantity or a rate"
        exact = line.eligible_amount * rule.earn_rate
    return ledger_rules.round_points(exact, currency.rounding, currency.decimal_places)


def line_values(currency: AlternateCurrencyConfig, lines: Sequence[EarningLine]) -> tuple[tuple[int, Decimal], ...]:
    """What each earning line (one with an earning part above zero: a free or outlier line earns
    nothing) earns by the currency's line rules, by line serial: the rule giving it most of
    those it matches, rounded per line. Lines earning nothing are left out."""
    found: list[tuple[int, Decimal]] = []
    for line in lines:
        if line.eligible_amount <= 0:
            continue
        value = max(
            (
                _line_rule_value(currency, rule, line)
                for rule in currency.line_rules
                if line_matches(rule.item_codes, rule.attributes, line.item_code, line.attributes)
                and all_hold(rule.conditions, line.facts)
            ),
            default=ZERO,
        )
        if value > 0:
            found.append((line.serial, value))
    return tuple(found)


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


@dataclass(frozen=True, slots=True)
class ReturnedLine:
    """A line's part of an award, and how much of the line is back."""

    value: Decimal  # what the line earned by line rules
    qty: Decimal  # the line's quantity
    returned_qty: Decimal  # returned so far, this return included


def returned_value(
    currency: AlternateCurrencyConfig,
    awarded: Decimal,
    returned_before: Decimal,
    returned_amount_after: Decimal,
    bill_amount: Decimal,
    lines: Sequence[ReturnedLine] = (),
    *,
    complete: bool,
) -> Decimal:
    """What a return takes back of a bill's award, less what earlier returns of the bill took
    back: of the bill-level part, its share of the eligible amount returned so far; of each line's
    part, its share of the line's quantity returned so far; all of it once the bill is wholly
    returned. Each share is rounded by the currency's rule and is of the cumulative amount or
    quantity, so a bill returned in parts gives back exactly what returning it at once would.
    (An AMOUNT return names no line: line parts come back with their lines, or with the bill.)"""
    if complete:
        due = awarded
    else:
        line_part = sum((line.value for line in lines), ZERO)
        due = ledger_rules.share_of(
            awarded - line_part, returned_amount_after, bill_amount, currency.rounding, currency.decimal_places
        ) + sum(
            (
                ledger_rules.share_of(
                    line.value, line.returned_qty, line.qty, currency.rounding, currency.decimal_places
                )
                for line in lines
            ),
            ZERO,
        )
    return max(due - returned_before, ZERO)


def check_value(value: Decimal, currency: AlternateCurrencyConfig) -> str | None:
    """Why a value cannot be of this currency (None when it can): above zero, no finer than its decimal places."""
    if value <= 0:
        return "must be greater than zero"
    if value != value.quantize(Decimal(1).scaleb(-currency.decimal_places)):
        return f"currency {currency.identifier} counts to {currency.decimal_places} decimal places"
    return None
