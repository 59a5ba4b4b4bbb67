"""Pure redemption rules: checking a request, where it redeems, how its points split across the
programs of a group redemption, and what a reversal may give back. No I/O.

Where a redemption draws from:
- `programCode` given: that program alone;
- else a till of a concept (tills.concept): every program of that concept, in program order, in
  one event (a group redemption);
- else the program of the till, else of the store, else the org's default program.
A group redemption follows the strictest of its programs: points with no more decimal places
than the fewest any of them allows, and at least the largest of their redemption minimums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from app.customers.rules import normalize_identifier
from app.kernel.decimals import ID_MAX, POINTS, check_decimal, read_whole_number
from app.kernel.enums import IdentifierType, TransactionSource
from app.kernel.errors import ValidationError
from app.kernel.money import POINTS_SCALE
from app.kernel.text import check_code, check_text
from app.organizations.config import OrgConfig, ProgramConfig, StoreConfig, TillConfig
from app.organizations.errors import ProgramNotFoundError
from app.organizations.rules import resolve_store_and_till
from app.redemptions.errors import AlreadyReversedError, BelowRedemptionMinimumError, ReversalLimitError
from app.redemptions.models import RedemptionStatus

ZERO = Decimal(0)
# Points stay below 10^11 so that sums of many of them fit the 64-bit columns (scaled by 10^4).
NOTES_LENGTH_MAX = 1000
EXTERNAL_REFERENCE_LENGTH_MAX = 100

Key = TypeVar("Key")


@dataclass(frozen=True)
class RedemptionInput:
    """A redeemPoints (or validateRedemption) request, as plain values."""

    customer_type: IdentifierType | None  # None: the customer is named by user id
    customer_value: str
    points: Decimal
    program_code: str | None = None
    store_code: str | None = None
    till_code: str | None = None
    source: TransactionSource = TransactionSource.INSTORE
    notes: str | None = None
    external_reference: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ReversalInput:
    redemption_id: str
    points: Decimal | None = None  # None: all that is left
    notes: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Target:
    store: StoreConfig | None
    till: TillConfig | None
    programs: tuple[ProgramConfig, ...]  # one, or a concept's programs in program order

    @property
    def is_group(self) -> bool:
        return len(self.programs) > 1

    @property
    def decimal_places(self) -> int:
        return min(program.points_decimal_places for program in self.programs)

    @property
    def minimum(self) -> Decimal:
        return max(program.redemption_minimum for program in self.programs)


@dataclass(frozen=True)
class PreparedRedemption:
    source: RedemptionInput
    customer_value: str  # normalised (an identifier as stored, a user id stripped)
    target: Target
    payload: dict[str, Any]  # what the request says, canonically: an idempotency key's payload


def canonical(value: Decimal) -> str:
    """ "100", "100.0" and "1E+2" are the same number of points."""
    return format(value.normalize(), "f") if value else "0"


def check_points(points: Decimal, *, decimal_places: int, field: str) -> Decimal:
    """Positive, in the kernel's POINTS range, and a multiple of the program's points precision."""
    check_decimal(points, field, POINTS, positive=True)
    quantum = Decimal(1).scaleb(-min(decimal_places, POINTS_SCALE))
    if points != points.quantize(quantum):
        raise ValidationError(
            f"must be a multiple of {canonical(quantum)} (the program's points precision)", field=field
        )
    return points


def resolve_target(org: OrgConfig, data: RedemptionInput, path: str) -> Target:
    store, till = resolve_store_and_till(org, data.store_code, data.till_code, path)
    if data.program_code is not None:
        program = org.program_by_code(data.program_code)
        if program is None:
            raise ProgramNotFoundError(f"no program with code {data.program_code!r}", field=f"{path}.programCode")
        return Target(store, till, (program,))
    concept = org.concept_programs(till)
    if concept:
        return Target(store, till, concept)
    return Target(store, till, (org.program_for(store, till) if store is not None else org.default_program,))


def prepare(data: RedemptionInput, org: OrgConfig, path: str = "input") -> PreparedRedemption:
    """Check everything that needs no database; raise a typed error naming the first bad field."""
    target = resolve_target(org, data, path)
    check_points(data.points, decimal_places=target.decimal_places, field=f"{path}.points")
    if data.points < target.minimum:
        raise BelowRedemptionMinimumError(
            f"must be at least {canonical(target.minimum)}, the redemption minimum of "
            f"{' / '.join(program.code for program in target.programs)}",
            field=f"{path}.points",
        )
    check_text(data.notes, f"{path}.notes", NOTES_LENGTH_MAX)
    check_code(data.external_reference, f"{path}.externalReference", EXTERNAL_REFERENCE_LENGTH_MAX)
    if data.customer_type is None:
        customer_value = data.customer_value.strip()
    else:
        customer_value = normalize_identifier(
            data.customer_type, data.customer_value, org.base_country, f"{path}.customer.value"
        )
    payload = {
        "customer": [data.customer_type.value if data.customer_type else "USER_ID", customer_value],
        "points": canonical(data.points),
        "programs": [program.id for program in target.programs],
        "store": target.store.id if target.store else None,
        "till": target.till.id if target.till else None,
        "source": data.source.value,
        "notes": data.notes,
        "externalReference": data.external_reference,
    }
    return PreparedRedemption(source=data, customer_value=customer_value, target=target, payload=payload)


def split(points: Decimal, spendable: Sequence[tuple[Key, Decimal]]) -> list[tuple[Key, Decimal]]:
    """`points` taken from each place in the order given, as much as each can spend, until done
    (the shares of a group redemption). Places that give nothing are left out."""
    shares: list[tuple[Key, Decimal]] = []
    left = points
    for key, available in spendable:
        share = min(left, max(available, ZERO))
        if share > 0:
            shares.append((key, share))
            left -= share
    assert left == 0, "the caller checked the spendable points first"
    return shares


def reversal_points(
    points: Decimal, points_reversed: Decimal, requested: Decimal | None, *, redemption_field: str, points_field: str
) -> Decimal:
    """How many points a reversal gives back: what was asked, or all that is left."""
    left = points - points_reversed
    if left <= 0:
        raise AlreadyReversedError(
            "every point of this redemption was reversed already",
            field=redemption_field,
            points_redeemed=points,
            points_reversed=points_reversed,
        )
    if requested is None:
        return left
    if requested > left:
        raise ReversalLimitError(
            f"only {canonical(left)} points of this redemption are left to reverse",
            field=points_field,
            points_redeemed=points,
            points_reversed=points_reversed,
        )
    return requested


def status_after(points: Decimal, points_reversed: Decimal) -> RedemptionStatus:
    if points_reversed == 0:
        return RedemptionStatus.REDEEMED
    return RedemptionStatus.REVERSED if points_reversed >= points else RedemptionStatus.PARTIALLY_REVERSED


def parse_id(value: str) -> int | None:
    """An id as this API returns them (decimal digits of a 64-bit id); None when it cannot be one."""
    return read_whole_number(value.strip(), ID_MAX)
