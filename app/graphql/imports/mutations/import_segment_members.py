"""importSegmentMembers: segment memberships from a CSV upload (profile SEGMENT_MEMBERS), in the background."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.imports.inputs import ImportSegmentMembersInput
from app.graphql.imports.types import ImportPointsResult
from app.graphql.imports.uploads import submit_upload
from app.imports.models import ImportProfile as DomainImportProfile


@strawberry.type
class ImportSegmentMembersMutation:
    @strawberry.mutation(
        description=(
            "Add customers to and remove them from segments from a CSV upload (profile SEGMENT_MEMBERS); "
            "runs in the background like importPoints."
        )
    )
    async def import_segment_members(self, info: Info, input: ImportSegmentMembersInput) -> ImportPointsResult:
        return await submit_upload(info, DomainImportProfile.SEGMENT_MEMBERS, input)
