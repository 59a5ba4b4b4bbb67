"""What the import profiles share: naming the account holder of a row (a customer by one
identifier, or a user group), the country code added to mobiles, the store named by code or
external id (or replaced by the configured one), and the text checks of a row's values.

Pure parts (`parse_customer`, `StoreResolver`) run in `ProfileRun.parse`; mobiles are normalised
by the customers' own rule (app.customers.rules), so a number is stored and found the same way
whether an import or a till names it. The lookups take the batch's connection and a whole batch
of values: one statement per kind (per chunk, where the other domain's lookup takes a bounded
list), never per row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from app.cards import repository as cards_repository
from app.cards.models import CardStatus
from app.customers import repository as customers_repository
from app.customers import service as customers_service
from app.customers.errors import InvalidIdentifierError
from app.customers.models import CustomerKind
from app.customers.rules import IDENTIFIER_LENGTH_MAX, normalize_code, normalize_email, normalize_mobile_number
from app.imports.errors import ImportFileError
from app.imports.profiles import Correction, RowError
from app.kernel.enums import IdentifierType
from app.kernel.errors import ValidationError
from app.kernel.text import check_required_code, check_text
from app.organizations.config import OrgConfig, StoreConfig, TillConfig
from app.user_groups import service as user_groups
from app.user_groups.service import GroupIdentifierType

CHUNK = 1000  # values per expanding IN (...) list (each value a bound parameter)


class CustomerIdentifierType(StrEnum):
    """The seed's "unique identifier type": which column names the customer."""

    MOBILE = "MOBILE"
    EMAIL = "EMAIL"
    EXTERNAL_ID = "EXTERNAL_ID"
    USER_ID = "USER_ID"
    CARD_NUMBER = "CARD_NUMBER"  # the customer's CARD_NUMBER identifier
    CARD_EXTERNAL_ID = "CARD_EXTERNAL_ID"  # a loyalty card (its identifier) of the promotion's program


CUSTOMER_COLUMNS: dict[CustomerIdentifierType, str] = {
    CustomerIdentifierType.MOBILE: "mobile",
    CustomerIdentifierType.EMAIL: "email",
    CustomerIdentifierType.EXTERNAL_ID: "external_id",
    CustomerIdentifierType.USER_ID: "user_id",
    CustomerIdentifierType.CARD_NUMBER: "card_number",
    CustomerIdentifierType.CARD_EXTERNAL_ID: "card_external_id",
}
GROUP_COLUMN = "user_group_identifier"
GROUP_VALUE_CHARS_MAX = 100


