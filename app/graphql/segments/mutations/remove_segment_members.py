"""removeSegmentMembers: remove customers from a segment, with a result per customer."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.segments.inputs import SegmentMembersInput
from app.graphql.segments.types import SegmentMembersChanged, SegmentMembersResult
from app.kernel.errors import DomainError
from app.segments import service


@strawberry.type
class RemoveSegmentMembersMutation:
    @strawberry.mutation(
        description="Remove customers from a segment (one or a batch), a result per customer: non-members are left."
    )
    async def remove_segment_members(self, info: Info, input: SegmentMembersInput) -> SegmentMembersResult:
        result = await service.change_members(
            info.context.database,
            info.context.org,
            input.segment_code,
            [member.to_domain() for member in input.members],
            input.source,
            add=False,
            now=info.context.now,
        )
        info.context.error_codes.extend(item.code for item in result.items if isinstance(item, DomainError))
        return SegmentMembersChanged.from_result(result)
