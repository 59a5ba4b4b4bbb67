"""Tracker queries: the organisation's trackers, and a customer's loyalty tracker history."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.pagination import (
    PAGE_SIZE_DEFAULT,
    check_page_size,
    decode_id_cursor,
    page_info_after,
)
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.trackers.types import TrackedValue, Tracker, TrackerHistoryPage, TrackerHistoryResult
from app.trackers import service


@strawberry.type
class TrackerQuery:
    @strawberry.field(description="The organisation's trackers, by code.")
    async def trackers(self, info: Info) -> list[Tracker]:
        async with info.context.database.read() as connection:
            found = await service.find_trackers(connection, info.context.org.id)
        return [Tracker.from_view(view, info.context.org) for view in found.values()]

    @strawberry.field(
        description=(
            "A customer's loyalty tracker history, newest first (a group's with its userId). At most 100 a page."
        )
    )
    async def customer_tracker_history(
        self,
        info: Info,
        customer: CustomerLookupInput,
        tracker_code: str | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> TrackerHistoryResult:
        org = info.context.org
        check_page_size(first)
        after_id = decode_id_cursor("tracked", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            trackers = await service.find_trackers(connection, org.id)
            tracker_id = None
            if tracker_code is not None:
                tracker_id = (await service.find_tracker(connection, org.id, tracker_code, "trackerCode")).id
            rows, has_next_page = await service.tracker_history(
                connection,
                org_id=org.id,
                customer_id=customer_id,
                first=first,
                after_id=after_id,
                tracker_id=tracker_id,
            )
        by_id = {tracker.id: tracker for tracker in trackers.values()}
        return TrackerHistoryPage(
            customer_id=strawberry.ID(str(customer_id)),
            records=[TrackedValue.from_row(row, by_id[row.tracker_id], org) for row in rows],
            page_info=page_info_after("tracked", [row.id for row in rows[-1:]], has_next_page),
        )
