"""User groups: createUserGroup, addUserGroupMembers, removeUserGroupMembers and the userGroup query."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, PageInfo, check_page_size, decode_id_cursor, encode_id_cursor
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.customers.types import Customer
from app.user_groups import service
from app.user_groups.service import GroupIdentifierType, GroupLookup, GroupView


@strawberry.enum(
    description="How a user group is named: its external id, or its group id (the seed's User Group2 Identifier Type)."
)
class UserGroupIdentifierType(Enum):
    EXTERNAL_ID = "EXTERNAL_ID"
    GROUP_ID = "GROUP_ID"


@strawberry.input
class UserGroupLookupInput:
    type: UserGroupIdentifierType
    value: str

    def to_domain(self) -> GroupLookup:
        return GroupLookup(GroupIdentifierType(self.type.value), self.value)


@strawberry.type
class UserGroupMemberPage:
    total_count: int
    nodes: list[Customer]
    page_info: PageInfo


@strawberry.type(
    description=(
        "A group of customers (e.g. a fleet) with its own points. Its account is a customer-like ledger holder: "
        "read its ledger with ledgerEntries(customer: {type: USER_ID, value: userId})."
    )
)
class UserGroup:
    id: strawberry.ID = strawberry.field(description="The group id.")
    external_id: str
    name: str
    user_id: strawberry.ID = strawberry.field(description="The user id of the group's own points account.")
    created_at: datetime

    @classmethod
    def from_view(cls, view: GroupView) -> UserGroup:
        return cls(
            id=strawberry.ID(str(view.id)),
            external_id=view.external_id,
            name=view.name,
            user_id=strawberry.ID(str(view.customer_id)),
            created_at=view.created_at,
        )

    @strawberry.field(description="The group's own points: summaries per program, like a customer's.")
    async def account(self, info: Info) -> Customer | None:
        view = await info.context.customers.load(int(self.user_id))
        return Customer.from_view(view) if view is not None else None

    @strawberry.field(description="Members by user id, keyset-paginated (at most 100 a page).")
    async def members(
        self, info: Info, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> UserGroupMemberPage:
        check_page_size(first)
        after_id = decode_id_cursor("member", after)
        async with info.context.database.read() as connection:
            ids, has_next_page, count = await service.group_members(
                connection, int(self.id), first=first, after_id=after_id
            )
        views = await info.context.customers.load_many(ids)
        return UserGroupMemberPage(
            total_count=count,
            nodes=[Customer.from_view(view) for view in views if view is not None],
            page_info=PageInfo(
                has_next_page=has_next_page, end_cursor=encode_id_cursor("member", ids[-1]) if ids else None
            ),
        )


@strawberry.input
class CreateUserGroupInput:
    external_id: str = strawberry.field(description="Unique in the organisation; 1 to 100 characters.")
    name: str | None = None
    members: list[CustomerLookupInput] = strawberry.field(default_factory=list, description="At most 1,000.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input
class UserGroupMembersInput:
    group: UserGroupLookupInput
    members: list[CustomerLookupInput] = strawberry.field(description="1 to 1,000 customers.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> service.ChangeMembersRequest:
        return service.ChangeMembersRequest(
            self.group.to_domain(), tuple(member.to_domain() for member in self.members), self.idempotency_key
        )


@strawberry.type
class UserGroupChanged:
    group: UserGroup
    members_changed: int = strawberry.field(description="Memberships added (or removed) by this request.")
    replayed: bool


UserGroupResult = Annotated[
    UserGroupChanged | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("UserGroupResult"),
]
UserGroupQueryResult = Annotated[
    UserGroup | NotFoundError | InvalidInputError, strawberry.union("UserGroupQueryResult")
]


def _changed(result: service.GroupResult) -> UserGroupChanged:
    return UserGroupChanged(
        group=UserGroup.from_view(result.group), members_changed=result.members_changed, replayed=result.replayed
    )


@strawberry.type
class UserGroupMutation:
    @strawberry.mutation(description="A new user group with its own points account and its first members.")
    async def create_user_group(self, info: Info, input: CreateUserGroupInput) -> UserGroupResult:
        request = service.CreateGroupRequest(
            input.external_id, input.name, tuple(member.to_domain() for member in input.members), input.idempotency_key
        )
        return _changed(
            await service.create_group(info.context.database, info.context.org, request, now=info.context.now)
        )

    @strawberry.mutation(description="Add customers to a group (a customer may be in several groups).")
    async def add_user_group_members(self, info: Info, input: UserGroupMembersInput) -> UserGroupResult:
        return _changed(
            await service.change_members(
                info.context.database, info.context.org, input.to_domain(), add=True, now=info.context.now
            )
        )

    @strawberry.mutation(
        description="Remove customers from a group; their own points stay theirs, the group's stay the group's."
    )
    async def remove_user_group_members(self, info: Info, input: UserGroupMembersInput) -> UserGroupResult:
        return _changed(
            await service.change_members(
                info.context.database, info.context.org, input.to_domain(), add=False, now=info.context.now
            )
        )


@strawberry.type
class UserGroupQuery:
    @strawberry.field(description="A user group by external id or group id.")
    async def user_group(self, info: Info, lookup: UserGroupLookupInput) -> UserGroupQueryResult:
        async with info.context.database.read() as connection:
            view = await service.find_group(connection, info.context.org, lookup.to_domain(), "lookup")
        return UserGroup.from_view(view)
