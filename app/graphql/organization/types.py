"""Output types of the caller's organisation setup, as applied from its declarative file, and the enums
of its settings that other domains show too."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypeAlias

import strawberry

from app.kernel.enums import IdentifierType, PointsCategory
from app.organizations.config import OrgConfig, ProgramConfig, StoreConfig, TierConfig, TillConfig
from app.organizations.models import ExpiryStrategy, PointsRounding

strawberry.enum(
    IdentifierType, name="IdentifierType"
)  # registers the domain enum itself: the class is the schema's enum
IdentifierTypeEnum: TypeAlias = IdentifierType
strawberry.enum(
    PointsCategory, name="PointsCategory"
)  # registers the domain enum itself: the class is the schema's enum
PointsCategoryEnum: TypeAlias = PointsCategory
strawberry.enum(
    PointsRounding, name="PointsRounding"
)  # registers the domain enum itself: the class is the schema's enum
PointsRoundingEnum: TypeAlias = PointsRounding
strawberry.enum(
    ExpiryStrategy, name="ExpiryStrategy"
)  # registers the domain enum itself: the class is the schema's enum
ExpiryStrategyEnum: TypeAlias = ExpiryStrategy


@strawberry.type(description="A slab of a loyalty program; serial number 1 is the lowest.")
class Tier:
    id: strawberry.ID
    serial_number: int
    name: str
    description: str
    upgrade_threshold: Decimal = strawberry.field(description="Cumulative purchases that reach this tier.")
    earn_rate: Decimal = strawberry.field(description="Points earned per unit of eligible amount.")

    @classmethod
    def from_config(cls, tier: TierConfig) -> Tier:
        return cls(
            id=strawberry.ID(str(tier.id)),
            serial_number=tier.serial_number,
            name=tier.name,
            description=tier.description,
            upgrade_threshold=tier.upgrade_threshold,
            earn_rate=tier.earn_rate,
        )


@strawberry.type
class Program:
    id: strawberry.ID
    code: str
    name: str
    is_default: bool
    points_rounding: PointsRoundingEnum
    points_decimal_places: int
    expiry_strategy: ExpiryStrategyEnum
    expiry_value: int | None
    tier_validity_months: int | None
    tiers: list[Tier]

    @classmethod
    def from_config(cls, program: ProgramConfig) -> Program:
        return cls(
            id=strawberry.ID(str(program.id)),
            code=program.code,
            name=program.name,
            is_default=program.is_default,
            points_rounding=program.points_rounding,
            points_decimal_places=program.points_decimal_places,
            expiry_strategy=program.expiry_strategy,
            expiry_value=program.expiry_value,
            tier_validity_months=program.tier_validity_months,
            tiers=[Tier.from_config(tier) for tier in program.tiers],
        )


@strawberry.type
class Till:
    id: strawberry.ID
    code: str
    external_id: str | None
    name: str
    program_code: str | None

    @classmethod
    def from_config(cls, org: OrgConfig, till: TillConfig) -> Till:
        return cls(
            id=strawberry.ID(str(till.id)),
            code=till.code,
            external_id=till.external_id,
            name=till.name,
            program_code=org.program(till.program_id).code if till.program_id else None,
        )


@strawberry.type
class Store:
    id: strawberry.ID
    code: str
    external_id: str | None
    name: str
    program_code: str = strawberry.field(description="The program this store's purchases earn in.")
    tills: list[Till]

    @classmethod
    def from_config(cls, org: OrgConfig, store: StoreConfig) -> Store:
        return cls(
            id=strawberry.ID(str(store.id)),
            code=store.code,
            external_id=store.external_id,
            name=store.name,
            program_code=org.program_for(store, None).code,
            tills=[Till.from_config(org, till) for till in org.tills if till.store_id == store.id],
        )


@strawberry.type
class Organization:
    code: str
    name: str
    time_zone: str
    base_country: str
    mobile_country_code: int
    bill_number_unique_in_days: int = strawberry.field(description="CONF_LOYALTY_BILL_NUMBER_UNIQUE_IN_DAYS")
    primary_identifier: IdentifierTypeEnum
    skip_secondary_id_on_primary_mismatch: bool = strawberry.field(
        description="CONFIG_SKIP_SECONDARY_ID_ON_PRIMARY_MISMATCH"
    )
    points_categories: list[PointsCategoryEnum]
    programs: list[Program]
    primary_identifier_strict_check: bool = strawberry.field(
        description="CONF_PRIMARY_IDENTIFIER_STRICT_CHECK (skipSecondaryIdOnPrimaryMismatch overrides it)"
    )
    stores: list[Store]
    updated_at: datetime

    @classmethod
    def from_config(cls, org: OrgConfig) -> Organization:
        return cls(
            code=org.code,
            name=org.name,
            time_zone=org.time_zone.key,
            base_country=org.base_country,
            mobile_country_code=org.mobile_country_code,
            bill_number_unique_in_days=org.bill_number_unique_in_days,
            primary_identifier=org.primary_identifier,
            skip_secondary_id_on_primary_mismatch=org.skip_secondary_id_on_primary_mismatch,
            primary_identifier_strict_check=org.primary_identifier_strict_check,
            points_categories=list(org.points_categories),
            programs=[Program.from_config(program) for program in org.programs],
            stores=[Store.from_config(org, store) for store in org.stores],
            updated_at=org.updated_at,
        )
