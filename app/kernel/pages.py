"""Keyset pages read one row more than they show: the extra row says whether another page
follows, without a count. Every list's service asks for `page_limit(first)` rows and splits
what came back with `split_page`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

Row = TypeVar("Row")


def page_limit(first: int) -> int:
    """How many rows to read for a page of `first`: one more, to know whether another follows."""
    assert first >= 1
    return first + 1


def split_page(rows: Sequence[Row], first: int) -> tuple[list[Row], bool]:
    """Rows read with `page_limit(first)`: the page's rows, and whether another page follows."""
    return list(rows[:first]), len(rows) > first
