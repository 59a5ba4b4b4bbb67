"""Input types of user groups: how a request names a group, a new group, and a change of members."""

from __future__ import annotations

import strawberry

from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.user_groups.types import UserGroupIdentifierType
from app.user_groups import service
from app.user_groups.service import GroupIdentifierType, GroupLookup


@strawberry.input
class UserGroupLookupInput:
    type: UserGroupIdentifierType
    value: str

    def to_domain(self) -> GroupLookup:
        return GroupLookup(GroupIdentifierType(self.type.value), self.value)


@strawberry.input
class CreateUserGroupInput:
    external_id: str = strawberry.field(description="Unique in the organisation; 1 to 100 characters.")
    name: str | None = None
    members: list[CustomerLookupInput] = strawberry.field(default_factory=list, description="At most 1,000.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> service.CreateGroupRequest:
        return service.CreateGroupRequest(
            self.external_id, self.name, tuple(member.to_domain() for member in self.members), self.idempotency_key
        )


@strawberry.input
class UserGroupMembersInput:
    group: UserGroupLookupInput
    members: list[CustomerLookupInput] = strawberry.field(description="1 to 1,000 customers.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> service.ChangeMembersRequest:
        return service.ChangeMembersRequest(
            self.group.to_domain(), tuple(member.to_domain() for member in self.members), self.idempotency_key
        )
