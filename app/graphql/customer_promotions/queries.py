"""Points promotion queries: a promotion by identifier, with its totals."""

from __future__ import annotations

import strawberry

from app.customer_promotions import service
from app.graphql.core.context import Info
from app.graphql.customer_promotions.types import CustomerPromotion, CustomerPromotionResult


@strawberry.type
class CustomerPromotionQuery:
    @strawberry.field(description="A points promotion by identifier, with its totals.")
    async def customer_promotion(self, info: Info, identifier: str) -> CustomerPromotionResult:
        async with info.context.database.read() as connection:
            view = await service.find_promotion(connection, info.context.org, identifier)
            totals = (await service.promotion_totals(connection, [view.id]))[view.id]
        return CustomerPromotion.from_view(view, info.context.org, totals)
