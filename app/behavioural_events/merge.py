"""Merges: the victim's behavioural events become the survivor's (app.customers.merge_moves). The
history counts them: a customer may have years of events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.behavioural_events import repository
from app.customers.merge_moves import MergeMove


async def move_to_survivor(connection: AsyncConnection, move: MergeMove) -> dict[str, Any]:
    moved = await repository.move_events(connection, **move.parameters())
    return {"behaviouralEvents": moved} if moved else {}
