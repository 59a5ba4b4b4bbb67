"""defineTracker: create a tracker, or update the one with this code."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.graphql.trackers.inputs import DefineTrackerInput
from app.graphql.trackers.types import Tracker, TrackerDefined
from app.trackers import service

DefineTrackerResult = Annotated[
    TrackerDefined | InvalidInputError | NotFoundError | ConflictError, strawberry.union("DefineTrackerResult")
]


@strawberry.type
class DefineTrackerMutation:
    @strawberry.mutation(description="Create a tracker, or update the one with this code (later values only).")
    async def define_tracker(self, info: Info, input: DefineTrackerInput) -> DefineTrackerResult:
        org = info.context.org
        defined = await service.define_tracker(info.context.database, org, input.to_domain(), now=info.context.now)
        return TrackerDefined(tracker=Tracker.from_view(defined.tracker, org), created=defined.created)
