"""executemany straight to the driver, for the bulk paths (imports, bulk credits).

SQLAlchemy Core spends about 30 us per row of a wide executemany on bind processing (our column
types turn Decimals into scaled integers and times into UTC), which capped bulk imports at
~25,000 rows/s. `insert_rows` applies each column type's own bind processor (the function Core
would call, so the same values land in the database) once per distinct value, and hands plain
tuples to the driver's executemany (`exec_driver_sql`), at about the raw driver's speed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

Converter = Callable[[Any], Any] | None
_plans: dict[tuple[str, tuple[str, ...], str, str], tuple[str, tuple[Converter, ...]]] = {}
DISTINCT_VALUES_CACHED_MAX = 4096
# PostgreSQL inserts at least this many rows with COPY: below it, one pipelined executemany costs
# less than COPY's set-up (scripts/bench --imports --postgres measures the two).
COPY_ROWS_MIN = 500


def _converter(column: Any, dialect: Dialect) -> Converter:
    """The column type's bind processor for this dialect (None: the driver takes values as they are).
    The dialect's own implementation of the type, as Core binds it: the generic type's processor
    hands SQLite naive datetimes, which sqlite3 writes without the `.000000` that Core writes, and
    SQLite compares times as text."""
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return None if processor is None else _once_per_value(processor)


def _once_per_value(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`processor`, remembering its latest results per distinct value: a batch's rows repeat a few
    values (0 points on every opening entry, the batch's time, the file's dates)."""
    remembered = lru_cache(maxsize=DISTINCT_VALUES_CACHED_MAX, typed=True)(processor)

    def convert(value: Any) -> Any:
        try:
            return remembered(value)
        except TypeError:  # not hashable (a JSON document): converted every time
            return processor(value)

    return convert


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
        plan = (sql, tuple(_converter(table.c[name], dialect) for name in parameter_columns))
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
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_ROWS_MIN:
        await _copy_rows(connection, table, columns, () if converted else converters, rows)
        return
    await _execute_many(connection, sql, () if converted else converters, rows)


async def _copy_rows(
    connection: AsyncConnection,
    table: Any,
    columns: tuple[str, ...],
    converters: tuple[Converter, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """PostgreSQL: the rows through COPY (asyncpg's copy_records_to_table, binary), in the
    caller's transaction. The rows carry their ids (reserved first), so nothing comes back."""
    converted = [(index, converter) for index, converter in enumerate(converters) if converter is not None]
    if converted:
        rows = [_converted(row, converted) for row in rows]
    # The adapter opens its transaction on its first statement: make sure COPY runs inside it.
    await connection.exec_driver_sql("SELECT 1")
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None, "an open connection"
    await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))


def _converted(row: tuple[Any, ...], converted: list[tuple[int, Any]]) -> tuple[Any, ...]:
    values = list(row)
    for index, converter in converted:
        values[index] = converter(values[index])
    return tuple(values)


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
    converter = _converter(table.c[column], connection.dialect)
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
