"""Numbers in CSV cells, read by the kernel's one decimal grammar (app/kernel/decimals.py), as a
row's value or its RowError naming the column. A cell is read as written: no spaces around it."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from app.imports.profiles import RowError
from app.kernel.decimals import IMPORTED_POINTS, DecimalRange, Refusal, read_decimal

TEXT_QUOTED_CHARS_MAX = 40  # a message quotes only the start of a cell


@lru_cache(maxsize=4096)  # a file repeats its numbers: each text is read and checked once
def decimal_cell(text: str, column: str, code: str, bounds: DecimalRange, positive: bool = False) -> Decimal | RowError:
    """The number in `text` within `bounds` (`positive`: more than 0), or a RowError with `code`."""
    if not text:
        return RowError("MISSING_VALUE", f"{column} is empty", column)
    result = read_decimal(text, bounds)
    if result is Refusal.GRAMMAR:
        return RowError(code, f"{text[:TEXT_QUOTED_CHARS_MAX]!r} is not a number", column)
    if isinstance(result, Refusal):
        message = "must be more than 0" if positive and result is Refusal.NEGATIVE else result.message(bounds)
        return RowError(code, message, column)
    if positive and result <= 0:
        return RowError(code, "must be more than 0", column)
    return result.normalize() + 0  # one spelling per value: "10.50" and "10.5" award alike


@lru_cache(maxsize=4096)  # as decimal_cell: with its decimal places checked once per text too
def points_cell(text: str, column: str, code: str, program_code: str, decimal_places: int) -> Decimal | RowError:
    """Points of one row: more than 0, in IMPORTED_POINTS, no finer than the program counts."""
    points = decimal_cell(text, column, code, IMPORTED_POINTS, positive=True)
    if isinstance(points, Decimal) and -int(points.as_tuple().exponent) > decimal_places:
        return RowError(code, f"program {program_code} counts points to {decimal_places} decimal places", column)
    return points
