"""executemany straight to the driver, for the bulk paths (imports, bulk credits).

SQLAlchemy Core spends about 30 us per row of a wide executemany on bind processing (our column
types turn Decimals into scaled integers and times into UTC), which capped bulk imports at
~25,000 rows/s. `insert_rows` does the same conversions with one precomputed function per
column and hands plain tuples to the driver's executemany (`exec_driver_sql`): the same values
land in the database as through Core, at about the raw driver's speed.

Only the column types the bulk tables use are converted (FixedDecimal, UTCDateTime, and types
the drivers take as they are); a table with anything else is refused, not mis-stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String
from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.money import to_scaled_integer
from app.storage.columns import FixedDecimal, UTCDateTime

Converter = Callable[[Any], Any] | None
_plans: dict[tuple[str, tuple[str, ...], str], tuple[str, tuple[Converter, ...]]] = {}


@lru_cache(maxsize=4096)  # a batch's rows share a few times (now, the file's dates)
def _sqlite_time(value: datetime | None) -> str | None:
    """As SQLAlchemy's SQLite DATETIME stores it (naive UTC text), so SQL comparisons still hold."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given; pointledger stores timezone-aware times only")
    value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond:06d}"
    )


def _converter(column: Any, dialect: str) -> Converter:
    column_type = column.type
    if isinstance(column_type, FixedDecimal):
        scale = column_type.scale

        @lru_cache(maxsize=4096)  # points repeat a lot (0 on every opening entry)
        def scaled(value: Any) -> int | None:
            return None if value is None else to_scaled_integer(value, scale)

        return scaled
    if isinstance(column_type, UTCDateTime):
        if dialect == "sqlite":
            return _sqlite_time
        return lambda value: None if value is None else value.astimezone(UTC)
    if isinstance(column_type, (Integer, BigInteger, String, Boolean)) or (
        column.primary_key and column_type.__class__.__name__ == "Variant"
    ):
        return None
    if isinstance(getattr(column_type, "impl", None), (Integer, BigInteger, String, Boolean)):
        return None  # e.g. SQLModel's AutoString: a plain string to the driver
    raise TypeError(f"insert_rows cannot convert {column.table.name}.{column.name} ({column_type!r})")


def _plan(
    connection: AsyncConnection, table: Any, columns: tuple[str, ...], statement: str = "insert"
) -> tuple[str, tuple[Converter, ...]]:
    """The driver's SQL and one converter per parameter: an INSERT of `columns`, or ("add") an
    UPDATE adding to each of `columns` by id (parameters: the amounts, then the id)."""
    dialect = connection.dialect
    key = (table.name, columns, dialect.name, statement)
    plan = _plans.get(key)
    if plan is None:
        quote = dialect.identifier_preparer.quote
        if dialect.name == "postgresql":
            marks = [f"${index}" for index in range(1, len(columns) + 2)]
        else:
            marks = ["?"] * (len(columns) + 1)
        if statement == "insert":
            sql = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
                f"VALUES ({', '.join(marks[: len(columns)])})"
            )
            parameter_columns = columns
        else:
            changes = ", ".join(
                f"{quote(name)} = {quote(name)} + {mark}" for name, mark in zip(columns, marks, strict=False)
            )
            sql = f"UPDATE {quote(table.name)} SET {changes} WHERE {quote('id')} = {marks[len(columns)]}"
            parameter_columns = (*columns, "id")
        plan = (sql, tuple(_converter(table.c[name], dialect.name) for name in parameter_columns))
        _plans[key] = plan
    return plan


async def insert_rows(
    connection: AsyncConnection,
    table: Any,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    *,
    converted: bool = False,
) -> None:
    """Insert `rows` (tuples of values in the order of `columns`, ids included where wanted) in one
    executemany. Tuples, not dicts: a dict per row cost more than the driver's insert of it.
    `converted`: the rows already hold driver values (`driver_value`), as the hottest paths build them."""
    sql, converters = _plan(connection, table, columns)
    await _execute_many(connection, sql, () if converted else converters, rows)


async def add_to_rows(
    connection: AsyncConnection,
    table: Any,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    *,
    converted: bool = False,
) -> None:
    """Add to `columns` of rows by id (counters, balances) in one executemany: each of `rows` is
    (amount per column..., id). Core's executemany spent ~10 us a row binding parameters."""
    sql, converters = _plan(connection, table, columns, "add")
    await _execute_many(connection, sql, () if converted else converters, rows)


def driver_value(connection: AsyncConnection, table: Any, column: str) -> Callable[[Any], Any]:
    """How `table.column` values go to this connection's driver (the identity where they go as
    they are): for callers that build driver rows themselves and pass `converted=True`."""
    converter = _converter(table.c[column], connection.dialect.name)
    return converter if converter is not None else _same


def _same(value: Any) -> Any:
    return value


async def _execute_many(
    connection: AsyncConnection, sql: str, converters: tuple[Converter, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    converted = [(index, converter) for index, converter in enumerate(converters) if converter is not None]
    if not converted:
        await connection.exec_driver_sql(sql, list(rows))
        return
    parameters = []
    for row in rows:
        values = list(row)
        for index, converter in converted:
            values[index] = converter(values[index])
        parameters.append(tuple(values))
    await connection.exec_driver_sql(sql, parameters)