def chunks(values: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def require_columns(header: Sequence[str], needed: Sequence[str], why: str) -> None:
    """A column the configuration needs is in the header (a file-level error, before any row)."""
    missing = [name for name in needed if name not in header]
    if missing:
        raise ImportFileError("MISSING_COLUMN", f"the header lacks the column {missing[0]!r} ({why})")


# --- Pure: a row's values -------------------------------------------------------------------


def parse_mobile(
    raw: str, org: OrgConfig, append_country_code: bool, column: str
) -> tuple[str, Correction | None] | RowError:
    """E.164 digits without '+' (how identifiers are stored). With `append_country_code`, a number
    without one is read as the base country's and the addition is reported; without it, the
    number must carry its country code."""
    return _parse_mobile(raw.strip(), org.base_country, append_country_code, column)


@lru_cache(maxsize=65536)  # a file names its customers many times; parsing a number costs ~0.2 ms
def _parse_mobile(
    text: str,
    base_country: str,
    append_country_code: bool,
    column: str,
) -> tuple[str, Correction | None] | RowError:
    try:
        mobile = normalize_mobile_number(text, base_country if append_country_code else None, column)
    except InvalidIdentifierError:
        hint = "" if append_country_code else " with its country code (or turn on append_country_code)"
        return RowError("INVALID_MOBILE", f"{text[:40]!r} is not a valid mobile number{hint}", column)
    if mobile.country_code_added is not None:
        return mobile.number, Correction(
            "COUNTRY_CODE_ADDED",
            f"{text[:40]!r} had no country code: {base_country}'s {mobile.country_code_added} was added "
            f"({mobile.number})",
            column,
        )
    return mobile.number, None


def parse_customer(
    kind: CustomerIdentifierType,
    raw: str,
    org: OrgConfig,
    append_country_code: bool,
) -> tuple[str, Correction | None] | RowError:
    """The customer value of a row, normalized as it is stored; RowError naming the column."""
    column = CUSTOMER_COLUMNS[kind]
    text = raw.strip()
    if not text:
        return RowError("MISSING_VALUE", f"{column} is empty", column)
    if kind is CustomerIdentifierType.MOBILE:
        return parse_mobile(text, org, append_country_code, column)
    if kind is CustomerIdentifierType.USER_ID:
        user_id = customers_service.parse_user_id(text)
        if user_id is None:
            return RowError("INVALID_USER_ID", f"{text[:40]!r} is not a user id", column)
        return str(user_id), None
    try:
        if kind is CustomerIdentifierType.EMAIL:
            return normalize_email(text, column), None
        return normalize_code(text, column), None
    except InvalidIdentifierError as error:
        return RowError("INVALID_IDENTIFIER", error.message, column)


def text_refusal(value: str, column: str, length_max: int, code: str, *, identifier: bool = True) -> RowError | None:
    """The kernel's text check (at most `length_max` characters, only the characters an identifier,
    or with `identifier` False free text, may hold) as a row's refusal with `code`; None when the
    value passes."""
    if len(value) <= length_max and value.isprintable():  # the usual cell: passes, no exception set up
        return None
    try:
        check_text(value, column, length_max, code=identifier)
    except ValidationError as error:
        return RowError(code, error.message, column)
    return None


def parse_group(raw: str) -> str | RowError:
    text = raw.strip()
    if not text:
        return RowError("MISSING_VALUE", f"{GROUP_COLUMN} is empty", GROUP_COLUMN)
    refusal = text_refusal(text, GROUP_COLUMN, GROUP_VALUE_CHARS_MAX, "INVALID_IDENTIFIER")
    return text if refusal is None else refusal


@dataclass(frozen=True, slots=True)
class Place:
    store_id: int
    till_id: int | None


class StoreResolver:
    """Stores (and, where allowed, tills) by code, or by external id when the template says
    stores are denoted by external ids; an unknown one is replaced by the configured store
    (reported) or refused."""

    def __init__(
        self, org: OrgConfig, *, by_external_id: bool, replacement: StoreConfig | None, column: str, tills_too: bool
    ) -> None:
        self.column = column
        self.replacement = replacement
        self.by_external_id = by_external_id
        if by_external_id:
            self.stores: dict[str, StoreConfig] = {
                store.external_id: store for store in org.stores if store.external_id
            }
            self.tills: dict[str, TillConfig] = {till.external_id: till for till in org.tills if till.external_id}
        else:
            self.stores = {store.code: store for store in org.stores}
            self.tills = {till.code: till for till in org.tills}
        if not tills_too:
            self.tills = {}

    def resolve(self, raw: str) -> tuple[Place, Correction | None] | RowError:
        text = raw.strip()
        till = self.tills.get(text)
        if till is not None:
            return Place(till.store_id, till.id), None
        store = self.stores.get(text)
        if store is not None:
            return Place(store.id, None), None
        named = "store external id" if self.by_external_id else "store code"
        if self.replacement is None:
            if not text:
                return RowError("MISSING_VALUE", f"{self.column} is empty", self.column)
            return RowError(
                "STORE_NOT_FOUND", f"no {'till or ' if self.tills else ''}{named} {text[:40]!r}", self.column
            )
        shown = repr(text[:40]) if text else "an empty value"
        return Place(self.replacement.id, None), Correction(
            "STORE_REPLACED", f"{shown} names no {named}: replaced by store {self.replacement.code}", self.column
        )


def replacement_store(org: OrgConfig, code: str | None) -> StoreConfig | None:
    """The configured replacement store (by its code); a typed error naming the setting."""
    if code is None:
        return None
    store = org.store_by_code(code)
    if store is None:
        raise ValidationError(f"no store with code {code!r}", field="replacementStoreCode")
    return store


# --- Lookups: a batch at a time ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str


async def find_customers(
    connection: AsyncConnection,
    org: OrgConfig,
    kind: CustomerIdentifierType,
    values: Sequence[str],
    program_id: int | None,
) -> dict[str, int | Refusal]:
    """Each value's customer id, or why it names none (absent values: CUSTOMER_NOT_FOUND)."""
    found: dict[str, int | Refusal] = {}
    wanted = list(dict.fromkeys(values))
    if kind is CustomerIdentifierType.USER_ID:
        for chunk in chunks(wanted):  # customer_kinds binds each id: a bounded list a statement
            kinds = await customers_repository.customer_kinds(
                connection, org_id=org.id, customer_ids=[int(value) for value in chunk]
            )
            for customer_id, customer_kind in kinds.items():
                found[str(customer_id)] = (
                    customer_id
                    if customer_kind == CustomerKind.CUSTOMER.value
                    else Refusal("NOT_A_CUSTOMER", f"user {customer_id} is a user group's account, not a customer")
                )
    elif kind is CustomerIdentifierType.CARD_EXTERNAL_ID:
        cards = (
            await cards_repository.cards_by_key(connection, org_id=org.id, program_id=program_id, keys=wanted)
            if program_id is not None  # cards belong to a program: without one, none is found
            else {}
        )
        for key, row in cards.items():
            found[key] = (
                row.customer_id
                if row.status == CardStatus.ACTIVE.value
                else Refusal("CARD_INACTIVE", f"loyalty card {key!r} is not active")
            )
    else:
        found.update(
            await customers_repository.customers_by_identifier(
                connection, org_id=org.id, kind=IdentifierType(kind.value), values=wanted
            )
        )
    return found


async def merged_customers(connection: AsyncConnection, customer_ids: Sequence[int], *, lock: bool) -> dict[int, int]:
    """Merged customers among these (victim -> survivor); `lock` locks them all in id order (as
    every award does) so no merge moves them before the batch commits."""
    merged: dict[int, int] = {}
    for chunk in chunks(sorted(set(customer_ids))):
        for row in await customers_repository.merge_states(connection, chunk, lock=lock):
            if row.merged_into_customer_id is not None:
                merged[row.id] = row.merged_into_customer_id
    return merged


async def find_groups(
    connection: AsyncConnection, org: OrgConfig, kind: GroupIdentifierType, values: Sequence[str]
) -> dict[str, user_groups.GroupView]:
    """The batch's groups, in one statement."""
    return await user_groups.find_groups(connection, org, kind, list(dict.fromkeys(values)))


async def memberships(connection: AsyncConnection, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (group id, customer id) pairs are memberships."""
    found: set[tuple[int, int]] = set()
    for chunk in chunks(sorted(set(pairs))):
        found.update(await customers_repository.memberships_among(connection, chunk))
    return found


def check_known_settings(raw: Mapping[str, Any], config_type: type) -> None:
    """A setting the profile's configuration does not have is refused (a misspelt one would
    otherwise be ignored without a word)."""
    unknown = set(raw) - {field.name for field in dataclasses.fields(config_type)}
    if unknown:
        raise ValidationError(f"unknown configuration {sorted(unknown)[0]!r}", field="configuration")


def settings_document(config: Any) -> dict[str, Any]:
    """A configuration as stored with its template or job: every setting, enums by value."""
    document = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        document[field.name] = value.value if isinstance(value, Enum) else value
    return document


def enum_setting(raw: Mapping[str, Any], name: str, enum: type[StrEnum], default: StrEnum | None, field: str) -> Any:
    value = raw.get(name, default.value if default is not None else None)
    if value is None:
        return None
    if not isinstance(value, str) or value not in enum.__members__:
        raise ValidationError(f"must be one of {', '.join(enum.__members__)}", field=field)
    return enum(value)


def bool_setting(raw: Mapping[str, Any], name: str, default: bool, field: str) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise ValidationError("must be true or false", field=field)
    return value


def text_setting(raw: Mapping[str, Any], name: str, field: str, length_max: int = IDENTIFIER_LENGTH_MAX) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"must be 1 to {length_max} characters", field=field)
    return check_required_code(value, field, length_max)


# --- A row's account holder, as both profiles name it ------------------------------------------


@dataclass(frozen=True, slots=True)
class HolderLookup:
    """A batch's customers (by the configured identifier) and user groups, found in one go."""

    customers: dict[str, int | Refusal]
    groups: dict[str, user_groups.GroupView]


class HolderSettings(Protocol):
    """The settings every holder profile's configuration has."""

    @property
    def unique_identifier_type(self) -> CustomerIdentifierType: ...
    @property
    def append_country_code(self) -> bool: ...
    @property
    def stores_by_external_id(self) -> bool: ...
    @property
    def replacement_store_code(self) -> str | None: ...
    @property
    def user_groups_enabled(self) -> bool: ...
    @property
    def user_group_identifier_type(self) -> GroupIdentifierType: ...


def configured_stores(org: OrgConfig, settings: HolderSettings, *, column: str, tills_too: bool) -> StoreResolver:
    return StoreResolver(
        org,
        by_external_id=settings.stores_by_external_id,
        replacement=replacement_store(org, settings.replacement_store_code),
        column=column,
        tills_too=tills_too,
    )


class HolderColumns:
    """How a row names its account holder: a customer by the configured identifier type, or,
    with user groups enabled, a user group (the customer column then optional)."""

    def __init__(self, org: OrgConfig, settings: HolderSettings) -> None:
        self.org = org
        self.customer_type = settings.unique_identifier_type
        self.append_country_code = settings.append_country_code
        self.groups_enabled = settings.user_groups_enabled
        self.group_type = settings.user_group_identifier_type
        self.customer_column = CUSTOMER_COLUMNS[self.customer_type]

    def require(self, header: Sequence[str]) -> None:
        if self.groups_enabled:
            require_columns(header, [GROUP_COLUMN], "user groups are enabled")
        else:
            require_columns(header, [self.customer_column], f"customers are identified by {self.customer_type.value}")

    def parse(self, row: Mapping[str, str], corrections: list[Correction]) -> tuple[str | None, str | None] | RowError:
        """The row's (customer, group) values, normalized; a country code added goes to `corrections`."""
        group: str | None = None
        if self.groups_enabled:
            parsed_group = parse_group(row[GROUP_COLUMN])
            if isinstance(parsed_group, RowError):
                return parsed_group
            group = parsed_group
        customer = None
        customer_text = row.get(self.customer_column, "")
        if not self.groups_enabled or customer_text.strip():
            parsed = parse_customer(self.customer_type, customer_text, self.org, self.append_country_code)
            if isinstance(parsed, RowError):
                return parsed
            customer, correction = parsed
            if correction is not None:
                corrections.append(correction)
        return customer, group

    async def find(
        self,
        connection: AsyncConnection,
        customer_values: Sequence[str],
        group_values: Sequence[str],
        program_id: int | None,
    ) -> HolderLookup:
        found = (
            await find_customers(connection, self.org, self.customer_type, customer_values, program_id)
            if customer_values
            else {}
        )
        groups = await find_groups(connection, self.org, self.group_type, group_values) if self.groups_enabled else {}
        return HolderLookup(found, groups)

    def resolve(
        self,
        lookup: HolderLookup,
        customer: str | None,
        group: str | None,
    ) -> tuple[int | None, user_groups.GroupView | None] | RowError:
        """The row's customer id and group (each None when the row names none), or why one names
        nothing: the customer is checked first."""
        customer_id = None
        if customer is not None:
            owner = lookup.customers.get(customer)
            if owner is None or isinstance(owner, Refusal):
                refusal = owner or Refusal(
                    "CUSTOMER_NOT_FOUND", f"no customer with {self.customer_type.value} {customer!r}"
                )
                return RowError(refusal.code, refusal.message, self.customer_column)
            customer_id = owner
        found_group = None
        if group is not None:
            found_group = lookup.groups.get(group)
            if found_group is None:
                return RowError(
                    "USER_GROUP_NOT_FOUND", f"no user group with {self.group_type.value} {group!r}", GROUP_COLUMN
                )
        return customer_id, found_group

    def holder(self, customer_id: int | None, group: user_groups.GroupView | None) -> tuple[int, str]:
        """Whose account takes the row, and the column naming it: the group's own row when the
        row names a group, else the customer's."""
        if group is not None:
            return group.customer_id, GROUP_COLUMN
        assert customer_id is not None  # parse() required a customer without a group
        return customer_id, self.customer_column


async def merged_holders(connection: AsyncConnection, lookup: HolderLookup, *, lock: bool) -> dict[int, int]:
    """Merged ones among the batch's found customers and groups' backing rows (victim -> survivor)."""
    candidates = {value for value in lookup.customers.values() if isinstance(value, int)}
    candidates.update(group.customer_id for group in lookup.groups.values())
    return await merged_customers(connection, list(candidates), lock=lock) if candidates else {}


def merged_refusal(holder_id: int, merged: Mapping[int, int], column: str) -> RowError | None:
    if holder_id not in merged:
        return None
    return RowError("CUSTOMER_MERGED", f"customer {holder_id} was merged into customer {merged[holder_id]}", column)


IDENTIFIER_TYPES = (
    CustomerIdentifierType.MOBILE,
    CustomerIdentifierType.EMAIL,
    CustomerIdentifierType.EXTERNAL_ID,
    CustomerIdentifierType.USER_ID,
)


def identifier_type_setting(raw: Mapping[str, Any], config_type: type) -> CustomerIdentifierType:
    """Which column names the customer (MOBILE by default): a setting of the configurations
    whose rows name customers by one identifier type. A setting `config_type` lacks is refused."""
    check_known_settings(raw, config_type)
    kind: CustomerIdentifierType = enum_setting(
        raw, "unique_identifier_type", CustomerIdentifierType, CustomerIdentifierType.MOBILE, "uniqueIdentifierType"
    )
    if kind not in IDENTIFIER_TYPES:
        raise ValidationError(
            f"must be one of {', '.join(kind.value for kind in IDENTIFIER_TYPES)}", field="uniqueIdentifierType"
        )
    return kind
