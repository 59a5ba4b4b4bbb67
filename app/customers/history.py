"""Member care: a customer's profile and identifier change history (seed 004, "Change
Identifier History"), newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.models import CustomerHistory, HistoryAction

history = CustomerHistory.__table__


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    id: int
    action: str
    identifier_type: str | None
    identifier_value: str | None
    other_customer_id: int | None
    details: dict[str, Any] | None
    created_at: datetime


async def history_page(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    actions: Sequence[HistoryAction],
    first: int,
    after_id: int | None,
) -> tuple[list[HistoryRecord], bool]:
    """Newest first by id, keyset-paginated; `actions` narrows to those kinds of change."""
    conditions = [history.c.org_id == org_id, history.c.customer_id == customer_id]
    if actions:
        conditions.append(history.c.action.in_([action.value for action in actions]))
    if after_id is not None:
        conditions.append(history.c.id < after_id)
    rows = (
        await connection.execute(
            select(
                history.c.id,
                history.c.action,
                history.c.identifier_type,
                history.c.identifier_value,
                history.c.other_customer_id,
                history.c.details,
                history.c.created_at,
            )
            .where(*conditions)
            .order_by(history.c.id.desc())
            .limit(first + 1)
        )
    ).all()
    return [HistoryRecord(*row) for row in rows[:first]], len(rows) > first
