"""Exact money and points: the decimal places each kind of number keeps, and its scaled integer.

Amounts and points are Decimals in Python and integers scaled by 10**scale in the database, so
sums are exact on SQLite and PostgreSQL alike; nothing is ever a float.
"""

from __future__ import annotations

from decimal import Decimal

AMOUNT_SCALE = 4  # money: 1/10,000 of a currency unit covers every ISO currency's minor unit
POINTS_SCALE = 4  # rounded points and balances
RAW_POINTS_SCALE = 6  # unrounded points, kept beside the rounded value (in the bill's side effects)
RATE_SCALE = 6  # earn rates (points per currency unit)


def to_scaled_integer(value: Decimal, scale: int) -> int:
    scaled = value.scaleb(scale)
    integral = scaled.to_integral_value()
    if integral != scaled:
        raise ValueError(f"{value} has more than {scale} decimal places")
    return int(integral)


def from_scaled_integer(value: int, scale: int) -> Decimal:
    return Decimal(int(value)).scaleb(-scale)
