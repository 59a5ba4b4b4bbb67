"""awardPromotionPoints: points under a points promotion for one customer or user group."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.customer_promotions import service
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.customer_promotions.inputs import AwardPromotionPointsInput
from app.graphql.customer_promotions.types import PromotionPointsAwarded

AwardPromotionPointsResult = Annotated[
    PromotionPointsAwarded | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("AwardPromotionPointsResult"),
]


@strawberry.type
class AwardPromotionPointsMutation:
    @strawberry.mutation(
        description=(
            "Award points under a points promotion to one customer or user group: a CUSTOMER_PROMOTION ledger credit "
            "into the REGULAR account, as a lot expiring by the promotion's strategy."
        )
    )
    async def award_promotion_points(self, info: Info, input: AwardPromotionPointsInput) -> AwardPromotionPointsResult:
        org = info.context.org
        result = await service.award_promotion_points(
            info.context.database, org, input.to_domain(), now=info.context.now
        )
        return PromotionPointsAwarded.from_award(result, org)
