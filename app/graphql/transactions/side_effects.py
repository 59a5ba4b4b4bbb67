"""The side effects of a bill as GraphQL types, and the one place each domain kind becomes its type.

The domain's dataclasses (app/transactions/side_effects.py) carry domain names (tiers, snake_case,
Decimal, int ids); the published types keep the vendor's names (slabs, awardedPoints, ID).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, assert_never

import strawberry

from app.customers.models import LoyaltyType
from app.graphql.customers.types import LoyaltyTypeEnum
from app.transactions import side_effects as domain


@strawberry.type(description="Points awarded by a transaction in one program (rounded by the program's rule, and raw).")
class PointsSideEffect:
    entity_type: str
    customer_id: strawberry.ID
    program_id: strawberry.ID
    program_code: str
    awarded_points: Decimal
    raw_awarded_points: Decimal
    total_points: Decimal | None = strawberry.field(
        description="The account balance after the award; empty when nothing was awarded."
    )


@strawberry.type(description="A tier upgrade caused by a transaction.")
class SlabSideEffect:
    program_id: strawberry.ID
    program_code: str
    previous_slab_name: str
    previous_slab_number: int
    upgraded_slab_name: str
    upgraded_slab_number: int


@strawberry.type
class SkippedIdentifier:
    type: str
    value: str


@strawberry.type(
    description="How the customer was found: registered now, other accounts merged in, identifiers skipped."
)
class CustomerSideEffect:
    customer_id: strawberry.ID
    registered: bool
    merged_customer_ids: list[strawberry.ID] = strawberry.field(
        description="Accounts merged into this one by this bill."
    )
    skipped_identifiers: list[SkippedIdentifier] = strawberry.field(
        description="Secondary identifiers of other customers, ignored (CONFIG_SKIP_SECONDARY_ID_ON_PRIMARY_MISMATCH)."
    )
    loyalty_type: LoyaltyTypeEnum = strawberry.field(
        description=(
            "The customer's loyalty type after the bill: NON_LOYALTY when known by an identifier but not enrolled (the "
            "bill earned nothing)."
        )
    )


@strawberry.type(
    description=(
        "Points a return took back in one program. returnedPoints were debited; pointsNotRecovered is the rest of the "
        "bill's share, which the customer had spent already and the program does not let go negative (written off)."
    )
)
class PointsReturnedSideEffect:
    customer_id: strawberry.ID
    program_id: strawberry.ID
    program_code: str
    returned_points: Decimal
    points_not_recovered: Decimal


@strawberry.type(
    description="Points of a redemption applied to the returned bill, given back into the lots it consumed."
)
class RedemptionReversedSideEffect:
    customer_id: strawberry.ID
    redemption_id: strawberry.ID
    reversed_points: Decimal


@strawberry.type(
    description="A tier downgrade caused by a return (cumulative purchases went below the tier's threshold)."
)
class SlabDowngradeSideEffect:
    program_id: strawberry.ID
    program_code: str
    previous_slab_name: str
    previous_slab_number: int
    downgraded_slab_name: str
    downgraded_slab_number: int


@strawberry.type(description="A promo code applied to the bill, and the discount it gave.")
class PromoCodeSideEffect:
    code: str
    promotion_id: strawberry.ID
    promotion_name: str
    discount: Decimal
    linked: bool = strawberry.field(description="Applied from the customer's linked codes, not named on the bill.")


@strawberry.type(
    description=(
        "Seed 001's alternate_currency effect: what the bill earned in one of its program's alternate currencies (its "
        "eligible amount times the currency's earn rate, rounded by the currency's rule)."
    )
)
class AlternateCurrencySideEffect:
    alternate_currency_identifier: str
    alternate_currency_name: str
    awarded_value: Decimal


@strawberry.type(
    description=(
        "What a return took back of the bill's award in one alternate currency (its share of the eligible amount "
        "returned so far); valueNotRecovered is the rest, which the customer had spent already and the program does "
        "not let go negative."
    )
)
class AlternateCurrencyReturnedSideEffect:
    alternate_currency_identifier: str
    alternate_currency_name: str
    returned_value: Decimal
    value_not_recovered: Decimal


@strawberry.type(
    description=(
        "Points a referral paid on the referee's qualifying purchase (seed 001's points side effect with is_referrer), "
        "or took back when a return took that purchase below the program's qualifying rule (reversed)."
    )
)
class ReferralSideEffect:
    customer_id: strawberry.ID
    program_id: strawberry.ID
    program_code: str
    awarded_points: Decimal = strawberry.field(description="Points credited (or, when reversed, debited).")
    is_referrer: bool = strawberry.field(description="True for the referrer's award, false for the referee's.")
    reversed: bool


SideEffect = Annotated[
    CustomerSideEffect
    | PointsSideEffect
    | SlabSideEffect
    | PointsReturnedSideEffect
    | RedemptionReversedSideEffect
    | SlabDowngradeSideEffect
    | PromoCodeSideEffect
    | AlternateCurrencySideEffect
    | AlternateCurrencyReturnedSideEffect
    | ReferralSideEffect,
    strawberry.union("SideEffect"),
]


def _id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


def side_effect_type(effect: domain.SideEffect) -> SideEffect:
    """The GraphQL type of one of a bill's side effects."""
    match effect:
        case domain.CustomerResolved():
            return CustomerSideEffect(
                customer_id=_id(effect.customer_id),
                registered=effect.registered,
                merged_customer_ids=[_id(customer_id) for customer_id in effect.merged_customer_ids],
                skipped_identifiers=[
                    SkippedIdentifier(type=skipped.identifier_type.value, value=skipped.value)
                    for skipped in effect.skipped_identifiers
                ],
                loyalty_type=LoyaltyType(effect.loyalty_type),
            )
        case domain.PointsAwarded():
            return PointsSideEffect(
                entity_type=effect.entity_type,
                customer_id=_id(effect.customer_id),
                program_id=_id(effect.program_id),
                program_code=effect.program_code,
                awarded_points=effect.points_awarded,
                raw_awarded_points=effect.points_awarded_raw,
                total_points=effect.balance_after,
            )
        case domain.TierUpgraded():
            return SlabSideEffect(
                program_id=_id(effect.program_id),
                program_code=effect.program_code,
                previous_slab_name=effect.tier_name_before,
                previous_slab_number=effect.tier_number_before,
                upgraded_slab_name=effect.tier_name_after,
                upgraded_slab_number=effect.tier_number_after,
            )
        case domain.PointsReturned():
            return PointsReturnedSideEffect(
                customer_id=_id(effect.customer_id),
                program_id=_id(effect.program_id),
                program_code=effect.program_code,
                returned_points=effect.points_returned,
                points_not_recovered=effect.points_not_recovered,
            )
        case domain.RedemptionReversed():
            return RedemptionReversedSideEffect(
                customer_id=_id(effect.customer_id),
                redemption_id=_id(effect.redemption_id),
                reversed_points=effect.points_reversed,
            )
        case domain.TierDowngraded():
            return SlabDowngradeSideEffect(
                program_id=_id(effect.program_id),
                program_code=effect.program_code,
                previous_slab_name=effect.tier_name_before,
                previous_slab_number=effect.tier_number_before,
                downgraded_slab_name=effect.tier_name_after,
                downgraded_slab_number=effect.tier_number_after,
            )
        case domain.PromoCodeApplied():
            return PromoCodeSideEffect(
                code=effect.code,
                promotion_id=_id(effect.promotion_id),
                promotion_name=effect.promotion_name,
                discount=effect.discount,
                linked=effect.linked,
            )
        case domain.AlternateCurrencyAwarded():
            return AlternateCurrencySideEffect(
                alternate_currency_identifier=effect.identifier,
                alternate_currency_name=effect.name,
                awarded_value=effect.value,
            )
        case domain.AlternateCurrencyReturned():
            return AlternateCurrencyReturnedSideEffect(
                alternate_currency_identifier=effect.identifier,
                alternate_currency_name=effect.name,
                returned_value=effect.value_returned,
                value_not_recovered=effect.value_not_recovered,
            )
        case domain.ReferralAwarded():
            return ReferralSideEffect(
                customer_id=_id(effect.customer_id),
                program_id=_id(effect.program_id),
                program_code=effect.program_code,
                awarded_points=effect.points_awarded,
                is_referrer=effect.is_referrer,
                reversed=effect.reversed,
            )
        case _:
            assert_never(effect)
