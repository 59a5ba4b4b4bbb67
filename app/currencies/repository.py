"""The alternate currencies' own statements: the line parts of bills' awards. Built once, at import."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.currencies.models import AlternateCurrencyLineAward
from app.storage.tables import table_of

line_awards = table_of(AlternateCurrencyLineAward)

_INSERT = insert(line_awards)
_OF_AWARDS = (
    select(line_awards.c.award_event_id, line_awards.c.line_serial, line_awards.c.value)
    .where(
        line_awards.c.org_id == bindparam("org_id"),
        line_awards.c.award_event_id.in_(bindparam("event_ids", expanding=True)),
    )
    .order_by(line_awards.c.award_event_id, line_awards.c.line_serial)
)


async def insert_line_awards(
    connection: AsyncConnection, *, org_id: int, parts: Sequence[tuple[int, int, Decimal]]
) -> None:
    """Record the line parts (award event id, line serial, value) of a bill's awards."""
    await connection.execute(
        _INSERT,
        [
            {"award_event_id": event_id, "line_serial": serial, "org_id": org_id, "value": value}
            for event_id, serial, value in parts
        ],
    )


async def line_awards_of(
    connection: AsyncConnection, *, org_id: int, award_event_ids: Sequence[int]
) -> dict[int, dict[int, Decimal]]:
    """Per award event, its line parts by line serial (awards without any are absent)."""
    found: dict[int, dict[int, Decimal]] = defaultdict(dict)
    if award_event_ids:
        rows = await connection.execute(_OF_AWARDS, {"org_id": org_id, "event_ids": list(award_event_ids)})
        for row in rows:
            found[row.award_event_id][row.line_serial] = row.value
    return found
