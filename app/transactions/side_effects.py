"""What a bill did, kept with it: one frozen dataclass per kind of side effect.

addTransaction and returnTransaction build these; `to_document` writes them to the bill's
`side_effects` JSON column and `from_document` reads them back, so a replay tells the same.

The stored document is a storage format, not the API's output: its keys and type tags are the
ones bills have been stored with from the start (camelCase, amounts as text), kept as they are so
every row already written reads back unchanged and no migration is needed. They appear in this
module only; the GraphQL layer maps the dataclasses to its own types.

Promotions does not import this module (transactions imports promotions): it hands back its
applied codes as its own small dataclass, which transactions turns into `PromoCodeApplied`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, assert_never

from app.kernel.enums import IdentifierType


class SideEffectKind(StrEnum):
    CUSTOMER_RESOLVED = "CUSTOMER_RESOLVED"
    POINTS_AWARDED = "POINTS_AWARDED"
    TIER_UPGRADED = "TIER_UPGRADED"
    POINTS_RETURNED = "POINTS_RETURNED"
    REDEMPTION_REVERSED = "REDEMPTION_REVERSED"
    TIER_DOWNGRADED = "TIER_DOWNGRADED"
    PROMO_CODE_APPLIED = "PROMO_CODE_APPLIED"
    ALTERNATE_CURRENCY = "ALTERNATE_CURRENCY"
    ALTERNATE_CURRENCY_RETURNED = "ALTERNATE_CURRENCY_RETURNED"
    REFERRAL_AWARDED = "REFERRAL_AWARDED"


@dataclass(frozen=True)
class SkippedIdentifier:
    identifier_type: IdentifierType
    value: str


@dataclass(frozen=True)
class CustomerResolved:
    """How the bill's customer was found: registered now, others merged in, identifiers skipped."""

    kind: ClassVar[SideEffectKind] = SideEffectKind.CUSTOMER_RESOLVED
    customer_id: int
    registered: bool
    merged_customer_ids: tuple[int, ...] = ()
    skipped_identifiers: tuple[SkippedIdentifier, ...] = ()
    # NON_LOYALTY: known by an identifier, not enrolled, and the bill earned nothing.
    loyalty_type: str = "LOYALTY"


@dataclass(frozen=True)
class PointsAwarded:
    """Points a purchase earned in one program, rounded by the program's rule and raw."""

    kind: ClassVar[SideEffectKind] = SideEffectKind.POINTS_AWARDED
    customer_id: int
    program_id: int
    program_code: str
    points_awarded: Decimal
    points_awarded_raw: Decimal
    balance_after: Decimal | None  # None when nothing was awarded
    entity_type: str = "USER"


@dataclass(frozen=True)
class TierUpgraded:
    kind: ClassVar[SideEffectKind] = SideEffectKind.TIER_UPGRADED
    program_id: int
    program_code: str
    tier_name_before: str
    tier_number_before: int
    tier_name_after: str
    tier_number_after: int


@dataclass(frozen=True)
class PointsReturned:
    """Points a return took back in one program; the rest of the bill's share was already spent."""

    kind: ClassVar[SideEffectKind] = SideEffectKind.POINTS_RETURNED
    customer_id: int
    program_id: int
    program_code: str
    points_returned: Decimal
    points_not_recovered: Decimal


@dataclass(frozen=True)
class RedemptionReversed:
    kind: ClassVar[SideEffectKind] = SideEffectKind.REDEMPTION_REVERSED
    customer_id: int
    redemption_id: int
    points_reversed: Decimal


@dataclass(frozen=True)
class TierDowngraded:
    kind: ClassVar[SideEffectKind] = SideEffectKind.TIER_DOWNGRADED
    program_id: int
    program_code: str
    tier_name_before: str
    tier_number_before: int
    tier_name_after: str
    tier_number_after: int


