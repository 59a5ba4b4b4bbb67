"""Segment queries: the organisation's segments, a customer's segments and segment change history."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from app.graphql.core.context import Info
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, check_page_size, decode_id_cursor, page_info_after
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.segments.types import (
    CustomerSegmentHistoryResult,
    CustomerSegmentPage,
    CustomerSegmentsResult,
    Segment,
    SegmentChange,
    SegmentHistoryPage,
    SegmentMembership,
    SegmentPage,
    SegmentsResult,
)
from app.organizations.config import OrgConfig
from app.segments import service

ViewT = TypeVar("ViewT")


class CustomerPageFetch(Protocol[ViewT]):
    def __call__(
        self, connection: AsyncConnection, org: OrgConfig, *, customer_id: int, first: int, after_id: int | None
    ) -> Awaitable[tuple[list[ViewT], bool]]: ...


async def _customer_page(
    info: Info,
    lookup: CustomerLookupInput,
    first: int,
    after: str | None,
    cursor_kind: str,
    fetch: CustomerPageFetch[ViewT],
) -> tuple[int, list[ViewT], bool]:
    """The customer the lookup names and a page of what `fetch` reads of them, on one read."""
    check_page_size(first)
    after_id = decode_id_cursor(cursor_kind, after)
    async with info.context.database.read() as connection:
        customer_id = await customer_id_for(info, connection, lookup, "lookup")
        views, has_next_page = await fetch(
            connection, info.context.org, customer_id=customer_id, first=first, after_id=after_id
        )
    return customer_id, views, has_next_page


@strawberry.type
class SegmentQuery:
    @strawberry.field(description="The organisation's segments, oldest first. At most 100 a page.")
    async def segments(self, info: Info, first: int = PAGE_SIZE_DEFAULT, after: str | None = None) -> SegmentsResult:
        check_page_size(first)
        after_id = decode_id_cursor("segment", after)
        async with info.context.database.read() as connection:
            views, has_next_page = await service.segments(connection, info.context.org, first=first, after_id=after_id)
        return SegmentPage(
            segments=[Segment.from_view(view) for view in views],
            page_info=page_info_after("segment", [view.id for view in views], has_next_page),
        )

    @strawberry.field(description="The segments a customer is in now, by segment. At most 100 a page.")
    async def customer_segments(
        self, info: Info, lookup: CustomerLookupInput, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> CustomerSegmentsResult:
        customer_id, views, has_next_page = await _customer_page(
            info, lookup, first, after, "membership", service.customer_segments
        )
        return CustomerSegmentPage(
            customer_id=strawberry.ID(str(customer_id)),
            memberships=[SegmentMembership.from_view(view) for view in views],
            page_info=page_info_after("membership", [view.segment.id for view in views], has_next_page),
        )

    @strawberry.field(
        description="A customer's segment change history (added, removed), newest first. At most 100 a page."
    )
    async def customer_segment_history(
        self, info: Info, lookup: CustomerLookupInput, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> CustomerSegmentHistoryResult:
        customer_id, views, has_next_page = await _customer_page(
            info, lookup, first, after, "segment-change", service.customer_segment_history
        )
        return SegmentHistoryPage(
            customer_id=strawberry.ID(str(customer_id)),
            changes=[SegmentChange.from_view(view) for view in views],
            page_info=page_info_after("segment-change", [view.id for view in views], has_next_page),
        )
