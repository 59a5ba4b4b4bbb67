"""Merges: the victim's interactions (with their status histories) become the survivor's
(app.customers.merge_moves). The history counts them: a customer may have years of messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.merge_moves import MergeMove
from app.interactions import repository


async def move_to_survivor(connection: AsyncConnection, move: MergeMove) -> dict[str, Any]:
    moved = await repository.move_interactions(connection, **move.parameters())
    return {"interactions": moved} if moved else {}
