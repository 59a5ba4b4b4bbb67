"""createSegment: a new segment of customers."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.segments.inputs import CreateSegmentInput
from app.graphql.segments.types import CreateSegmentResult, Segment, SegmentCreated
from app.segments import service


@strawberry.type
class CreateSegmentMutation:
    @strawberry.mutation(description="A new segment (its code unique in the organisation).")
    async def create_segment(self, info: Info, input: CreateSegmentInput) -> CreateSegmentResult:
        view = await service.create_segment(
            info.context.database, info.context.org, input.code, input.name, now=info.context.now
        )
        return SegmentCreated(segment=Segment.from_view(view))