@dataclass(frozen=True)
class PromoCodeApplied:
    kind: ClassVar[SideEffectKind] = SideEffectKind.PROMO_CODE_APPLIED
    code: str
    promotion_id: int
    promotion_name: str
    discount: Decimal
    linked: bool  # applied from the customer's linked codes, not named on the bill


@dataclass(frozen=True)
class AlternateCurrencyAwarded:
    """Seed 001's `alternate_currency` effect: what a bill earned in one of its program's
    alternate currencies (app.currencies)."""

    kind: ClassVar[SideEffectKind] = SideEffectKind.ALTERNATE_CURRENCY
    identifier: str
    name: str
    value: Decimal


@dataclass(frozen=True)
class AlternateCurrencyReturned:
    """What a return took back of a bill's award in one alternate currency, and what it could not
    (the balance was spent, and the program does not allow a negative balance)."""

    kind: ClassVar[SideEffectKind] = SideEffectKind.ALTERNATE_CURRENCY_RETURNED
    identifier: str
    name: str
    value_returned: Decimal
    value_not_recovered: Decimal


@dataclass(frozen=True)
class ReferralAwarded:
    """Points a referral paid one of its two customers on the referee's qualifying purchase
    (seed 001's points side effect with is_referrer), or took back on its return (`reversed`)."""

    kind: ClassVar[SideEffectKind] = SideEffectKind.REFERRAL_AWARDED
    customer_id: int
    program_id: int
    program_code: str
    points_awarded: Decimal
    is_referrer: bool
    reversed: bool = False


SideEffect = (
    CustomerResolved
    | PointsAwarded
    | TierUpgraded
    | PointsReturned
    | RedemptionReversed
    | TierDowngraded
    | PromoCodeApplied
    | AlternateCurrencyAwarded
    | AlternateCurrencyReturned
    | ReferralAwarded
)


# --- The stored document --------------------------------------------------------------------

# The "type" tag of each kind in stored documents, as written since the first release.
_STORED_TYPES: dict[SideEffectKind, str] = {
    SideEffectKind.CUSTOMER_RESOLVED: "customer",
    SideEffectKind.POINTS_AWARDED: "points",
    SideEffectKind.TIER_UPGRADED: "slab",
    SideEffectKind.POINTS_RETURNED: "pointsReturn",
    SideEffectKind.REDEMPTION_REVERSED: "redemptionReversal",
    SideEffectKind.TIER_DOWNGRADED: "slabDowngrade",
    SideEffectKind.PROMO_CODE_APPLIED: "promoCode",
    SideEffectKind.ALTERNATE_CURRENCY: "alternate_currency",
    SideEffectKind.ALTERNATE_CURRENCY_RETURNED: "alternateCurrencyReturn",
    SideEffectKind.REFERRAL_AWARDED: "referral",
}
_KINDS_BY_STORED_TYPE = {stored: kind for kind, stored in _STORED_TYPES.items()}


def _text(amount: Decimal | None) -> str | None:
    """Amounts are stored as text: JSON numbers would lose exact decimals."""
    return str(amount) if amount is not None else None


def _decimal(stored: str | None) -> Decimal | None:
    return Decimal(stored) if stored is not None else None


