"""Typed columns, and the two files a download writes from them: CSV (streamed as it is written)
and xlsx (XlsxWriter in constant-memory mode, into a temporary file that is then streamed).

Each cell is written as its column's kind says:
- TEXT: CSV through `safe_cell` (a text that a spreadsheet would run as a formula gets a leading
  apostrophe, OWASP's advice); xlsx with `write_string`, so it is a string cell, never a formula.
- INTEGER and NUMBER: numbers. A NUMBER is a Decimal, written in CSV as the API writes it (exact
  digits, no trailing zeros) and in xlsx as the same digits (XlsxWriter writes a number's text
  with `format(number, ".16G")`, which a Decimal answers exactly: 0.1 + 0.2 is stored as 0.3,
  not 0.30000000000000004). Excel reads numbers as doubles: at most 15-16 significant digits
  survive there, far more than points need.
- DATETIME: the local time in the organisation's time zone (its name is in the header): in CSV
  `YYYY-MM-DD HH:MM:SS`, which spreadsheets read as a date; in xlsx a date cell.
- DATE: a calendar day (already local), `YYYY-MM-DD` or a date cell.
An empty value (None) is an empty cell.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import xlsxwriter  # type: ignore[import-untyped]  # ships no type information

from app.graphql.core.scalars import serialize_decimal
from app.kernel.spreadsheet import safe_cell

Row = TypeVar("Row")

XLSX_ROWS_MAX = 1_048_576  # Excel's limit per worksheet: past it, the rows go on in another sheet
CSV_BYTE_ORDER_MARK = "\ufeff"  # without it Excel reads a UTF-8 CSV as the system's code page
LOCAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class Kind(Enum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATETIME = "datetime"
    DATE = "date"


@dataclass(frozen=True)
class Column(Generic[Row]):
    header: str
    kind: Kind
    value: Callable[[Row], Any]

    def title(self, time_zone: ZoneInfo) -> str:
        return f"{self.header} ({time_zone.key})" if self.kind is Kind.DATETIME else self.header


def headers(columns: Sequence[Column[Any]], time_zone: ZoneInfo) -> list[str]:
    return [column.title(time_zone) for column in columns]


def typed_rows(columns: Sequence[Column[Row]], items: Iterable[Row], time_zone: ZoneInfo) -> list[list[Any]]:
    """The page's cells, typed: datetimes moved to the organisation's time zone (and made naive,
    as a spreadsheet's dates are)."""
    rows = []
    for item in items:
        cells = []
        for column in columns:
            value = column.value(item)
            if value is not None and column.kind is Kind.DATETIME:
                value = value.astimezone(time_zone).replace(tzinfo=None)
            cells.append(value)
        rows.append(cells)
    return rows


# --- CSV ------------------------------------------------------------------------------------


def _csv_text(kind: Kind, value: Any) -> Any:
    if value is None:
        return ""
    if kind is Kind.TEXT:
        return safe_cell(str(value))
    if kind is Kind.NUMBER:
        return serialize_decimal(value)  # as the API writes it: the digits, without trailing zeros
    if kind is Kind.DATETIME:
        return value.strftime(LOCAL_TIME_FORMAT)
    if kind is Kind.DATE:
        return value.isoformat()
    return value


def csv_chunk(kinds: Sequence[Kind], rows: Iterable[Sequence[Any]]) -> bytes:
    """Typed rows as CSV lines (RFC 4180: comma, double quotes, CRLF), UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([_csv_text(kind, value) for kind, value in zip(kinds, row, strict=True)] for row in rows)
    return buffer.getvalue().encode()


def csv_header(titles: Sequence[str]) -> bytes:
    return CSV_BYTE_ORDER_MARK.encode() + csv_chunk([Kind.TEXT] * len(titles), [titles])


# --- xlsx -----------------------------------------------------------------------------------


class XlsxFile:
    """An xlsx written row by row to `path` in XlsxWriter's constant-memory mode: each row goes to
    the worksheet's temporary file once the next begins, so memory holds one row, not the sheet.
    Strings are never read as formulas, numbers or links (XlsxWriter's `write` guesses; we do not
    call it)."""

    def __init__(self, path: str, titles: Sequence[str], kinds: Sequence[Kind], sheet_name: str) -> None:
        self.workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "tmpdir": os.path.dirname(path),
            },
        )
        self.titles = list(titles)
        self.kinds = list(kinds)
        self.sheet_name = sheet_name
        self.header_format = self.workbook.add_format({"bold": True})
        self.datetime_format = self.workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.date_format = self.workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        name = self.sheet_name if self.sheets == 1 else f"{self.sheet_name} {self.sheets}"
        self.sheet = self.workbook.add_worksheet(name[:31])  # Excel's limit on a sheet's name
        for index, kind in enumerate(self.kinds):
            width = 20 if kind in (Kind.DATETIME, Kind.TEXT) else 12
            self.sheet.set_column(index, index, max(width, len(self.titles[index]) + 2))
        for index, title in enumerate(self.titles):
            self.sheet.write_string(0, index, title, self.header_format)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        for values in rows:
            if self.row == XLSX_ROWS_MAX:
                self._new_sheet()
            for index, (kind, value) in enumerate(zip(self.kinds, values, strict=True)):
                self._write_cell(index, kind, value)
            self.row += 1

    def _write_cell(self, column: int, kind: Kind, value: Any) -> None:
        if value is None:
            return
        if kind is Kind.TEXT:
            self.sheet.write_string(self.row, column, str(value))
        elif kind is Kind.NUMBER:
            assert isinstance(value, Decimal)
            # Its shortest digits ("0.3", "100"): XlsxWriter formats a number with ".16G", which a
            # Decimal does exactly (a float would go through binary first).
            self.sheet.write_number(self.row, column, Decimal(serialize_decimal(value)))
        elif kind is Kind.INTEGER:
            self.sheet.write_number(self.row, column, int(value))
        elif kind is Kind.DATETIME:
            assert isinstance(value, datetime)
            self.sheet.write_datetime(self.row, column, value, self.datetime_format)
        else:
            assert isinstance(value, date)
            self.sheet.write_datetime(self.row, column, value, self.date_format)

    def close(self) -> None:
        self.workbook.close()
