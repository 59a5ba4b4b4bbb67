"""An immutable in-memory snapshot of one organisation's setup, read on every request.

Stores, tills, programs and tiers change rarely (`pointledger org apply`) and are read by every
write and every ledger row, so they are loaded once and cached for a few seconds instead of
being joined into each query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.bill_conditions import BillCondition, BillFacts, all_hold
from app.kernel.cache import RefreshingCache
from app.kernel.currencies import CurrencyCategory
from app.kernel.enums import IdentifierType, PointsCategory
from app.kernel.errors import ValidationError
from app.kernel.line_conditions import AttributeCondition, attributes_of
from app.organizations import repository
from app.organizations.errors import ProgramNotFoundError
from app.organizations.models import (
    CountFrom,
    CustomerFieldType,
    ExpiryStrategy,
    FieldLevel,
    GroupPoints,
    PointsRounding,
)
from app.organizations.roles import Role
from app.organizations.spec import RateLimitsSpec
from app.storage.database import Database


@dataclass(frozen=True, slots=True)
class TierConfig:
    id: int
    serial_number: int
    name: str
    description: str
    upgrade_threshold: Decimal
    earn_rate: Decimal


@dataclass(frozen=True, slots=True)
class EarningRuleConfig:
    """A program's earning rule (app.organizations.spec.EarningRuleSpec)."""

    name: str
    conditions: tuple[BillCondition, ...]
    earn_rate_multiplier: Decimal


ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class LineRuleConfig:
    """A line rule of an alternate currency (app.organizations.spec.LineRuleSpec): one of
    `units_per_quantity` and `earn_rate` is set."""

    name: str
    item_codes: frozenset[str]
    attributes: tuple[AttributeCondition, ...]
    conditions: tuple[BillCondition, ...]  # on the line's own extended and custom fields
    units_per_quantity: Decimal | None
    earn_rate: Decimal | None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> LineRuleConfig:
        return cls(
            name=document["name"],
            item_codes=frozenset(document["item_codes"]),
            attributes=attributes_of(document["attributes"]),
            conditions=tuple(BillCondition.from_document(condition) for condition in document["conditions"]),
            units_per_quantity=_decimal_or_none(document["units_per_quantity"]),
            earn_rate=_decimal_or_none(document["earn_rate"]),
        )


def _decimal_or_none(stored: str | None) -> Decimal | None:
    return Decimal(stored) if stored is not None else None


@dataclass(frozen=True, slots=True)
class AlternateCurrencyConfig:
    """A program's alternate currency (app.organizations.spec.AlternateCurrencySpec)."""

    identifier: str
    name: str
    earn_rate: Decimal
    rounding: PointsRounding
    decimal_places: int
    expiry_strategy: ExpiryStrategy
    expiry_value: int | None
    line_rules: tuple[LineRuleConfig, ...] = ()

    @property
    def category(self) -> CurrencyCategory:
        """The ledger category of its accounts."""
        return CurrencyCategory.of(self.identifier)


@dataclass(frozen=True, slots=True)
class ReferralConfig:
    """A program's referral awards (see ReferralSpec)."""

    referrer_points: Decimal
    referee_points: Decimal
    referrer_awards_per_month: int | None
    referrer_awards_total: int | None
    first_purchase_only: bool
    minimum_amount: Decimal

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ReferralConfig:
        return cls(
            referrer_points=Decimal(document["referrer_points"]),
            referee_points=Decimal(document["referee_points"]),
            referrer_awards_per_month=document.get("referrer_awards_per_month"),
            referrer_awards_total=document.get("referrer_awards_total"),
            first_purchase_only=document.get("first_purchase_only", True),
            minimum_amount=Decimal(document.get("minimum_amount", "0")),
        )