def _write(effect: SideEffect) -> dict[str, Any]:
    # Keys in the order documents have always been written, so new rows look like old ones.
    match effect:
        case CustomerResolved():
            body: dict[str, Any] = {
                "customerId": effect.customer_id,
                "registered": effect.registered,
                "mergedCustomerIds": list(effect.merged_customer_ids),
                "skippedIdentifiers": [
                    {"type": skipped.identifier_type.value, "value": skipped.value}
                    for skipped in effect.skipped_identifiers
                ],
            }
            # Written only when not LOYALTY, so LOYALTY bills are stored exactly as before it existed.
            if effect.loyalty_type != "LOYALTY":
                body["loyaltyType"] = effect.loyalty_type
        case PointsAwarded():
            body = {
                "entityType": effect.entity_type,
                "customerId": effect.customer_id,
                "programId": effect.program_id,
                "programCode": effect.program_code,
                "awardedPoints": _text(effect.points_awarded),
                "rawAwardedPoints": _text(effect.points_awarded_raw),
                "totalPoints": _text(effect.balance_after),
            }
        case TierUpgraded():
            body = {
                "programId": effect.program_id,
                "programCode": effect.program_code,
                "previousSlabName": effect.tier_name_before,
                "previousSlabNumber": effect.tier_number_before,
                "upgradedSlabName": effect.tier_name_after,
                "upgradedSlabNumber": effect.tier_number_after,
            }
        case PointsReturned():
            body = {
                "customerId": effect.customer_id,
                "programId": effect.program_id,
                "programCode": effect.program_code,
                "returnedPoints": _text(effect.points_returned),
                "pointsNotRecovered": _text(effect.points_not_recovered),
            }
        case RedemptionReversed():
            body = {
                "customerId": effect.customer_id,
                "redemptionId": effect.redemption_id,
                "reversedPoints": _text(effect.points_reversed),
            }
        case TierDowngraded():
            body = {
                "programId": effect.program_id,
                "programCode": effect.program_code,
                "previousSlabName": effect.tier_name_before,
                "previousSlabNumber": effect.tier_number_before,
                "downgradedSlabName": effect.tier_name_after,
                "downgradedSlabNumber": effect.tier_number_after,
            }
        case PromoCodeApplied():
            body = {
                "code": effect.code,
                "promotionId": effect.promotion_id,
                "promotionName": effect.promotion_name,
                "discount": _text(effect.discount),
                "linked": effect.linked,
            }
        case AlternateCurrencyAwarded():
            body = {
                "alternateCurrencyIdentifier": effect.identifier,
                "alternateCurrencyName": effect.name,
                "awardedValue": _text(effect.value),
            }
        case AlternateCurrencyReturned():
            body = {
                "alternateCurrencyIdentifier": effect.identifier,
                "alternateCurrencyName": effect.name,
                "returnedValue": _text(effect.value_returned),
                "valueNotRecovered": _text(effect.value_not_recovered),
            }
        case ReferralAwarded():
            body = {
                "customerId": effect.customer_id,
                "programId": effect.program_id,
                "programCode": effect.program_code,
                "awardedPoints": _text(effect.points_awarded),
                "isReferrer": effect.is_referrer,
                "reversed": effect.reversed,
            }
        case _:
            assert_never(effect)
    return {"type": _STORED_TYPES[effect.kind], **body}


def _read_customer(stored: dict[str, Any]) -> CustomerResolved:
    return CustomerResolved(
        customer_id=stored["customerId"],
        registered=stored["registered"],
        merged_customer_ids=tuple(stored["mergedCustomerIds"]),
        skipped_identifiers=tuple(
            SkippedIdentifier(IdentifierType(item["type"]), item["value"]) for item in stored["skippedIdentifiers"]
        ),
        loyalty_type=stored.get("loyaltyType", "LOYALTY"),  # bills stored before it existed were all LOYALTY
    )


def _read_points(stored: dict[str, Any]) -> PointsAwarded:
    return PointsAwarded(
        entity_type=stored["entityType"],
        customer_id=stored["customerId"],
        program_id=stored["programId"],
        program_code=stored["programCode"],
        points_awarded=Decimal(stored["awardedPoints"]),
        points_awarded_raw=Decimal(stored["rawAwardedPoints"]),
        balance_after=_decimal(stored["totalPoints"]),
    )


def _read_tier_upgrade(stored: dict[str, Any]) -> TierUpgraded:
    return TierUpgraded(
        program_id=stored["programId"],
        program_code=stored["programCode"],
        tier_name_before=stored["previousSlabName"],
        tier_number_before=stored["previousSlabNumber"],
        tier_name_after=stored["upgradedSlabName"],
        tier_number_after=stored["upgradedSlabNumber"],
    )


