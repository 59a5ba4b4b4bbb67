"""Member care's slab history of a customer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.customers.tiers import history_program_id, tier_history_page
from app.graphql.core.context import Info
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, check_page_size, decode_id_cursor, page_info_after
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.tiers.types import CustomerTierHistoryResult, TierChange, TierHistoryPage


@strawberry.type
class TierHistoryQuery:
    @strawberry.field(
        description="A customer's tier upgrades, downgrades and expiries, newest first (member care's Slab History)."
    )
    async def customer_tier_history(
        self,
        info: Info,
        customer: CustomerLookupInput,
        program: Annotated[str | None, strawberry.argument(description="Only this program's code.")] = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerTierHistoryResult:
        check_page_size(first)
        after_id = decode_id_cursor("tier", after)
        org = info.context.org
        program_id = history_program_id(org, program, "program")
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            records, has_next_page = await tier_history_page(
                connection,
                org_id=org.id,
                customer_id=customer_id,
                program_id=program_id,
                first=first,
                after_id=after_id,
            )
        return TierHistoryPage(
            customer_id=strawberry.ID(str(customer_id)),
            records=[TierChange.from_record(record, org) for record in records],
            page_info=page_info_after("tier", [record.id for record in records], has_next_page),
        )
