"""Output types of segments: a segment, a change of members with a result per customer, a
customer's memberships and segment change history."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from app.graphql.core.errors import ConflictError, InvalidInputError, NotFoundError, to_graphql_error
from app.graphql.core.pagination import PageInfo
from app.segments.service import MemberResult, MembershipView, MembersResult, SegmentChangeView, SegmentView


@strawberry.type(description="A named set of customers.")
class Segment:
    code: str
    name: str
    created_at: datetime

    @classmethod
    def from_view(cls, view: SegmentView) -> Segment:
        return cls(code=view.code, name=view.name, created_at=view.created_at)


@strawberry.enum(description="What a segment change did to the customer's membership.")
class SegmentAction(Enum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"


@strawberry.type(description="One customer's membership changed, or found as asked already (changed: false).")
class SegmentMemberChanged:
    user_id: strawberry.ID
    changed: bool = strawberry.field(description="False: already a member (adding) or not one (removing).")


SegmentMemberResult = Annotated[
    SegmentMemberChanged | NotFoundError | InvalidInputError, strawberry.union("SegmentMemberResult")
]


@strawberry.type(description="The members changed: a result per customer named, in the order named.")
class SegmentMembersChanged:
    segment: Segment
    members_changed: int = strawberry.field(description="Memberships added (or removed) by this request.")
    results: list[SegmentMemberResult]

    @classmethod
    def from_result(cls, result: MembersResult) -> SegmentMembersChanged:
        return cls(
            segment=Segment.from_view(result.segment),
            members_changed=result.members_changed,
            results=[
                SegmentMemberChanged(user_id=strawberry.ID(str(item.customer_id)), changed=item.changed)
                if isinstance(item, MemberResult)
                else to_graphql_error(item, (NotFoundError, InvalidInputError))
                for item in result.items
            ],
        )


@strawberry.type(description="A segment the customer is in, and since when.")
class SegmentMembership:
    segment: Segment
    added_at: datetime

    @classmethod
    def from_view(cls, view: MembershipView) -> SegmentMembership:
        return cls(segment=Segment.from_view(view.segment), added_at=view.added_at)


@strawberry.type(description="One line of a customer's segment change history.")
class SegmentChange:
    segment: Segment
    action: SegmentAction
    source: str = strawberry.field(description="The request source: the request's source, API, or IMPORT.")
    changed_at: datetime

    @classmethod
    def from_view(cls, view: SegmentChangeView) -> SegmentChange:
        return cls(
            segment=Segment.from_view(view.segment),
            action=SegmentAction(view.action),
            source=view.source,
            changed_at=view.changed_at,
        )


@strawberry.type
class SegmentPage:
    segments: list[Segment]
    page_info: PageInfo


@strawberry.type
class CustomerSegmentPage:
    customer_id: strawberry.ID
    memberships: list[SegmentMembership]
    page_info: PageInfo


@strawberry.type
class SegmentHistoryPage:
    customer_id: strawberry.ID
    changes: list[SegmentChange]
    page_info: PageInfo


@strawberry.type(description="The segment was created.")
class SegmentCreated:
    segment: Segment


CreateSegmentResult = Annotated[
    SegmentCreated | InvalidInputError | ConflictError, strawberry.union("CreateSegmentResult")
]
# Shared by addSegmentMembers and removeSegmentMembers.
SegmentMembersResult = Annotated[
    SegmentMembersChanged | InvalidInputError | NotFoundError, strawberry.union("SegmentMembersResult")
]
SegmentsResult = Annotated[SegmentPage | InvalidInputError, strawberry.union("SegmentsResult")]
CustomerSegmentsResult = Annotated[
    CustomerSegmentPage | NotFoundError | InvalidInputError, strawberry.union("CustomerSegmentsResult")
]
CustomerSegmentHistoryResult = Annotated[
    SegmentHistoryPage | NotFoundError | InvalidInputError, strawberry.union("CustomerSegmentHistoryResult")
]
