"""Cells of the CSV files the product writes, made safe to open in a spreadsheet.

A rejects file echoes what a customer or a till sent; a spreadsheet runs a cell that starts
with `=`, `+`, `-` or `@` (and, in some, a tab or carriage return) as a formula: `=HYPERLINK(...)`
sends data away, `+cmd|...` runs a program. Such a cell is written with a leading apostrophe,
which spreadsheets show as text (OWASP's CSV injection advice). A plain number (`-5`, `+2.50`)
is not a formula and stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in values]