def _read_points_return(stored: dict[str, Any]) -> PointsReturned:
    return PointsReturned(
        customer_id=stored["customerId"],
        program_id=stored["programId"],
        program_code=stored["programCode"],
        points_returned=Decimal(stored["returnedPoints"]),
        points_not_recovered=Decimal(stored["pointsNotRecovered"]),
    )


def _read_redemption_reversal(stored: dict[str, Any]) -> RedemptionReversed:
    return RedemptionReversed(
        customer_id=stored["customerId"],
        redemption_id=stored["redemptionId"],
        points_reversed=Decimal(stored["reversedPoints"]),
    )


def _read_tier_downgrade(stored: dict[str, Any]) -> TierDowngraded:
    return TierDowngraded(
        program_id=stored["programId"],
        program_code=stored["programCode"],
        tier_name_before=stored["previousSlabName"],
        tier_number_before=stored["previousSlabNumber"],
        tier_name_after=stored["downgradedSlabName"],
        tier_number_after=stored["downgradedSlabNumber"],
    )


def _read_promo_code(stored: dict[str, Any]) -> PromoCodeApplied:
    return PromoCodeApplied(
        code=stored["code"],
        promotion_id=stored["promotionId"],
        promotion_name=stored["promotionName"],
        discount=Decimal(stored["discount"]),
        linked=stored["linked"],
    )


def _read_alternate_currency(stored: dict[str, Any]) -> AlternateCurrencyAwarded:
    return AlternateCurrencyAwarded(
        identifier=stored["alternateCurrencyIdentifier"],
        name=stored["alternateCurrencyName"],
        value=Decimal(stored["awardedValue"]),
    )


def _read_alternate_currency_return(stored: dict[str, Any]) -> AlternateCurrencyReturned:
    return AlternateCurrencyReturned(
        identifier=stored["alternateCurrencyIdentifier"],
        name=stored["alternateCurrencyName"],
        value_returned=Decimal(stored["returnedValue"]),
        value_not_recovered=Decimal(stored["valueNotRecovered"]),
    )


def _read_referral(stored: dict[str, Any]) -> ReferralAwarded:
    return ReferralAwarded(
        customer_id=stored["customerId"],
        program_id=stored["programId"],
        program_code=stored["programCode"],
        points_awarded=Decimal(stored["awardedPoints"]),
        is_referrer=stored["isReferrer"],
        reversed=stored["reversed"],
    )


_READERS: dict[SideEffectKind, Callable[[dict[str, Any]], SideEffect]] = {
    SideEffectKind.CUSTOMER_RESOLVED: _read_customer,
    SideEffectKind.POINTS_AWARDED: _read_points,
    SideEffectKind.TIER_UPGRADED: _read_tier_upgrade,
    SideEffectKind.POINTS_RETURNED: _read_points_return,
    SideEffectKind.REDEMPTION_REVERSED: _read_redemption_reversal,
    SideEffectKind.TIER_DOWNGRADED: _read_tier_downgrade,
    SideEffectKind.PROMO_CODE_APPLIED: _read_promo_code,
    SideEffectKind.ALTERNATE_CURRENCY: _read_alternate_currency,
    SideEffectKind.ALTERNATE_CURRENCY_RETURNED: _read_alternate_currency_return,
    SideEffectKind.REFERRAL_AWARDED: _read_referral,
}


def to_document(effects: Sequence[SideEffect]) -> list[dict[str, Any]]:
    """The side effects as the bill's `side_effects` column stores them."""
    return [_write(effect) for effect in effects]


def from_document(document: Sequence[dict[str, Any]]) -> tuple[SideEffect, ...]:
    """The side effects of a stored bill (any row written so far); an unknown type tag is a
    corrupt row and fails loudly rather than being shown as something else."""
    effects = []
    for stored in document:
        kind = _KINDS_BY_STORED_TYPE.get(stored["type"])
        if kind is None:
            raise ValueError(f"unknown side effect type {stored['type']!r} in a stored bill")
        effects.append(_READERS[kind](stored))
    return tuple(effects)
