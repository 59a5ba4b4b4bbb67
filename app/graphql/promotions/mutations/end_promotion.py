"""endPromotion: a promotion's codes stop working now."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from app.graphql.promotions.inputs import (
    parse_promotion_id,
)
from app.graphql.promotions.types import (
    CartPromotion,
)
from app.promotions import service as promotions_service

EndPromotionResult = Annotated[
    CartPromotion | NotFoundError | InvalidInputError | ConflictError, strawberry.union("EndPromotionResult")
]


@strawberry.type
class EndPromotionMutation:
    @strawberry.mutation(
        description=(
            "End a promotion now: its codes stop working at once (validUntil becomes now; redemptions stay). "
            "Ending it again changes nothing; a promotion that has not started gives PROMOTION_NOT_STARTED."
        )
    )
    async def end_promotion(self, info: Info, id: strawberry.ID) -> EndPromotionResult:
        view = await promotions_service.end_promotion(
            info.context.database, info.context.org, parse_promotion_id(id, "id"), now=info.context.now
        )
        return CartPromotion.from_view(view)
