"""User group queries: a group by external id or group id."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.user_groups.inputs import UserGroupLookupInput
from app.graphql.user_groups.types import UserGroup, UserGroupQueryResult
from app.user_groups import service


@strawberry.type
class UserGroupQuery:
    @strawberry.field(description="A user group by external id or group id.")
    async def user_group(self, info: Info, lookup: UserGroupLookupInput) -> UserGroupQueryResult:
        async with info.context.database.read() as connection:
            view = await service.find_group(connection, info.context.org, lookup.to_domain(), "lookup")
        return UserGroup.from_view(view)
