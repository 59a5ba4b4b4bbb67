"""Lead queries: a customer's leads with their status histories (member care)."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, check_page_size, decode_id_cursor, page_info_after
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.leads.types import CustomerLeadsResult, Lead, LeadPage, LeadStatus
from app.leads import service


@strawberry.type
class LeadQuery:
    @strawberry.field(description="A customer's leads, newest first, each with its status history. At most 100 a page.")
    async def customer_leads(
        self,
        info: Info,
        lookup: CustomerLookupInput,
        status: LeadStatus | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerLeadsResult:
        check_page_size(first)
        after_id = decode_id_cursor("lead", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, lookup, "lookup")
            views, has_next_page = await service.customer_leads(
                connection,
                info.context.org,
                customer_id=customer_id,
                status=service.LeadStatus(status.value) if status is not None else None,
                first=first,
                after_id=after_id,
            )
        return LeadPage(
            customer_id=strawberry.ID(str(customer_id)),
            leads=[Lead.from_view(view) for view in views],
            page_info=page_info_after("lead", [view.id for view in views], has_next_page),
        )
