"""Decimal as a string without exponent or trailing zeros ("106", "12.5"): exact, and easy to read.

Read by the kernel's one decimal grammar (app/kernel/decimals.py). A value outside it is not
refused here, where the field is unknown: it goes on as a RefusedDecimal, and the field's own check
refuses it as a typed error naming the field (a bill of a batch fails alone).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import cast

import strawberry
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.schema.types.scalar import ScalarDefinition

from app.kernel.decimals import ANY_FIELD, Refusal, RefusedDecimal, decimal_text, read_decimal

# A JSON integer this large is out of every range: refused before it is turned into text.
INTEGER_LIMIT = 10**ANY_FIELD.integer_digits_max


def serialize_decimal(value: Decimal) -> str:
    return decimal_text(value)


def parse_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("a decimal number is expected, as a string or a number")
    if isinstance(value, int) and not -INTEGER_LIMIT < value < INTEGER_LIMIT:
        return RefusedDecimal(Refusal.SIZE)
    # Floats arrive from JSON numbers: read them through their shortest text, not binary (a float
    # whose shortest text has an exponent is refused: send such numbers as strings).
    result = read_decimal(repr(value) if isinstance(value, float) else str(value), ANY_FIELD)
    return RefusedDecimal(result) if isinstance(result, Refusal) else result


DecimalScalar: ScalarDefinition = strawberry.scalar(
    name="Decimal",
    description=(
        'An exact decimal number, serialized as a string such as "106" or "12.5". Read as ASCII digits with an '
        'optional leading minus and an optional fraction ("1250", "-3.25", "0.5"); no exponent, sign "+", '
        "separators or spaces. A field refuses what is outside its range, naming itself."
    ),
    serialize=serialize_decimal,
    parse_value=parse_decimal,
)


# Texts of times read lately: a client sends the same start of a window or billing time with many
# requests, and reading one costs ~7 us (dateutil's isoparse). Only texts as long as a time is
# written are remembered (isoparse takes any number of fraction digits: a key must stay small);
# anything else goes to the parser, which reads or refuses it as before. Datetimes are immutable.
DATETIMES_REMEMBERED_MAX = 4_096
DATETIME_TEXT_REMEMBERED_MAX = 40  # "2026-12-08T10:00:00.123456+05:30" is 32
_read_datetime = cast(Callable[[object], object], DateTimeDefinition.parse_value)  # set by Strawberry
_read_datetime_text = functools.lru_cache(maxsize=DATETIMES_REMEMBERED_MAX)(_read_datetime)


def parse_datetime(value: object) -> object:
    if type(value) is str and len(value) <= DATETIME_TEXT_REMEMBERED_MAX:
        return _read_datetime_text(value)
    return _read_datetime(value)


# Strawberry's DateTime (same name, description and serializer), reading through the texts remembered.
DateTimeScalar: ScalarDefinition = dataclasses.replace(DateTimeDefinition, parse_value=parse_datetime)
