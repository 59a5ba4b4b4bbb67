"""removeSegmentMembers: remove customers from a segment, with a result per customer."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.segments.inputs import SegmentMembersInput
from app.graphql.segments.mutations.change_members import change_members
from app.graphql.segments.types import SegmentMembersResult


@strawberry.type
class RemoveSegmentMembersMutation:
    @strawberry.mutation(
        description="Remove customers from a segment (one or a batch), a result per customer: non-members are left."
    )
    async def remove_segment_members(self, info: Info, input: SegmentMembersInput) -> SegmentMembersResult:
        return await change_members(info, input, add=False)
