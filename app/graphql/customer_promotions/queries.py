"""Points promotion queries: a promotion by identifier, with its totals; a customer's promotion points."""

from __future__ import annotations

import strawberry

from app.customer_promotions import service
from app.graphql.core.context import Info
from app.graphql.core.pagination import (
    PAGE_SIZE_DEFAULT,
    check_page_size,
    decode_id_cursor,
    page_info_after,
)
from app.graphql.customer_promotions.types import (
    CustomerPromotion,
    CustomerPromotionHistoryResult,
    CustomerPromotionResult,
    PromotionAward,
    PromotionAwardPage,
)
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for


@strawberry.type
class CustomerPromotionQuery:
    @strawberry.field(description="A points promotion by identifier, with its totals.")
    async def customer_promotion(self, info: Info, identifier: str) -> CustomerPromotionResult:
        async with info.context.database.read() as connection:
            view = await service.find_promotion(connection, info.context.org, identifier)
            totals = (await service.promotion_totals(connection, [view.id]))[view.id]
        return CustomerPromotion.from_view(view, info.context.org, totals)


@strawberry.type
class CustomerPromotionHistoryQuery:
    @strawberry.field(
        description="Points a customer was issued through points promotions, newest first (member care's Promotions)."
    )
    async def customer_promotion_history(
        self,
        info: Info,
        customer: CustomerLookupInput,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerPromotionHistoryResult:
        check_page_size(first)
        after_id = decode_id_cursor("promotion-award", after)
        org = info.context.org
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            records, has_next_page = await service.customer_promotion_history(
                connection, org_id=org.id, customer_id=customer_id, first=first, after_id=after_id
            )
        return PromotionAwardPage(
            customer_id=strawberry.ID(str(customer_id)),
            records=[PromotionAward.from_record(record, org) for record in records],
            page_info=page_info_after("promotion-award", [row.entry_id for row in records[-1:]], has_next_page),
        )
