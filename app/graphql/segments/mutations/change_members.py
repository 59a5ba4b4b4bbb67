"""What addSegmentMembers and removeSegmentMembers share: one service call, a result per customer."""

from __future__ import annotations

from app.graphql.core.context import Info
from app.graphql.segments.inputs import SegmentMembersInput
from app.graphql.segments.types import SegmentMembersChanged, SegmentMembersResult
from app.kernel.errors import DomainError
from app.segments import service


async def change_members(info: Info, input: SegmentMembersInput, *, add: bool) -> SegmentMembersResult:
    result = await service.change_members(
        info.context.database,
        info.context.org,
        input.segment_code,
        [member.to_domain() for member in input.members],
        input.source,
        add=add,
        now=info.context.now,
    )
    info.context.error_codes.extend(item.code for item in result.items if isinstance(item, DomainError))
    return SegmentMembersChanged.from_result(result)
