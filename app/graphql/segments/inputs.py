"""Input types of segments."""

from __future__ import annotations

import strawberry

from app.graphql.customers.inputs import CustomerLookupInput


@strawberry.input(description="A new segment.")
class CreateSegmentInput:
    code: str = strawberry.field(description="Unique in the organisation; 1 to 50 characters.")
    name: str = strawberry.field(description="1 to 200 characters.")


@strawberry.input(description="Customers to add to (or remove from) a segment: one or a batch.")
class SegmentMembersInput:
    segment_code: str
    members: list[CustomerLookupInput] = strawberry.field(description="1 to 1,000 customers.")
    source: str | None = strawberry.field(
        default=None, description="The request source kept in the history (a code, e.g. INSTORE); API when omitted."
    )
