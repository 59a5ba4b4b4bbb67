"""Member care: a customer's profile and identifier change history (seed 004, "Change
Identifier History"), newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import repository
from app.customers.models import HistoryAction
from app.kernel.pages import page_limit, split_page


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    id: int
    action: str
    identifier_type: str | None
    identifier_value: str | None
    other_customer_id: int | None
    details: dict[str, Any] | None
    created_at: datetime
    source: str | None
    account: str | None


async def history_page(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    actions: Sequence[HistoryAction],
    first: int,
    after_id: int | None,
    requested_only: bool = False,
) -> tuple[list[HistoryRecord], bool]:
    """Newest first by id, keyset-paginated; `actions` narrows to those kinds of change,
    `requested_only` to what member care asked for."""
    rows = await repository.history_page(
        connection,
        org_id=org_id,
        customer_id=customer_id,
        actions=actions,
        limit=page_limit(first),
        after_id=after_id,
        requested_only=requested_only,
    )
    page, has_next_page = split_page(rows, first)
    return [HistoryRecord(*row) for row in page], has_next_page


# The seed's "Change Identifier History": its actions Add, Remove and Combine.
IDENTIFIER_ACTIONS = (HistoryAction.IDENTIFIER_ADDED, HistoryAction.IDENTIFIER_REMOVED, HistoryAction.COMBINE)


async def identifier_history_page(
    connection: AsyncConnection, *, org_id: int, customer_id: int, first: int, after_id: int | None
) -> tuple[list[HistoryRecord], bool]:
    """The seed's identifier change history, newest first: only what change identifier and merge
    requests did. Identifiers a purchase added, and the merges a purchase caused by naming another
    customer's identifier (from another source or account), are in `history_page`, not here."""
    return await history_page(
        connection,
        org_id=org_id,
        customer_id=customer_id,
        actions=IDENTIFIER_ACTIONS,
        first=first,
        after_id=after_id,
        requested_only=True,
    )
