"""The declarative organisation file (TOML or YAML), validated before anything is written."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from app.kernel.bill_conditions import BillCondition, BillConditionKind
from app.kernel.currencies import CURRENCY_IDENTIFIER_LENGTH_MAX
from app.kernel.decimals import AMOUNT, POINTS, RATE, DecimalRange, Refusal, read_decimal
from app.kernel.enums import IdentifierType, PointsCategory
from app.kernel.text import refusal_message, refused_character
from app.organizations.models import (
    CountFrom,
    CustomerFieldType,
    ExpiryStrategy,
    FieldLevel,
    GroupPoints,
    PointsRounding,
)


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


class BillConditionSpec(Strict):
    """A condition on a bill ([[programs.earning_rules]] conditions): `extended_field` or
    `custom_field` with its `value` (the bill carries the declared field with that value), or
    `payment_mode` (one of the bill's payments is of that declared mode)."""

    extended_field: Code | None = Field(default=None, min_length=1, max_length=64)
    custom_field: Code | None = Field(default=None, min_length=1, max_length=64)
    payment_mode: Code | None = Field(default=None, min_length=1, max_length=64)
    value: FreeText | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def one_subject(self) -> BillConditionSpec:
        named = [name for name in (self.extended_field, self.custom_field, self.payment_mode) if name is not None]
        if len(named) != 1:
            raise ValueError("a condition names one of extended_field, custom_field or payment_mode")
        if (self.payment_mode is None) != (self.value is not None):
            raise ValueError(f"{named[0]}: a field condition has a value, a payment mode condition none")
        return self

    def to_condition(self) -> BillCondition:
        if self.extended_field is not None:
            return BillCondition(BillConditionKind.EXTENDED_FIELD, self.extended_field, self.value)
        if self.custom_field is not None:
            return BillCondition(BillConditionKind.CUSTOM_FIELD, self.custom_field, self.value)
        assert self.payment_mode is not None
        return BillCondition(BillConditionKind.PAYMENT_MODE, self.payment_mode)


class EarningRuleSpec(Strict):
    """A program's earning rule: a bill meeting all its conditions earns at the tier's earn rate
    times `earn_rate_multiplier`. When several rules match, the largest multiplier applies (rules
    do not stack)."""

    name: FreeText = Field(min_length=1, max_length=100)
    conditions: list[BillConditionSpec] = Field(min_length=1, max_length=20)
    earn_rate_multiplier: Annotated[Decimal, _decimal_reader(RATE)] = Field(gt=0, decimal_places=6)


class LineAttributeSpec(Strict):
    """An attribute a line carries (its `attributes` name/value pairs: category, brand, ...)."""

    name: FreeText = Field(min_length=1, max_length=100)
    value: FreeText = Field(max_length=500)


class LineRuleSpec(Strict):
    """A line rule of an alternate currency ([[programs.alternate_currencies.line_rules]]): each
    earning line of a bill that matches earns `units_per_quantity` units per unit of its quantity
    (a stamp per coffee), or `earn_rate` units per unit of its earning amount, rounded per line by
    the currency's rule. A line matches when it names one of `item_codes` or carries one of
    `attributes` (either suffices; neither given: any line), and meets every one of `conditions`
    (the line's own extended or custom fields, declared with level = "LINE_ITEM"). A line matching
    several rules earns by the one giving it most (rules do not stack)."""

    name: FreeText = Field(min_length=1, max_length=100)
    item_codes: list[Code] = Field(default=[], max_length=100)
    attributes: list[LineAttributeSpec] = Field(default=[], max_length=20)
    conditions: list[BillConditionSpec] = Field(default=[], max_length=20)
    units_per_quantity: Annotated[Decimal | None, _decimal_reader(POINTS)] = Field(default=None, gt=0, decimal_places=4)
    earn_rate: Annotated[Decimal | None, _decimal_reader(RATE)] = Field(default=None, gt=0, decimal_places=6)

    @model_validator(mode="after")
    def one_award_and_some_condition(self) -> LineRuleSpec:
        if (self.units_per_quantity is None) == (self.earn_rate is None):
            raise ValueError(f"line rule {self.name!r}: give one of units_per_quantity or earn_rate")
        if not (self.item_codes or self.attributes or self.conditions):
            raise ValueError(
                f"line rule {self.name!r}: name the lines it rewards by item_codes, attributes or conditions"
            )
        return self


class AlternateCurrencySpec(Strict):
    """A program's alternate currency ([[programs.alternate_currencies]], seed 001's
    `alternate_currency` side effect): a bill of the program earns `earn_rate` units per unit of
    its eligible amount (the amount points earn on), rounded by `rounding` to `decimal_places`,
    plus what its lines earn by `line_rules` (each line's units rounded on their own, so a return
    takes back a line's share exactly); each earn is a lot expiring by `expiry` (counted as the
    program's `expiry_from` says). A currency earned by line rules alone leaves earn_rate out (0)."""

    identifier: Code = Field(min_length=1, max_length=CURRENCY_IDENTIFIER_LENGTH_MAX)
    name: FreeText = Field(min_length=1, max_length=100)
    earn_rate: Annotated[Decimal, _decimal_reader(RATE)] = Field(default=Decimal(0), ge=0, decimal_places=6)
    rounding: PointsRounding = PointsRounding.FLOOR
    decimal_places: int = Field(default=0, ge=0, le=4)
    expiry: ExpirySpec = ExpirySpec()
    line_rules: list[LineRuleSpec] = Field(default=[], max_length=50)

    @model_validator(mode="after")
    def line_rules_unique(self) -> AlternateCurrencySpec:
        _require_unique(f"alternate currency {self.identifier} line rule", [rule.name for rule in self.line_rules])
        return self


class ReferralSpec(Strict):
    """[programs.referral]: a referee's qualifying purchase awards both customers once.

    A purchase qualifies when its eligible amount reaches `minimum_amount` and, with
    `first_purchase_only`, it is the referee's first bill. The referrer's award stops at
    `referrer_awards_per_month` (calendar month in the org's time zone) and `referrer_awards_total`;
    the referee's award does not depend on the referrer's limits."""

    referrer_points: Annotated[Decimal, _decimal_reader(POINTS)] = Field(ge=0, decimal_places=4)
    referee_points: Annotated[Decimal, _decimal_reader(POINTS)] = Field(ge=0, decimal_places=4)
    referrer_awards_per_month: int | None = Field(default=None, ge=1)
    referrer_awards_total: int | None = Field(default=None, ge=1)
    first_purchase_only: bool = True
    minimum_amount: Annotated[Decimal, _decimal_reader(AMOUNT)] = Field(default=Decimal(0), ge=0, decimal_places=4)


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
    group_points: GroupPoints = Field(
        default=GroupPoints.MEMBER,
        description=(
            "Where a purchase of a user group's member earns: MEMBER (the member's own account) or GROUP (pooled in "
            "the account of the member's group, the oldest when several; the side effect's entityType is USERGROUP2)."
        ),
    )
    concept: Code | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description=("Programs sharing a concept are redeemed together at that concept's tills (group redemption)."),
    )
    earning_rules: list[EarningRuleSpec] = Field(default=[], max_length=100)
    alternate_currencies: list[AlternateCurrencySpec] = Field(default=[], max_length=20)

    # Which time of a bill the hold (`promised_days`) and the expiry count from. The billing time by
    # default: the seed's billingTime is when the purchase happened, a return window runs from the
    # purchase, and a bill a till synced late should not be held or kept longer than one on time.
    hold_from: CountFrom = CountFrom.BILLING_TIME
    expiry_from: CountFrom = CountFrom.BILLING_TIME
    referral: ReferralSpec | None = None

    @model_validator(mode="after")
    def promised_days_match_category(self) -> ProgramSpec:
        if (self.earn_category is PointsCategory.PROMISED) != (self.promised_days is not None):
            raise ValueError(
                f"program {self.code}: promised_days is required with earn_category PROMISED, and only then"
            )
        return self

    @model_validator(mode="after")
    def alternate_currencies_unique(self) -> ProgramSpec:
        _require_unique(f"program {self.code} alternate currency", [c.identifier for c in self.alternate_currencies])
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
    # CONF_PRIMARY_IDENTIFIER_STRICT_CHECK: a bill whose primary identifier is not the customer
    # its other identifiers find is refused instead of merging them; the skip switch overrides it.
    primary_identifier_strict_check: bool = False

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


