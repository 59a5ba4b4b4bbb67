"""Merges: the victim's leads (with their status histories) become the survivor's: a lead's owner
is always its customer (app.customers.merge_moves)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.merge_moves import MergeMove
from app.leads import repository


async def move_to_survivor(connection: AsyncConnection, move: MergeMove) -> dict[str, Any]:
    moved = await repository.move_leads(connection, **move.parameters())
    return {"leads": [str(lead_id) for lead_id in moved]} if moved else {}
