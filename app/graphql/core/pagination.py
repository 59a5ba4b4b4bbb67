"""Keyset pagination arguments shared by every list: opaque cursors, a bounded page size."""

from __future__ import annotations

import base64

import strawberry

from app.kernel.decimals import ID_MAX, read_whole_number
from app.kernel.errors import ValidationError
from app.ledger.service import PAGE_SIZE_MAX

PAGE_SIZE_DEFAULT = 10


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def check_page_size(first: int, field: str = "first") -> int:
    if not 1 <= first <= PAGE_SIZE_MAX:
        raise ValidationError(f"must be between 1 and {PAGE_SIZE_MAX}", field=field)
    return first


def encode_id_cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode()


def decode_id_cursor(kind: str, cursor: str | None, field: str = "after") -> int | None:
    if cursor is None:
        return None
    try:
        prefix, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as error:
        raise ValidationError("is not a cursor this API returned", field=field) from error
    # Ids are 64-bit: anything else was not made by encode_id_cursor.
    found = read_whole_number(value, ID_MAX) if prefix == kind else None
    if found is None:
        raise ValidationError("is not a cursor this API returned", field=field)
    return found


def page_info_after(kind: str, ids: list[int], has_next_page: bool) -> PageInfo:
    """The page info of a page whose last row is `ids[-1]` (no cursor for an empty page). A page
    of rows passes the last row's id alone: `[row.id for row in rows[-1:]]`."""
    return PageInfo(has_next_page=has_next_page, end_cursor=encode_id_cursor(kind, ids[-1]) if ids else None)