class BillFieldSpec(CustomerFieldSpec):
    """A field a bill carries at its own level, declared in [[extended_fields]] or [[custom_fields]]
    (seed 001's extended_fields and custom_fields): once the organisation declares any field of a
    kind, bills may carry only declared fields of that kind, each with a value of its type
    (given as text: a NUMBER's digits, a BOOLEAN's "true" or "false", a DATE's YYYY-MM-DD, an
    ENUM's one of `values`), and must carry the `required` ones. Declaring none keeps the kind
    free: pairs are stored as sent.

    `level = "LINE_ITEM"` declares a field of the line items instead, checked the same way on
    each line of a purchase (its own strictness: declaring bill fields leaves line items free).
    A name may be declared once per level."""

    level: FieldLevel = FieldLevel.BILL


class PaymentModeSpec(Strict):
    """A payment mode a bill's payment details may name ([[payment_modes]]); once any is declared,
    a payment of another mode is refused."""

    code: Code = Field(min_length=1, max_length=64)
    name: FreeText = ""


class WebhooksSpec(Strict):
    """Webhook endpoints of the organisation ([webhooks])."""

    allow_private_addresses: bool = Field(
        default=False,
        description=(
            "Endpoints may point at loopback, link-local, private or unspecified addresses (an on-premises "
            "receiver). False refuses them when an endpoint is saved and again at every delivery."
        ),
    )