@dataclass(frozen=True, slots=True)
class ProgramConfig:
    id: int
    code: str
    name: str
    is_default: bool
    points_rounding: PointsRounding
    points_decimal_places: int
    expiry_strategy: ExpiryStrategy
    expiry_value: int | None
    tier_validity_months: int | None
    tiers: tuple[TierConfig, ...]  # by serial number, lowest first
    allow_negative_balance: bool = False
    points_transferable: bool = False
    redemption_minimum: Decimal = Decimal(0)
    earn_category: PointsCategory = PointsCategory.REGULAR
    promised_days: int | None = None
    group_points: GroupPoints = GroupPoints.MEMBER
    concept_code: str | None = None
    hold_from: CountFrom = CountFrom.BILLING_TIME
    expiry_from: CountFrom = CountFrom.BILLING_TIME
    earning_rules: tuple[EarningRuleConfig, ...] = ()
    alternate_currencies: tuple[AlternateCurrencyConfig, ...] = ()

    def alternate_currency(self, identifier: str) -> AlternateCurrencyConfig | None:
        return next((currency for currency in self.alternate_currencies if currency.identifier == identifier), None)

    referral: ReferralConfig | None = None

    def earn_rate_multiplier(self, facts: BillFacts) -> Decimal:
        """The largest multiplier of the earning rules the bill meets (1 when it meets none)."""
        return max(
            (rule.earn_rate_multiplier for rule in self.earning_rules if all_hold(rule.conditions, facts)),
            default=ONE,
        )

    def tier(self, tier_id: int) -> TierConfig:
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        raise KeyError(tier_id)

    def tier_reached(self, cumulative_purchases: Decimal, current: TierConfig) -> TierConfig:
        """The highest tier whose threshold is reached, never below `current` (no downgrade on purchase)."""
        reached = [tier for tier in self.tiers if tier.upgrade_threshold <= cumulative_purchases]
        return reached[-1] if reached and reached[-1].serial_number > current.serial_number else current

    def next_tier(self, tier: TierConfig) -> TierConfig | None:
        for candidate in self.tiers:
            if candidate.serial_number == tier.serial_number + 1:
                return candidate
        return None


@dataclass(frozen=True, slots=True)
class StoreConfig:
    id: int
    code: str
    external_id: str | None
    name: str
    program_id: int | None


@dataclass(frozen=True, slots=True)
class TillConfig:
    id: int
    code: str
    external_id: str | None
    name: str
    store_id: int
    program_id: int | None
    concept_code: str | None = None


DEFAULT_RATE_LIMITS: Mapping[Role, int] = {Role(role): limit for role, limit in RateLimitsSpec().model_dump().items()}


