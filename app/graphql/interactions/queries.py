"""Interaction queries: member care's Interactions tab, per channel."""

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
from app.graphql.interactions.types import ChannelEnum, CustomerInteractionsResult, Interaction, InteractionPage
from app.interactions.service import customer_interactions


@strawberry.type
class InteractionQuery:
    @strawberry.field(
        description="A customer's messages (of one channel, or all), newest first by when they were sent (member care)."
    )
    async def customer_interactions(
        self,
        info: Info,
        customer: CustomerLookupInput,
        channel: ChannelEnum | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerInteractionsResult:
        check_page_size(first)
        after_id = decode_id_cursor("interaction", after)
        org = info.context.org
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views, has_next_page = await customer_interactions(
                connection, org_id=org.id, customer_id=customer_id, channel=channel, first=first, after_id=after_id
            )
        return InteractionPage(
            customer_id=strawberry.ID(str(customer_id)),
            time_zone=org.time_zone.key,
            interactions=[Interaction.from_view(view, org) for view in views],
            page_info=page_info_after("interaction", [row.id for row in views[-1:]], has_next_page),
        )