class OrganizationSpec(Strict):
    organization: OrganizationSettingsSpec
    programs: list[ProgramSpec] = Field(min_length=1)
    stores: list[StoreSpec] = Field(min_length=1)
    rate_limits: RateLimitsSpec = RateLimitsSpec()
    customer_fields: list[CustomerFieldSpec] = []
    webhooks: WebhooksSpec = WebhooksSpec()
    extended_fields: list[BillFieldSpec] = []
    custom_fields: list[BillFieldSpec] = []
    payment_modes: list[PaymentModeSpec] = []

    @model_validator(mode="after")
    def bill_conditions_resolve(self) -> OrganizationSpec:
        """Earning rules name declared fields (an ENUM's value among its values) and modes."""
        for level in FieldLevel:
            what = "" if level is FieldLevel.BILL else "line item "
            _require_unique(
                f"{what}extended field", [declared.name for declared in self.extended_fields if declared.level is level]
            )
            _require_unique(
                f"{what}custom field", [declared.name for declared in self.custom_fields if declared.level is level]
            )
        _require_unique("payment mode", [mode.code for mode in self.payment_modes])
        # Conditions read the bill's own fields.
        declared_fields = {
            BillConditionKind.EXTENDED_FIELD: {
                declared.name: declared for declared in self.extended_fields if declared.level is FieldLevel.BILL
            },
            BillConditionKind.CUSTOM_FIELD: {
                declared.name: declared for declared in self.custom_fields if declared.level is FieldLevel.BILL
            },
        }
        modes = {mode.code for mode in self.payment_modes}
        # Line rules read the line's own fields, and a line has no payment mode.
        declared_line_fields = {
            BillConditionKind.EXTENDED_FIELD: {
                declared.name: declared for declared in self.extended_fields if declared.level is FieldLevel.LINE_ITEM
            },
            BillConditionKind.CUSTOM_FIELD: {
                declared.name: declared for declared in self.custom_fields if declared.level is FieldLevel.LINE_ITEM
            },
        }
        for program in self.programs:
            for rule in program.earning_rules:
                owner = f"program {program.code}, earning rule {rule.name!r}"
                _check_conditions(owner, rule.conditions, declared_fields, modes)
            for currency in program.alternate_currencies:
                for line_rule in currency.line_rules:
                    owner = f"program {program.code}, currency {currency.identifier}, line rule {line_rule.name!r}"
                    _check_conditions(owner, line_rule.conditions, declared_line_fields, None, "line item ")
        return self

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


def _check_conditions(
    owner: str,
    conditions: list[BillConditionSpec],
    declared_fields: dict[BillConditionKind, dict[str, BillFieldSpec]],
    modes: set[str] | None,
    level: str = "",
) -> None:
    """Each condition names a declared field of its level (an ENUM's value among its values), or
    a declared payment mode where `modes` are given (None: payment modes do not apply)."""
    for condition in (spec.to_condition() for spec in conditions):
        if condition.kind is BillConditionKind.PAYMENT_MODE:
            if modes is None:
                raise ValueError(f"{owner}: payment_mode is a bill's condition, not a line's")
            if condition.name not in modes:
                raise ValueError(f"{owner}: payment mode {condition.name!r} is not declared")
            continue
        declared = declared_fields[condition.kind].get(condition.name)
        if declared is None:
            raise ValueError(f"{owner}: {level}{condition.kind.lower()} {condition.name!r} is not declared")
        if declared.values and condition.value not in declared.values:
            raise ValueError(f"{owner}: {condition.name} must be one of {', '.join(declared.values)}")


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