@dataclass(frozen=True, slots=True)
class CustomerFieldConfig:
    """A customer field the organisation declares (app.organizations.spec.CustomerFieldSpec)."""

    name: str
    type: CustomerFieldType
    required: bool
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrgConfig:
    id: int
    code: str
    name: str
    time_zone: ZoneInfo
    base_country: str
    bill_number_unique_in_days: int
    primary_identifier: IdentifierType
    skip_secondary_id_on_primary_mismatch: bool
    updated_at: datetime
    programs: tuple[ProgramConfig, ...]
    stores: tuple[StoreConfig, ...]
    tills: tuple[TillConfig, ...]
    # Requests a minute by key role (0: no limit): the organisation file's [rate_limits].
    rate_limits: Mapping[Role, int] = field(default_factory=lambda: DEFAULT_RATE_LIMITS)
    points_categories: tuple[PointsCategory, ...] = tuple(PointsCategory)
    customer_fields: tuple[CustomerFieldConfig, ...] = ()
    webhooks_allow_private_addresses: bool = False  # the organisation file's [webhooks]
    expiry_notice_days: int | None = None  # points.expiring this many days ahead; None: no notices
    # Declared bill fields and payment modes (the file's [[extended_fields]], [[custom_fields]],
    # [[payment_modes]]): empty, a kind is free (see app.organizations.spec.BillFieldSpec).
    extended_fields: tuple[CustomerFieldConfig, ...] = ()
    custom_fields: tuple[CustomerFieldConfig, ...] = ()
    payment_modes: tuple[str, ...] = ()
    # The line items' declared fields (the same sections' `level = "LINE_ITEM"` entries).
    line_item_extended_fields: tuple[CustomerFieldConfig, ...] = ()
    line_item_custom_fields: tuple[CustomerFieldConfig, ...] = ()
    primary_identifier_strict_check: bool = False  # CONF_PRIMARY_IDENTIFIER_STRICT_CHECK
    _programs_by_id: dict[int, ProgramConfig] = field(default_factory=dict, repr=False)
    _stores_by_id: dict[int, StoreConfig] = field(default_factory=dict, repr=False)
    _stores_by_code: dict[str, StoreConfig] = field(default_factory=dict, repr=False)
    _tills_by_id: dict[int, TillConfig] = field(default_factory=dict, repr=False)
    _tills_by_code: dict[str, TillConfig] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._programs_by_id.update({program.id: program for program in self.programs})
        self._stores_by_id.update({store.id: store for store in self.stores})
        self._stores_by_code.update({store.code: store for store in self.stores})
        self._tills_by_id.update({till.id: till for till in self.tills})
        self._tills_by_code.update({till.code: till for till in self.tills})

    @property
    def mobile_country_code(self) -> int:
        return phonenumbers.country_code_for_region(self.base_country)

    @property
    def default_program(self) -> ProgramConfig:
        for program in self.programs:
            if program.is_default:
                return program
        return self.programs[0]

    def program(self, program_id: int) -> ProgramConfig:
        return self._programs_by_id[program_id]

    def program_or_none(self, program_id: int) -> ProgramConfig | None:
        return self._programs_by_id.get(program_id)

    def program_by_code(self, code: str) -> ProgramConfig | None:
        return next((program for program in self.programs if program.code == code), None)

    def named_or_default_program(self, code: str | None, field: str) -> ProgramConfig:
        """The program a request names (`code`), else the default one; PROGRAM_NOT_FOUND naming
        `field` when no program has that code."""
        program = self.default_program if code is None else self.program_by_code(code)
        if program is None:
            raise ProgramNotFoundError(f"no program with code {code!r}", field=field)
        return program

    def declared_currency_category(self, identifier: str, field: str) -> CurrencyCategory:
        """The account category of an alternate currency some program declares (a view names a
        currency, not its program); INVALID_INPUT naming `field` when none does."""
        if not any(program.alternate_currency(identifier) for program in self.programs):
            raise ValidationError(f"no program declares alternate currency {identifier!r}", field=field)
        return CurrencyCategory.of(identifier)

    def store(self, store_id: int) -> StoreConfig:
        return self._stores_by_id[store_id]

    def store_or_none(self, store_id: int) -> StoreConfig | None:
        return self._stores_by_id.get(store_id)

    def store_by_code(self, code: str) -> StoreConfig | None:
        return self._stores_by_code.get(code)

    def till(self, till_id: int) -> TillConfig:
        return self._tills_by_id[till_id]

    def till_or_none(self, till_id: int) -> TillConfig | None:
        return self._tills_by_id.get(till_id)

    def till_by_code(self, code: str) -> TillConfig | None:
        return self._tills_by_code.get(code)

    def program_for(self, store: StoreConfig, till: TillConfig | None) -> ProgramConfig:
        """The program a purchase earns in: the till's, else the store's, else the default."""
        if till is not None and till.program_id is not None:
            return self.program(till.program_id)
        if store.program_id is not None:
            return self.program(store.program_id)
        return self.default_program

    def concept_programs(self, till: TillConfig | None) -> tuple[ProgramConfig, ...]:
        """The programs a till of a concept redeems across (group redemption), in program order;
        empty when the till belongs to no concept."""
        if till is None or till.concept_code is None:
            return ()
        return tuple(program for program in self.programs if program.concept_code == till.concept_code)


