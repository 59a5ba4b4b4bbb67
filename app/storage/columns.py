"""Column types that round-trip exactly on SQLite and PostgreSQL.

Money and points are never floats: they are stored as integers scaled by 10**scale (the scales
are app.kernel.money's), so sums in SQL are exact on both databases.
Times are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from app.kernel.money import AMOUNT_SCALE, POINTS_SCALE, RATE_SCALE, from_scaled_integer, to_scaled_integer

# The Decimals of stored integers read lately, per scale (every points column shares one): pages
# read the same amounts again and again, and a lookup costs a quarter of building the Decimal.
# Decimals are immutable: sharing one is safe.
READ_DECIMALS_MAX = 16_384


@functools.cache
def _decimals_read(scale: int) -> Callable[[Any], Decimal]:
    """The stored integers' Decimals at `scale`, remembered (one LRU per scale)."""
    return functools.lru_cache(maxsize=READ_DECIMALS_MAX)(lambda value: from_scaled_integer(value, scale))


class FixedDecimal(TypeDecorator[Decimal]):
    """A Decimal stored as a scaled integer. Refuses values finer than its scale."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return to_scaled_integer(Decimal(value), self.scale)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return from_scaled_integer(value, self.scale)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """`process_result_value` as one closure: TypeDecorator's generic wrapper (two calls and a
        bound method per value) was most of a 100-entry ledger page's row processing."""
        if self.impl_instance.result_processor(dialect, coltype) is not None:
            return super().result_processor(dialect, coltype)  # no driver here converts BIGINT today
        read = _decimals_read(self.scale)

        def process(value: Any) -> Decimal | None:
            return None if value is None else read(value)

        return process


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pointledger stores timezone-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return _as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """`process_result_value` after the driver's own conversion, as one closure (see FixedDecimal)."""
        convert = self.impl_instance.result_processor(dialect, coltype)
        if convert is None:
            return _as_utc

        def process(value: Any) -> datetime | None:
            return _as_utc(convert(value))

        return process


def _as_utc(value: datetime | None) -> datetime | None:
    """A stored time as a UTC-aware datetime (SQLite's come back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Amount(FixedDecimal):
    """Money, to 1/10,000 of a currency unit."""

    cache_ok = True  # SQLAlchemy asks each subclass itself

    def __init__(self) -> None:
        super().__init__(AMOUNT_SCALE)


class Points(FixedDecimal):
    """Rounded points and balances."""

    cache_ok = True  # SQLAlchemy asks each subclass itself

    def __init__(self) -> None:
        super().__init__(POINTS_SCALE)


class Rate(FixedDecimal):
    """Earn rates (points per currency unit)."""

    cache_ok = True  # SQLAlchemy asks each subclass itself

    def __init__(self) -> None:
        super().__init__(RATE_SCALE)


JSONDocument = JSON


# 64-bit ids on PostgreSQL for the tables that grow without bound; SQLite's rowid is 64-bit
# already and must be declared INTEGER to autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")
