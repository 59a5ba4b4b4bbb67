"""addTrackerValue: track a value on an existing bill, and issue its points."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.trackers.inputs import AddTrackerValueInput
from app.graphql.trackers.types import TrackedValue, TrackerValueAdded
from app.trackers import service

AddTrackerValueResult = Annotated[
    TrackerValueAdded | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("AddTrackerValueResult"),
]


@strawberry.type
class AddTrackerValueMutation:
    @strawberry.mutation(
        description=(
            "Track a value on an existing bill; points it issues are a TRACKER_POINTS ledger credit to the customer "
            "(or the group)."
        )
    )
    async def add_tracker_value(self, info: Info, input: AddTrackerValueInput) -> AddTrackerValueResult:
        org = info.context.org
        result = await service.add_tracker_value(info.context.database, org, input.to_domain(), now=info.context.now)
        async with info.context.database.read() as connection:
            trackers = {tracker.id: tracker for tracker in (await service.find_trackers(connection, org.id)).values()}
        return TrackerValueAdded(
            tracked_value=TrackedValue.from_row(result.value, trackers[result.value.tracker_id], org),
            balance_after=result.balance_after,
            replayed=result.replayed,
        )
