"""The declarative organisation file (TOML or YAML), validated before anything is written."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from app.kernel.decimals import AMOUNT, POINTS, RATE, DecimalRange, Refusal, read_decimal
from app.kernel.enums import IdentifierType, PointsCategory
from app.kernel.text import refusal_message, refused_character
from app.organizations.models import CustomerFieldType, ExpiryStrategy, PointsRounding


def _text_checker(*, code: bool) -> AfterValidator:
    """The kernel's text check (app/kernel/text.py) for a code (`code`) or for free text."""

    def check(value: str) -> str:
        character = refused_character(value, code=code)
        if character is not None:
            raise ValueError(refusal_message(character))
        return value

    return AfterValidator(check)


def _decimal_reader(bounds: DecimalRange) -> BeforeValidator:
    """The kernel's decimal grammar for a number of the file: a TOML or YAML number (read through
    its shortest text) or a string, within `bounds`."""

    def read(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return value  # pydantic refuses what is not a number at all
        result = read_decimal(repr(value) if isinstance(value, float) else str(value), bounds)
        if isinstance(result, Refusal):
            raise ValueError(result.message(bounds))
        return result

    return BeforeValidator(read)


Code = Annotated[str, _text_checker(code=True)]  # the organisation, programs, stores, tills, concepts
FreeText = Annotated[str, _text_checker(code=False)]  # names and descriptions


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierSpec(Strict):
    serial_number: int = Field(ge=1)
    name: FreeText = Field(min_length=1, max_length=100)
    description: FreeText = ""
    upgrade_threshold: Annotated[Decimal, _decimal_reader(AMOUNT)] = Field(ge=0, decimal_places=4)
    earn_rate: Annotated[Decimal, _decimal_reader(RATE)] = Field(ge=0, decimal_places=6)


class ExpirySpec(Strict):
    strategy: ExpiryStrategy = ExpiryStrategy.NEVER
    value: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def value_matches_strategy(self) -> ExpirySpec:
        if self.strategy is ExpiryStrategy.NEVER and self.value is not None:
            raise ValueError("expiry value must be empty when the strategy is NEVER")
        if self.strategy is not ExpiryStrategy.NEVER and self.value is None:
            raise ValueError(f"expiry strategy {self.strategy} needs a value")
        return self


class ProgramSpec(Strict):
    code: Code = Field(min_length=1, max_length=64)
    name: FreeText = Field(min_length=1, max_length=200)
    default: bool = False
    points_rounding: PointsRounding = PointsRounding.FLOOR
    points_decimal_places: int = Field(default=0, ge=0, le=4)
    expiry: ExpirySpec = ExpirySpec()
    tier_validity_months: int | None = Field(default=None, ge=1)
    tiers: list[TierSpec] = Field(min_length=1)
    # Burn rules.
    allow_negative_balance: bool = Field(
        default=False,
        description=(
            "A return may take back points the customer already spent, leaving a negative balance that "
            "later earnings pay off first. When false, a return takes back at most the balance."
        ),
    )
    points_transferable: bool = False
    redemption_minimum: Annotated[Decimal, _decimal_reader(POINTS)] = Field(default=Decimal(0), ge=0, decimal_places=4)
    # Where purchases earn: REGULAR (spendable at once), PROMISED (held for `promised_days`, e.g. a
    # return window, then converted into REGULAR) or TRIGGER_BASED (held until a trigger converts them).
    earn_category: PointsCategory = PointsCategory.REGULAR
    promised_days: int | None = Field(default=None, ge=1, le=3650)
    concept: Code | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description=("Programs sharing a concept are redeemed together at that concept's tills (group redemption)."),
    )

    @model_validator(mode="after")
    def promised_days_match_category(self) -> ProgramSpec:
        if (self.earn_category is PointsCategory.PROMISED) != (self.promised_days is not None):
            raise ValueError(
                f"program {self.code}: promised_days is required with earn_category PROMISED, and only then"
            )
        return self

    @model_validator(mode="after")
    def tiers_are_a_ladder(self) -> ProgramSpec:
        serials = [tier.serial_number for tier in self.tiers]
        if sorted(serials) != list(range(1, len(serials) + 1)):
            raise ValueError(f"program {self.code}: tier serial numbers must be 1..N, got {serials}")
        ordered = sorted(self.tiers, key=lambda tier: tier.serial_number)
        if ordered[0].upgrade_threshold != 0:
            raise ValueError(f"program {self.code}: tier 1 is where customers start; its threshold must be 0")
        thresholds = [tier.upgrade_threshold for tier in ordered]
        if thresholds != sorted(set(thresholds)):
            raise ValueError(f"program {self.code}: tier thresholds must increase with the serial number")
        return self


