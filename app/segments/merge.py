"""Merges: the survivor becomes a member of the victim's segments (membership is a set: no
duplicates) and the victim of none. Both changes are segment history rows with the source
`MERGE`: ADDED on the survivor for each segment it joined, REMOVED on the victim for each it left
(app.customers.merge_moves)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.merge_moves import MergeMove
from app.segments import repository
from app.segments.models import SegmentAction

MERGE_SOURCE = "MERGE"


async def move_to_survivor(connection: AsyncConnection, move: MergeMove) -> dict[str, Any]:
    left, joined = await repository.move_memberships(connection, **move.parameters(), now=move.now)
    if not left:
        return {}
    changes = [(segment_id, move.victim_id, SegmentAction.REMOVED) for segment_id in left] + [
        (segment_id, move.survivor_id, SegmentAction.ADDED) for segment_id in sorted(joined)
    ]
    await repository.insert_change_rows(
        connection,
        [
            {
                "org_id": move.org.id,
                "segment_id": segment_id,
                "customer_id": customer_id,
                "action": action.value,
                "source": MERGE_SOURCE,
                "changed_at": move.now,
            }
            for segment_id, customer_id, action in changes
        ],
    )
    return {"segments": list(left.values())}
