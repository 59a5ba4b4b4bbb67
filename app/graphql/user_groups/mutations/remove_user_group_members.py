"""removeUserGroupMembers: remove customers from a user group."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.user_groups.inputs import UserGroupMembersInput
from app.graphql.user_groups.types import UserGroupChanged, UserGroupResult
from app.user_groups import service


@strawberry.type
class RemoveUserGroupMembersMutation:
    @strawberry.mutation(
        description="Remove customers from a group; their own points stay theirs, the group's stay the group's."
    )
    async def remove_user_group_members(self, info: Info, input: UserGroupMembersInput) -> UserGroupResult:
        result = await service.change_members(
            info.context.database, info.context.org, input.to_domain(), add=False, now=info.context.now
        )
        return UserGroupChanged.from_result(result)