async def load_org_config(connection: AsyncConnection, org_id: int) -> OrgConfig | None:
    """The org's snapshot, None when there is no such organisation."""
    org, program_rows, tier_rows, store_rows, till_rows = await repository.org_setup(connection, org_id)
    if org is None:
        return None
    programs = tuple(
        ProgramConfig(
            id=row.id,
            code=row.code,
            name=row.name,
            is_default=row.is_default,
            points_rounding=PointsRounding(row.points_rounding),
            points_decimal_places=row.points_decimal_places,
            expiry_strategy=ExpiryStrategy(row.expiry_strategy),
            expiry_value=row.expiry_value,
            tier_validity_months=row.tier_validity_months,
            allow_negative_balance=row.allow_negative_balance,
            points_transferable=row.points_transferable,
            redemption_minimum=row.redemption_minimum,
            earn_category=PointsCategory(row.earn_category),
            group_points=GroupPoints(row.group_points),
            promised_days=row.promised_days,
            concept_code=row.concept_code,
            hold_from=CountFrom(row.hold_from),
            expiry_from=CountFrom(row.expiry_from),
            earning_rules=tuple(
                EarningRuleConfig(
                    name=rule["name"],
                    conditions=tuple(BillCondition.from_document(condition) for condition in rule["conditions"]),
                    earn_rate_multiplier=Decimal(rule["earn_rate_multiplier"]),
                )
                for rule in row.earning_rules or []
            ),
            alternate_currencies=tuple(
                AlternateCurrencyConfig(
                    identifier=currency["identifier"],
                    name=currency["name"],
                    earn_rate=Decimal(currency["earn_rate"]),
                    rounding=PointsRounding(currency["rounding"]),
                    decimal_places=currency["decimal_places"],
                    expiry_strategy=ExpiryStrategy(currency["expiry_strategy"]),
                    expiry_value=currency["expiry_value"],
                    line_rules=tuple(LineRuleConfig.from_document(rule) for rule in currency.get("line_rules", ())),
                )
                for currency in row.alternate_currencies or []
            ),
            referral=ReferralConfig.from_document(row.referral) if row.referral else None,
            tiers=tuple(
                TierConfig(
                    id=tier.id,
                    serial_number=tier.serial_number,
                    name=tier.name,
                    description=tier.description,
                    upgrade_threshold=tier.upgrade_threshold,
                    earn_rate=tier.earn_rate,
                )
                for tier in tier_rows
                if tier.program_id == row.id
            ),
        )
        for row in program_rows
    )
    return OrgConfig(
        id=org.id,
        code=org.code,
        name=org.name,
        time_zone=ZoneInfo(org.time_zone),
        base_country=org.base_country,
        bill_number_unique_in_days=org.bill_number_unique_in_days,
        primary_identifier=IdentifierType(org.primary_identifier),
        skip_secondary_id_on_primary_mismatch=org.skip_secondary_id_on_primary_mismatch,
        expiry_notice_days=org.expiry_notice_days,
        primary_identifier_strict_check=org.primary_identifier_strict_check,
        updated_at=org.updated_at,
        rate_limits={**DEFAULT_RATE_LIMITS, **{Role(role): limit for role, limit in (org.rate_limits or {}).items()}},
        webhooks_allow_private_addresses=org.webhooks_allow_private_addresses,
        programs=programs,
        customer_fields=_declared_fields(org.customer_fields),
        extended_fields=_declared_fields(org.extended_fields),
        custom_fields=_declared_fields(org.custom_fields),
        line_item_extended_fields=_declared_fields(org.extended_fields, FieldLevel.LINE_ITEM),
        line_item_custom_fields=_declared_fields(org.custom_fields, FieldLevel.LINE_ITEM),
        payment_modes=tuple(mode["code"] for mode in org.payment_modes or []),
        stores=tuple(
            StoreConfig(id=row.id, code=row.code, external_id=row.external_id, name=row.name, program_id=row.program_id)
            for row in store_rows
        ),
        tills=tuple(
            TillConfig(
                id=row.id,
                code=row.code,
                external_id=row.external_id,
                name=row.name,
                store_id=row.store_id,
                program_id=row.program_id,
                concept_code=row.concept_code,
            )
            for row in till_rows
        ),
    )


def _declared_fields(
    stored: list[dict[str, Any]] | None, level: FieldLevel = FieldLevel.BILL
) -> tuple[CustomerFieldConfig, ...]:
    """The declarations of one level (customer fields and bill fields stored before levels
    existed carry none: BILL)."""
    return tuple(
        CustomerFieldConfig(
            name=declared["name"],
            type=CustomerFieldType(declared["type"]),
            required=declared["required"],
            values=tuple(declared["values"]),
        )
        for declared in stored or []
        if declared.get("level", FieldLevel.BILL.value) == level.value
    )


class OrgConfigCache:
    """Org snapshots, refreshed every `ttl_seconds` (see RefreshingCache); `invalidate` drops them."""

    def __init__(self, database: Database, ttl_seconds: float) -> None:
        self.database = database
        self._cache: RefreshingCache[int, OrgConfig] = RefreshingCache(self._load, ttl_seconds)

    async def get(self, org_id: int) -> OrgConfig:
        return await self._cache.get(org_id)

    def invalidate(self, org_id: int | None = None) -> None:
        self._cache.forget(org_id)

    async def _load(self, org_id: int) -> OrgConfig:
        async with self.database.read() as connection:
            config = await load_org_config(connection, org_id)
        if config is None:
            raise LookupError(f"organisation {org_id} does not exist")
        return config
