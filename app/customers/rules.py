"""Identifier normalisation: one canonical spelling per identifier, so lookups match; and the keys
name search compares names by; the values of the customer fields an organisation declares. No I/O."""

from __future__ import annotations

import functools
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from app.customers.errors import InvalidIdentifierError
from app.kernel.decimals import DecimalRange, Refusal, read_decimal
from app.kernel.enums import IdentifierType
from app.kernel.errors import ValidationError
from app.kernel.text import check_code, check_text
from app.organizations.config import CustomerFieldConfig
from app.organizations.models import CustomerFieldType

IDENTIFIER_LENGTH_MAX = 254


@dataclass(frozen=True, slots=True)
class NormalizedMobile:
    number: str  # E.164 digits without '+'
    country_code_added: int | None  # the base country's calling code, when the number had none


def normalize_mobile(value: str, base_country: str, field: str) -> str:
    """E.164 digits without '+', as the seed shows them ("919999000001").

    A number without a country code is read as a number of the org's base country; one that
    already starts with the country code (as tills often send it) is accepted as well.
    """
    return normalize_mobile_number(value, base_country, field).number


def normalize_mobile_number(value: str, base_country: str | None, field: str) -> NormalizedMobile:
    """`normalize_mobile`, saying whether the base country's code was added (an import reports it).
    Without a base country the number must carry its country code ('+' optional)."""
    normalized = _parsed_mobile(value.strip(), base_country)
    if isinstance(normalized, NormalizedMobile):
        return normalized
    raise InvalidIdentifierError(f"{value!r} {normalized}", field=field)


# Numbers parsed lately, with what parsing them gave: phonenumbers takes about 0.1-0.2 ms a number,
# and tills and apps send the same customers' numbers again and again (a ledger page, a bill).
MOBILES_REMEMBERED_MAX = 65_536


@functools.lru_cache(maxsize=MOBILES_REMEMBERED_MAX)
def _parsed_mobile(candidate: str, base_country: str | None) -> NormalizedMobile | str:
    """The number, or why it is refused (the end of the error's message). Pure: phonenumbers'
    metadata is fixed for the process."""
    try:
        if candidate.startswith("+") or base_country is None:
            number = phonenumbers.parse("+" + candidate.removeprefix("+"), None, keep_raw_input=True)
        else:
            number = phonenumbers.parse(candidate, base_country, keep_raw_input=True)
            if not phonenumbers.is_valid_number(number):
                number = phonenumbers.parse("+" + candidate, None, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return "is not a mobile number"
    if not phonenumbers.is_valid_number(number):
        return "is not a valid mobile number"
    # keep_raw_input is what makes phonenumbers record where the country code came from.
    added = number.country_code_source == phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY
    return NormalizedMobile(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).removeprefix("+"),
        number.country_code if added else None,
    )


def normalize_email(value: str, field: str) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidIdentifierError(f"{value!r} is not an email address: {error}", field=field) from error
    return result.normalized.lower()


def normalize_code(value: str, field: str) -> str:
    """An external id or card number: stripped, not empty, and text the column holds (the
    kernel's check for codes: length, printable characters only), refused as an invalid identifier."""
    candidate = value.strip()
    if not candidate:
        raise InvalidIdentifierError("must not be empty", field=field)
    try:
        check_code(candidate, field, IDENTIFIER_LENGTH_MAX)
    except ValidationError as error:
        raise InvalidIdentifierError(error.message, field=field) from error
    return candidate


def normalize_identifier(kind: IdentifierType, value: str, base_country: str, field: str) -> str:
    if kind is IdentifierType.MOBILE:
        return normalize_mobile(value, base_country, field)
    if kind is IdentifierType.EMAIL:
        return normalize_email(value, field)
    return normalize_code(value, field)


# --- Name search keys ---------------------------------------------------------------------

NAME_KEY_LENGTH_MAX = 200  # a name is at most 100 characters; NFKD may lengthen it (ligatures)


def name_search_key(name: str) -> str:
    """A name as name search compares it: case folded, decomposed (NFKD) with the combining marks
    dropped, runs of whitespace as one space: "José  ÁLVAREZ" -> "jose alvarez". Case folding comes
    first because it can itself produce combining marks ("İ" -> "i" + U+0307)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    stripped = "".join(character for character in decomposed if not unicodedata.combining(character))
    return " ".join(stripped.split())[:NAME_KEY_LENGTH_MAX]


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest text greater than every text starting with `prefix` (code point order, as the
    key columns compare), so `key >= prefix AND key < bound` is a prefix match a B-tree index
    serves; None when there is none (the prefix ends in the last code point)."""
    last = ord(prefix[-1])
    if last >= sys.maxunicode:
        return None
    bound = chr(last + 1)
    if 0xD800 <= ord(bound) <= 0xDFFF:  # surrogates cannot be stored: the next storable code point
        bound = "\ue000"
    return prefix[:-1] + bound


# --- Declared customer fields ---------------------------------------------------------------

STRING_FIELD_LENGTH_MAX = 500
NUMBER_FIELD = DecimalRange(15, 6, negative_allowed=True)  # stored as its exact text: never a float


def merged_field_values(
    declared: Sequence[CustomerFieldConfig], current: Mapping[str, Any], given: Mapping[str, Any], path: str
) -> dict[str, Any]:
    """The customer's field values once `given` (name -> value, None: remove it) applies over
    `current`, each checked against the organisation's declaration: a declared name, a value of
    its type (NUMBER: a number or its text, kept as exact text; DATE: "YYYY-MM-DD"; ENUM: one of
    its values), and every required field with a value. Refusals name `path`.<field name>."""
    by_name = {declared_field.name: declared_field for declared_field in declared}
    merged = dict(current)
    for name, value in given.items():
        field = f"{path}.{name}"
        declared_field = by_name.get(name)
        if declared_field is None:
            raise ValidationError("is not a customer field the organisation declares", field=field)
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = declared_field_value(declared_field, value, field)
    for declared_field in declared:
        if declared_field.required and declared_field.name not in merged:
            raise ValidationError("is a required customer field", field=f"{path}.{declared_field.name}")
    return merged


def declared_field_value(declared: CustomerFieldConfig, value: Any, field: str) -> Any:
    """`value` checked against a declared field (a customer's, or a bill's: see app.transactions.rules)."""
    kind = declared.type
    if kind is CustomerFieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValidationError("must be true or false", field=field)
        return value
    if kind is CustomerFieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationError("must be a number", field=field)
        number = read_decimal(repr(value) if isinstance(value, float) else str(value), NUMBER_FIELD)
        if isinstance(number, Refusal):
            raise ValidationError(number.message(NUMBER_FIELD), field=field)
        return str(number)
    if not isinstance(value, str):
        raise ValidationError("must be a string", field=field)
    if kind is CustomerFieldType.DATE:
        try:
            if len(value) != len("2026-12-06"):
                raise ValueError(value)
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValidationError("must be a date, YYYY-MM-DD", field=field) from None
    if kind is CustomerFieldType.ENUM:
        if value not in declared.values:
            raise ValidationError(f"must be one of {', '.join(declared.values)}", field=field)
        return value
    check_text(value, field, STRING_FIELD_LENGTH_MAX)
    return value
