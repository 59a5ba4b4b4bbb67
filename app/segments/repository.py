"""The segments' data access: segments by code and in pages, memberships added and removed by one
guarded statement each, a customer's memberships and change history.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables; statements built
once, at import (the ON CONFLICT ones once per dialect).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.segments.models import Segment, SegmentChange, SegmentMember
from app.segments.views import MembershipView, SegmentChangeView, SegmentView
from app.storage.database import any_of, conflict_insert, list_parameter
from app.storage.tables import table_of

segments = table_of(Segment)
members = table_of(SegmentMember)
changes = table_of(SegmentChange)

_SEGMENT_COLUMNS = (segments.c.id, segments.c.code, segments.c.name, segments.c.created_at)
_BY_CODE = select(*_SEGMENT_COLUMNS).where(
    segments.c.org_id == bindparam("org_id"), segments.c.code == bindparam("code")
)
_INSERT_CHANGES = insert(changes)
_REMOVE = (
    delete(members)
    .where(
        members.c.org_id == bindparam("org_id"),
        members.c.segment_id == bindparam("segment_id"),
        members.c.customer_id == bindparam("customer_id"),
    )
    .returning(members.c.customer_id)
)


def _pages(base: Any, column: Any, *, descending: bool) -> dict[bool, Any]:
    """`base` ordered by `column` (keyset: past `after_id`), at most `limit` rows; without and with a position."""
    order = column.desc() if descending else column.asc()
    beyond = column < bindparam("after_id") if descending else column > bindparam("after_id")
    return {
        False: base.order_by(order).limit(bindparam("limit")),
        True: base.where(beyond).order_by(order).limit(bindparam("limit")),
    }


_SEGMENT_PAGES = _pages(
    select(*_SEGMENT_COLUMNS).where(segments.c.org_id == bindparam("org_id")), segments.c.id, descending=False
)
_MEMBERSHIP_PAGES = _pages(
    select(*_SEGMENT_COLUMNS, members.c.added_at)
    .join(segments, segments.c.id == members.c.segment_id)
    .where(members.c.org_id == bindparam("org_id"), members.c.customer_id == bindparam("customer_id")),
    members.c.segment_id,
    descending=False,
)
_HISTORY_PAGES = _pages(
    select(changes.c.id.label("change_id"), *_SEGMENT_COLUMNS, changes.c.action, changes.c.source, changes.c.changed_at)
    .join(segments, segments.c.id == changes.c.segment_id)
    .where(changes.c.org_id == bindparam("org_id"), changes.c.customer_id == bindparam("customer_id")),
    changes.c.id,
    descending=True,
)


@cache
def _add_statement(dialect: str) -> Any:
    """Insert a membership unless it exists: only the rows really added come back."""
    return (
        conflict_insert(dialect, members)
        .on_conflict_do_nothing(index_elements=["segment_id", "customer_id"])
        .returning(members.c.customer_id)
    )


@cache
def _insert_segment(dialect: str) -> Any:
    return (
        conflict_insert(dialect, segments)
        .on_conflict_do_nothing(index_elements=["org_id", "code"])
        .returning(segments.c.id)
    )


def member_ids(*, org_id: int, segment_id: int) -> Any:
    """A SELECT of the segment's member customer ids (the primary key's order), for another
    domain's statement to use as a subquery (member care's customer search)."""
    return select(members.c.customer_id).where(members.c.org_id == org_id, members.c.segment_id == segment_id)


def _segment(row: Any) -> SegmentView:
    return SegmentView(row.id, row.code, row.name, row.created_at)


async def segment_by_code(connection: AsyncConnection, *, org_id: int, code: str) -> SegmentView | None:
    row = (await connection.execute(_BY_CODE, {"org_id": org_id, "code": code})).one_or_none()
    return _segment(row) if row is not None else None


_INSERT_MEMBERS = insert(members)
_DELETE_MEMBER = delete(members).where(
    members.c.org_id == bindparam("org_id"),
    members.c.segment_id == bindparam("segment_id"),
    members.c.customer_id == bindparam("customer_id"),
)


@cache
def _lock_segments(dialect: str) -> Any:
    # FOR NO KEY UPDATE on PostgreSQL (SQLite's one writer already excludes every other writer):
    # it excludes other membership changes of the segment, but not the key-share lock a foreign
    # key check takes, so a merge (which holds the customers and adds the survivor's memberships)
    # does not wait for a change that waits for the merge's customers.
    lock = " FOR NO KEY UPDATE" if dialect == "postgresql" else ""
    return text(
        f"SELECT id FROM {segments.name} WHERE org_id = :org_id AND id {any_of(dialect, 'ids', 'integer')} "
        f"ORDER BY id{lock}"
    )


@cache
def _members_among(dialect: str) -> Any:
    return text(
        f"SELECT segment_id, customer_id FROM {members.name} WHERE org_id = :org_id "
        f"AND segment_id {any_of(dialect, 'segment_ids', 'integer')} "
        f"AND customer_id {any_of(dialect, 'customer_ids', 'integer')}"
    )


async def lock_segments(connection: AsyncConnection, *, org_id: int, segment_ids: Sequence[int]) -> None:
    """Lock these segments' rows until the transaction ends: membership changes of a segment
    wait for each other, so a batch that read its members may write what it read."""
    if not segment_ids:
        return
    dialect = connection.dialect.name
    parameters = {"org_id": org_id, "ids": list_parameter(dialect, sorted(set(segment_ids)))}
    await connection.execute(_lock_segments(dialect), parameters)


async def members_among(
    connection: AsyncConnection, *, org_id: int, pairs: Sequence[tuple[int, int]]
) -> set[tuple[int, int]]:
    """Which (segment id, customer id) pairs are memberships. One statement."""
    if not pairs:
        return set()
    dialect = connection.dialect.name
    parameters = {
        "org_id": org_id,
        "segment_ids": list_parameter(dialect, sorted({segment_id for segment_id, _ in pairs})),
        "customer_ids": list_parameter(dialect, sorted({customer_id for _, customer_id in pairs})),
    }
    wanted = set(pairs)
    rows = await connection.execute(_members_among(dialect), parameters)
    return {(row.segment_id, row.customer_id) for row in rows} & wanted


async def insert_members(
    connection: AsyncConnection, *, org_id: int, pairs: Sequence[tuple[int, int]], now: datetime
) -> None:
    """New memberships (known absent: the caller holds their segments' locks), one executemany."""
    if pairs:
        rows = [
            {"org_id": org_id, "segment_id": segment_id, "customer_id": customer_id, "added_at": now}
            for segment_id, customer_id in pairs
        ]
        await connection.execute(_INSERT_MEMBERS, rows)


async def delete_members(connection: AsyncConnection, *, org_id: int, pairs: Sequence[tuple[int, int]]) -> None:
    """End memberships (known present: the caller holds their segments' locks), one executemany."""
    if pairs:
        rows = [
            {"org_id": org_id, "segment_id": segment_id, "customer_id": customer_id}
            for segment_id, customer_id in pairs
        ]
        await connection.execute(_DELETE_MEMBER, rows)


async def insert_change_rows(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """History rows (each: the table's columns but id), one executemany."""
    if rows:
        await connection.execute(_INSERT_CHANGES, list(rows))


@cache
def _by_codes(dialect: str) -> Any:
    names = ", ".join(column.name for column in _SEGMENT_COLUMNS)
    return text(
        f"SELECT {names} FROM {segments.name} WHERE org_id = :org_id AND code {any_of(dialect, 'codes')}"
    ).columns(*_SEGMENT_COLUMNS)


async def segments_by_code(connection: AsyncConnection, *, org_id: int, codes: Sequence[str]) -> list[SegmentView]:
    """The org's segments with these codes (unknown ones are absent). One statement."""
    if not codes:
        return []
    dialect = connection.dialect.name
    parameters = {"org_id": org_id, "codes": list_parameter(dialect, codes)}
    return [_segment(row) for row in await connection.execute(_by_codes(dialect), parameters)]


async def insert_segment(
    connection: AsyncConnection, *, org_id: int, code: str, name: str, now: datetime
) -> int | None:
    """A new segment's id; None when the org has a segment with this code already."""
    values = {"org_id": org_id, "code": code, "name": name, "created_at": now}
    return (await connection.execute(_insert_segment(connection.dialect.name), values)).scalar_one_or_none()


async def add_member(
    connection: AsyncConnection, *, org_id: int, segment_id: int, customer_id: int, now: datetime
) -> bool:
    """Whether the customer joined now (False: a member already). One guarded statement: two
    concurrent adds of one customer make one membership, and one of them reports it."""
    values = {"org_id": org_id, "segment_id": segment_id, "customer_id": customer_id, "added_at": now}
    return (await connection.execute(_add_statement(connection.dialect.name), values)).first() is not None


async def remove_member(connection: AsyncConnection, *, org_id: int, segment_id: int, customer_id: int) -> bool:
    """Whether the customer left now (False: was not a member). One guarded statement."""
    values = {"org_id": org_id, "segment_id": segment_id, "customer_id": customer_id}
    return (await connection.execute(_REMOVE, values)).first() is not None


async def insert_changes(
    connection: AsyncConnection,
    *,
    org_id: int,
    segment_id: int,
    customer_ids: Sequence[int],
    action: str,
    source: str,
    now: datetime,
) -> None:
    if not customer_ids:
        return
    await connection.execute(
        _INSERT_CHANGES,
        [
            {
                "org_id": org_id,
                "segment_id": segment_id,
                "customer_id": customer_id,
                "action": action,
                "source": source,
                "changed_at": now,
            }
            for customer_id in customer_ids
        ],
    )


def _parameters(org_id: int, limit: int, after_id: int | None, **more: Any) -> dict[str, Any]:
    parameters: dict[str, Any] = {"org_id": org_id, "limit": limit, **more}
    if after_id is not None:
        parameters["after_id"] = after_id
    return parameters


async def segments_page(
    connection: AsyncConnection, *, org_id: int, limit: int, after_id: int | None
) -> list[SegmentView]:
    rows = await connection.execute(_SEGMENT_PAGES[after_id is not None], _parameters(org_id, limit, after_id))
    return [_segment(row) for row in rows]


async def memberships_page(
    connection: AsyncConnection, *, org_id: int, customer_id: int, limit: int, after_id: int | None
) -> list[MembershipView]:
    parameters = _parameters(org_id, limit, after_id, customer_id=customer_id)
    rows = await connection.execute(_MEMBERSHIP_PAGES[after_id is not None], parameters)
    return [MembershipView(_segment(row), row.added_at) for row in rows]


async def changes_page(
    connection: AsyncConnection, *, org_id: int, customer_id: int, limit: int, before_id: int | None
) -> list[SegmentChangeView]:
    parameters = _parameters(org_id, limit, before_id, customer_id=customer_id)
    rows = await connection.execute(_HISTORY_PAGES[before_id is not None], parameters)
    return [SegmentChangeView(row.change_id, _segment(row), row.action, row.source, row.changed_at) for row in rows]


_VICTIM_MEMBERSHIPS = (
    select(members.c.segment_id, segments.c.code)
    .join(segments, segments.c.id == members.c.segment_id)
    .where(members.c.org_id == bindparam("org_id"), members.c.customer_id == bindparam("victim_id"))
    .order_by(members.c.segment_id)
)
_DELETE_VICTIM_MEMBERSHIPS = delete(members).where(
    members.c.org_id == bindparam("org_id"), members.c.customer_id == bindparam("victim_id")
)


@cache
def _copy_memberships(dialect: str) -> Any:
    """The victim's memberships, copied to the survivor unless it holds them: one INSERT ... SELECT
    ... ON CONFLICT DO NOTHING, returning the segments the survivor joined."""
    source = select(
        members.c.segment_id,
        bindparam("survivor_id", type_=members.c.customer_id.type),
        members.c.org_id,
        bindparam("now", type_=members.c.added_at.type),
    ).where(members.c.org_id == bindparam("org_id"), members.c.customer_id == bindparam("victim_id"))
    return (
        conflict_insert(dialect, members)
        .from_select(["segment_id", "customer_id", "org_id", "added_at"], source)
        .on_conflict_do_nothing(index_elements=["segment_id", "customer_id"])
        .returning(members.c.segment_id)
    )


async def move_memberships(
    connection: AsyncConnection, *, org_id: int, survivor_id: int, victim_id: int, now: datetime
) -> tuple[dict[int, str], set[int]]:
    """A merge: the survivor becomes a member of every segment the victim was in (a set: the ones
    it was in already stay as they were), and the victim of none. Returns the victim's segments
    (id: code) and the ids of those the survivor joined now. Three statements."""
    parameters = {"org_id": org_id, "survivor_id": survivor_id, "victim_id": victim_id}
    left = {row.segment_id: row.code for row in await connection.execute(_VICTIM_MEMBERSHIPS, parameters)}
    if not left:
        return {}, set()
    copy = _copy_memberships(connection.dialect.name)
    joined = set((await connection.execute(copy, {**parameters, "now": now})).scalars())
    await connection.execute(_DELETE_VICTIM_MEMBERSHIPS, parameters)
    return left, joined
