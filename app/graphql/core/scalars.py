"""Decimal as a string without exponent or trailing zeros ("106", "12.5"): exact, and easy to read."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import strawberry
from strawberry.schema.types.scalar import ScalarDefinition


def serialize_decimal(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def parse_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("a decimal number is expected, as a string or a number")
    try:
        # Floats arrive from JSON numbers: read them through their shortest text, not binary.
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValueError(f"{value!r} is not a decimal number") from error
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite decimal number")
    return result


DecimalScalar: ScalarDefinition = strawberry.scalar(
    name="Decimal",
    description='An exact decimal number, serialized as a string such as "106" or "12.5".',
    serialize=serialize_decimal,
    parse_value=parse_decimal,
)
