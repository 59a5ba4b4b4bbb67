"""Merges: the victim's loyalty cards become the survivor's, in their programs and with their
statuses, so points imported onto a card credit the survivor's account (app.customers.merge_moves)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.cards import repository
from app.customers.merge_moves import MergeMove


async def move_to_survivor(connection: AsyncConnection, move: MergeMove) -> dict[str, Any]:
    moved = await repository.move_cards(connection, **move.parameters())
    if not moved:
        return {}
    return {
        "cards": [{"programCode": move.org.program(row.program_id).code, "number": row.identifier} for row in moved]
    }
