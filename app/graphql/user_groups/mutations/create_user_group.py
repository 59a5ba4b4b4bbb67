"""createUserGroup: a new user group with its own points account and its first members."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.user_groups.inputs import CreateUserGroupInput
from app.graphql.user_groups.types import UserGroupChanged, UserGroupResult
from app.user_groups import service


@strawberry.type
class CreateUserGroupMutation:
    @strawberry.mutation(description="A new user group with its own points account and its first members.")
    async def create_user_group(self, info: Info, input: CreateUserGroupInput) -> UserGroupResult:
        result = await service.create_group(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        return UserGroupChanged.from_result(result)
