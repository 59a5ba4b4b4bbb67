"""Identifier normalisation: one canonical spelling per identifier, so lookups match. No I/O."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from app.customers.errors import InvalidIdentifierError
from app.kernel.enums import IdentifierType
from app.kernel.errors import ValidationError
from app.kernel.text import check_code

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
    candidate = value.strip()
    try:
        if candidate.startswith("+") or base_country is None:
            number = phonenumbers.parse("+" + candidate.removeprefix("+"), None, keep_raw_input=True)
        else:
            number = phonenumbers.parse(candidate, base_country, keep_raw_input=True)
            if not phonenumbers.is_valid_number(number):
                number = phonenumbers.parse("+" + candidate, None, keep_raw_input=True)
    except phonenumbers.NumberParseException as error:
        raise InvalidIdentifierError(f"{value!r} is not a mobile number", field=field) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifierError(f"{value!r} is not a valid mobile number", field=field)
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
