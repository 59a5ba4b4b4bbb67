"""Output types of user groups: a group with its account and members, and the payload of a change."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.core.pagination import (
    PAGE_SIZE_DEFAULT,
    PageInfo,
    check_page_size,
    decode_id_cursor,
    page_info_after,
)
from app.graphql.customers.types import Customer
from app.user_groups import service
from app.user_groups.service import GroupView


@strawberry.enum(
    description="How a user group is named: its external id, or its group id (the seed's User Group2 Identifier Type)."
)
class UserGroupIdentifierType(Enum):
    EXTERNAL_ID = "EXTERNAL_ID"
    GROUP_ID = "GROUP_ID"


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
            page_info=page_info_after("member", ids, has_next_page),
        )


@strawberry.type
class UserGroupChanged:
    group: UserGroup
    members_changed: int = strawberry.field(description="Memberships added (or removed) by this request.")
    replayed: bool

    @classmethod
    def from_result(cls, result: service.GroupResult) -> UserGroupChanged:
        return cls(
            group=UserGroup.from_view(result.group), members_changed=result.members_changed, replayed=result.replayed
        )


# Shared by createUserGroup, addUserGroupMembers and removeUserGroupMembers.
UserGroupResult = Annotated[
    UserGroupChanged | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("UserGroupResult"),
]
UserGroupQueryResult = Annotated[
    UserGroup | NotFoundError | InvalidInputError, strawberry.union("UserGroupQueryResult")
]
