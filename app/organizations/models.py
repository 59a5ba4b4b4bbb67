"""An organisation's setup: stores, tills, loyalty programs, tiers (slabs) and API keys."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from app.storage.columns import Amount, JSONDocument, Points, Rate, UTCDateTime


class PointsRounding(StrEnum):
    FLOOR = "FLOOR"
    CEILING = "CEILING"
    HALF_UP = "HALF_UP"
    HALF_EVEN = "HALF_EVEN"


class GroupPoints(StrEnum):
    """Where a purchase of a user group's member earns (seed 001's side effect entity types)."""

    MEMBER = "MEMBER"  # the member's own account (entityType USER)
    GROUP = "GROUP"  # pooled in the member's group's account (entityType USERGROUP2)


class ExpiryStrategy(StrEnum):
    NEVER = "NEVER"
    DAYS_AFTER_EARNING = "DAYS_AFTER_EARNING"
    END_OF_MONTH_AFTER_MONTHS = "END_OF_MONTH_AFTER_MONTHS"


class CountFrom(StrEnum):
    """Which time of a bill a program's hold or expiry counts from."""

    BILLING_TIME = "BILLING_TIME"  # when the bill was billed at the till (addTransaction's billingTime)
    POSTING_TIME = "POSTING_TIME"  # when the engine received it


class FieldLevel(StrEnum):
    """Where a declared extended or custom field is carried (Capillary declares fields per level)."""

    BILL = "BILL"  # the bill's own extendedFields / customFields
    LINE_ITEM = "LINE_ITEM"  # each line item's extendedFields / customFields


class CustomerFieldType(StrEnum):
    """The kinds of value an organisation's declared customer field holds (the file's [[customer_fields]])."""

    STRING = "STRING"
    NUMBER = "NUMBER"
    DATE = "DATE"
    BOOLEAN = "BOOLEAN"
    ENUM = "ENUM"


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    time_zone: str = Field(max_length=64)
    base_country: str = Field(max_length=2)
    bill_number_unique_in_days: int
    primary_identifier: str = Field(max_length=20)
    skip_secondary_id_on_primary_mismatch: bool = False
    primary_identifier_strict_check: bool = False  # the file's; see OrganizationSettingsSpec
    # Requests a minute by key role (the organisation file's [rate_limits]); NULL: the defaults.
    rate_limits: dict[str, int] | None = Field(default=None, sa_type=JSONDocument)
    # The customer fields the organisation declares (the file's [[customer_fields]]); NULL: none.
    customer_fields: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    # The bill fields and payment modes it declares ([[extended_fields]], [[custom_fields]],
    # [[payment_modes]]); NULL: none, and bills' pairs of that kind are stored as sent.
    extended_fields: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    custom_fields: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    payment_modes: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    # Webhook endpoints may point at loopback, link-local or private addresses (the file's [webhooks]).
    webhooks_allow_private_addresses: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # Days before a lot expires that its points.expiring event is emitted; NULL: none is.
    expiry_notice_days: int | None = None


class Program(SQLModel, table=True):
    __tablename__ = "programs"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    is_default: bool = False
    points_rounding: str = Field(max_length=20)
    points_decimal_places: int = 0
    expiry_strategy: str = Field(max_length=40)
    expiry_value: int | None = None
    tier_validity_months: int | None = None
    # Burn rules: see ProgramSpec for what each means.
    allow_negative_balance: bool = False
    points_transferable: bool = False
    redemption_minimum: Decimal = Field(default=Decimal(0), sa_type=Points)
    earn_category: str = Field(default="REGULAR", max_length=20)
    group_points: str = Field(default="MEMBER", max_length=20)  # where a user group member's purchase earns
    promised_days: int | None = None
    concept_code: str | None = Field(default=None, max_length=64)
    hold_from: str = Field(default="BILLING_TIME", max_length=20)
    expiry_from: str = Field(default="BILLING_TIME", max_length=20)
    # [[programs.earning_rules]]: conditions on a bill's fields and payment modes, and the
    # multiplier of the tier's earn rate for bills meeting them; NULL: none.
    earning_rules: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    # [[programs.alternate_currencies]]: the program's other currencies and their earn rules; NULL: none.
    alternate_currencies: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    # [programs.referral]: the referral program's awards, limits and qualifying bills; NULL: none.
    referral: dict[str, Any] | None = Field(default=None, sa_type=JSONDocument)


class Tier(SQLModel, table=True):
    """A slab: serial number 1 is the lowest; reached when cumulative purchases hit the threshold."""

    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("program_id", "serial_number"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    program_id: int = Field(foreign_key="programs.id")
    serial_number: int
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=500)
    upgrade_threshold: Decimal = Field(sa_type=Amount)
    earn_rate: Decimal = Field(sa_type=Rate)


class Store(SQLModel, table=True):
    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    code: str = Field(max_length=64)
    external_id: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=200)
    program_id: int | None = Field(default=None, foreign_key="programs.id")


class Till(SQLModel, table=True):
    __tablename__ = "tills"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    store_id: int = Field(foreign_key="stores.id")
    code: str = Field(max_length=64)
    external_id: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=200)
    program_id: int | None = Field(default=None, foreign_key="programs.id")
    # Group redemption: a till of a concept redeems across every program of that concept.
    concept_code: str | None = Field(default=None, max_length=64)


class ApiKey(SQLModel, table=True):
    """HTTP Basic credentials of an org: the key id is the user name, the secret is kept hashed."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("roles <> ''", name="api_keys_roles_not_empty"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    key_id: str = Field(max_length=64, unique=True)
    secret_hash: str = Field(max_length=128)
    name: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The key's roles (app/organizations/roles.py), comma-separated: read once per key into the
    # key cache, so a request's check is a set lookup.
    roles: str = Field(max_length=100)