class TillSpec(Strict):
    code: Code = Field(min_length=1, max_length=64)
    external_id: Code | None = None
    name: FreeText = ""
    program: Code | None = None
    concept: Code | None = Field(default=None, min_length=1, max_length=64)


class StoreSpec(Strict):
    code: Code = Field(min_length=1, max_length=64)
    external_id: Code | None = None
    name: FreeText = ""
    program: Code | None = None
    tills: list[TillSpec] = []


class OrganizationSettingsSpec(Strict):
    code: Code = Field(min_length=1, max_length=64)
    name: FreeText = Field(min_length=1, max_length=200)
    time_zone: str
    base_country: str = Field(min_length=2, max_length=2)
    bill_number_unique_in_days: int = Field(ge=1, le=3650)
    primary_identifier: IdentifierType = IdentifierType.MOBILE
    skip_secondary_id_on_primary_mismatch: bool = False
    # Days before points expire that a points.expiring event tells the brand (once per lot); none: no notices.
    expiry_notice_days: int | None = Field(default=None, ge=1, le=365)

    @field_validator("time_zone")
    @classmethod
    def known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("base_country")
    @classmethod
    def known_country(cls, value: str) -> str:
        value = value.upper()
        if phonenumbers.country_code_for_region(value) == 0:
            raise ValueError(f"unknown country {value!r} (ISO 3166-1 alpha-2 expected)")
        return value


class RateLimitsSpec(Strict):
    """Requests a minute the organisation's keys of each role may make together (0: no limit).
    A call counts for the first role, in this order, that the key holds and the operation takes;
    a batch counts each of its items. Capillary allows 1,500 add-transaction calls a minute."""

    till: int = Field(default=1500, ge=0)
    app: int = Field(default=3000, ge=0)
    member_care: int = Field(default=600, ge=0)
    admin: int = Field(default=300, ge=0)


class CustomerFieldSpec(Strict):
    """A customer field the organisation declares ([[customer_fields]]): registerCustomer and
    updateCustomer take values for declared fields only, of the declared type; an ENUM's value is
    one of `values`; a `required` field must have a value."""

    name: Code = Field(min_length=1, max_length=64)
    type: CustomerFieldType
    required: bool = False
    values: list[FreeText] = []

    @model_validator(mode="after")
    def values_for_enums_only(self) -> CustomerFieldSpec:
        if (self.type is CustomerFieldType.ENUM) != bool(self.values):
            raise ValueError(f"{self.name}: an ENUM field lists its values, and only an ENUM field does")
        _require_unique(f"{self.name} value", list(self.values))
        return self


class OrganizationSpec(Strict):
    organization: OrganizationSettingsSpec
    programs: list[ProgramSpec] = Field(min_length=1)
    stores: list[StoreSpec] = Field(min_length=1)
    rate_limits: RateLimitsSpec = RateLimitsSpec()
    customer_fields: list[CustomerFieldSpec] = []

    @model_validator(mode="after")
    def references_resolve(self) -> OrganizationSpec:
        program_codes = [program.code for program in self.programs]
        _require_unique("customer field", [customer_field.name for customer_field in self.customer_fields])
        _require_unique("program code", program_codes)
        if sum(program.default for program in self.programs) != 1 and len(self.programs) > 1:
            raise ValueError("exactly one program must have default = true")
        _require_unique("store code", [store.code for store in self.stores])
        _require_unique("till code", [till.code for store in self.stores for till in store.tills])
        for store in self.stores:
            for owner, program in [(store.code, store.program)] + [(till.code, till.program) for till in store.tills]:
                if program is not None and program not in program_codes:
                    raise ValueError(f"{owner}: unknown program {program!r}")
        concepts = {program.concept for program in self.programs if program.concept}
        for till in (till for store in self.stores for till in store.tills):
            if till.concept is not None and till.concept not in concepts:
                raise ValueError(f"{till.code}: no program has concept {till.concept!r}")
        return self

    @property
    def default_program_code(self) -> str:
        for program in self.programs:
            if program.default:
                return program.code
        return self.programs[0].code


def _require_unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)


def load_spec_file(path: Path) -> OrganizationSpec:
    """Read a TOML (.toml) or YAML (.yaml/.yml) organisation file and validate it."""
    text = path.read_text(encoding="utf-8")
    document: Any
    if path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        document = yaml.safe_load(text)
    else:
        document = tomllib.loads(text)
    return OrganizationSpec.model_validate(document)
