"""Reading a CSV file as a stream of records, with the byte offset after each one.

The file is read line by line in binary (a line is never longer than LINE_BYTES_MAX), each line
decoded as UTF-8 (a BOM at the start is skipped), and the lines fed to the `csv` module, which
joins quoted newlines and commas into fields and handles CRLF. Since `csv` pulls lines only as
it needs them, the bytes consumed when a record comes out are exactly where the next record
starts: the checkpoint a resumed import seeks to. Memory holds one record at a time.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from app.imports.errors import ImportFileError
from app.kernel.text import NUL, refused_character

BOM = b"\xef\xbb\xbf"
LINE_BYTES_MAX = 1024 * 1024  # a longer physical line fails the file (LINE_TOO_LONG)
RECORD_CHARS_MAX = 1024 * 1024  # csv's field_size_limit: a quote left open cannot swallow the file
FIELD_CHARS_MAX = 1000  # a longer field rejects its row (FIELD_TOO_LONG): no column of a profile needs more
REPLACEMENT_CHARACTER = "\ufffd"
STORED_FIELD_CHARS_MAX = 1000  # a rejected row's fields are kept up to this, cut ones say so

csv.field_size_limit(RECORD_CHARS_MAX)


@dataclass(frozen=True, slots=True)
class Record:
    row_number: int  # as a spreadsheet numbers it: the header is row 1
    fields: list[str]
    end_offset: int  # bytes of the file up to the end of this record


class CsvStream:
    """Records of `file` from `start_offset` (0, or a checkpoint) on, numbered from `start_row` + 1."""

    def __init__(self, file: BinaryIO, *, start_offset: int = 0, start_row: int = 1) -> None:
        self.file = file
        self.offset = start_offset
        self.row_number = start_row
        file.seek(start_offset)

    def _lines(self) -> Iterator[str]:
        while True:
            raw = self.file.readline(LINE_BYTES_MAX + 1)
            if not raw:
                return
            if len(raw) > LINE_BYTES_MAX:
                raise ImportFileError(
                    "LINE_TOO_LONG",
                    f"a line starting at byte {self.offset:,} is longer than "
                    f"{LINE_BYTES_MAX:,} bytes (row {self.row_number + 1})",
                )
            start = 3 if self.offset == 0 and raw.startswith(BOM) else 0
            try:
                text = raw[start:].decode("utf-8")
            except UnicodeDecodeError as error:
                raise ImportFileError(
                    "INVALID_ENCODING",
                    f"row {self.row_number + 1} is not UTF-8 (byte {self.offset + start + error.start + 1:,} "
                    "of the file): save the file as UTF-8",
                ) from error
            self.offset += len(raw)
            yield text

    def records(self) -> Iterator[Record]:
        reader = csv.reader(self._lines(), strict=True)
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise ImportFileError(
                    "MALFORMED_CSV", f"row {self.row_number + 1} is not valid CSV: {error} (near byte {self.offset:,})"
                ) from error
            self.row_number += 1
            yield Record(self.row_number, fields, self.offset)


def read_header(file: BinaryIO) -> tuple[list[str], int]:
    """The header's column names as written (trimmed) and the offset where the data starts."""
    file.seek(0)
    stream = CsvStream(file, start_offset=0, start_row=0)
    for record in stream.records():
        if not any(field.strip() for field in record.fields):
            continue
        return [field.strip() for field in record.fields], record.end_offset
    raise ImportFileError("EMPTY_FILE", "the file is empty: it needs a header row and at least one row")


def refused_field(fields: list[str]) -> tuple[int, str] | None:
    """The first field holding a character no text may (NUL, other controls, bidi overrides: the
    kernel's free-text check) and that character, or None. Columns that are identifiers refuse
    more, in their profile's parse."""
    for index, value in enumerate(fields):
        character = refused_character(value, code=False)
        if character is not None:
            return index, character
    return None


def stored_fields(fields: list[str]) -> list[str]:
    """A rejected row's fields as kept: each cut to STORED_FIELD_CHARS_MAX, saying how much was cut,
    and a NUL (which PostgreSQL text cannot hold) shown as U+FFFD, the replacement character."""
    return [
        (
            field
            if len(field) <= STORED_FIELD_CHARS_MAX
            else f"{field[:STORED_FIELD_CHARS_MAX]}...[cut {len(field) - STORED_FIELD_CHARS_MAX:,} characters]"
        ).replace(NUL, REPLACEMENT_CHARACTER)
        for field in fields
    ]
