"""Redemption queries: the dry run of redeemPoints, and member care's list of a customer's redemptions."""

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
from app.graphql.redemptions.inputs import RedeemPointsInput
from app.graphql.redemptions.types import (
    PointsRedemption,
    PointsRedemptionConnection,
    PointsRedemptionsResult,
    RedemptionValidated,
    ValidateRedemptionResult,
)
from app.redemptions import service as redemptions_service


@strawberry.type
class RedemptionQuery:
    @strawberry.field(
        description=(
            "A dry run of redeemPoints: the answer it would give now (the same checks, the same typed errors) and the "
            "spendable points. Nothing is written or held: a redemption that follows may still find the points gone."
        )
    )
    async def validate_redemption(self, info: Info, input: RedeemPointsInput) -> ValidateRedemptionResult:
        result = await redemptions_service.validate_redemption(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        return RedemptionValidated.from_result(result)

    @strawberry.field(
        description="A customer's points redemptions, newest first, with keyset pagination (member care)."
    )
    async def points_redemptions(
        self,
        info: Info,
        customer: CustomerLookupInput,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> PointsRedemptionsResult:
        org = info.context.org
        check_page_size(first)
        after_id = decode_id_cursor("redemption", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views, has_next_page = await redemptions_service.customer_redemptions(
                connection, org.id, customer_id, first, after_id
            )
        return PointsRedemptionConnection(
            customer_id=strawberry.ID(str(customer_id)),
            nodes=[PointsRedemption.from_view(view, org) for view in views],
            page_info=page_info_after("redemption", [row.id for row in views[-1:]], has_next_page),
        )
