"""createPromotion: a code-linked cart promotion (and its common code)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
)
from app.graphql.promotions.inputs import (
    CartPromotionInput,
)
from app.graphql.promotions.types import (
    CartPromotion,
    CartPromotionCreated,
)
from app.promotions import service as promotions_service

CreatePromotionResult = Annotated[
    CartPromotionCreated | InvalidInputError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("CreatePromotionResult"),
]


@strawberry.type
class CreatePromotionMutation:
    @strawberry.mutation(description="Create a code-linked cart promotion (and its common code, when given).")
    async def create_promotion(self, info: Info, input: CartPromotionInput) -> CreatePromotionResult:
        view, replayed = await promotions_service.create_promotion(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        return CartPromotionCreated(promotion=CartPromotion.from_view(view), replayed=replayed)
