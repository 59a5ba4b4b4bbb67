"""Behavioural event queries: member care's Behavioural Events tab."""

from __future__ import annotations

import strawberry

from app.behavioural_events.service import customer_behavioural_events
from app.behavioural_events.views import EventFilter
from app.graphql.behavioural_events.inputs import BehaviouralEventFilterInput
from app.graphql.behavioural_events.types import (
    BehaviouralEvent,
    BehaviouralEventPage,
    CustomerBehaviouralEventsResult,
)
from app.graphql.core.context import Info
from app.graphql.core.pagination import (
    PAGE_SIZE_DEFAULT,
    check_page_size,
    decode_id_cursor,
    page_info_after,
)
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for


@strawberry.type
class BehaviouralEventQuery:
    @strawberry.field(description="A customer's behavioural events, newest first, with filters (member care).")
    async def customer_behavioural_events(
        self,
        info: Info,
        customer: CustomerLookupInput,
        filter: BehaviouralEventFilterInput | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerBehaviouralEventsResult:
        check_page_size(first)
        after_id = decode_id_cursor("behavioural-event", after)
        org = info.context.org
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views, has_next_page = await customer_behavioural_events(
                connection,
                org,
                customer_id=customer_id,
                event_filter=filter.to_domain() if filter is not None else EventFilter(),
                first=first,
                after_id=after_id,
            )
        return BehaviouralEventPage(
            customer_id=strawberry.ID(str(customer_id)),
            time_zone=org.time_zone.key,
            events=[BehaviouralEvent.from_view(view, org) for view in views],
            page_info=page_info_after("behavioural-event", [row.id for row in views[-1:]], has_next_page),
        )
