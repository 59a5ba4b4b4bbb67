"""generatePromoCodes: new unique random codes for a promotion."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
)
from app.graphql.promotions.inputs import (
    GeneratePromoCodesInput,
    parse_promotion_id,
)
from app.graphql.promotions.types import (
    CartPromotion,
    PromoCodesGenerated,
)
from app.kernel.errors import ValidationError
from app.promotions import rules
from app.promotions import service as promotions_service

GeneratePromoCodesResult = Annotated[
    PromoCodesGenerated | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("GeneratePromoCodesResult"),
]


@strawberry.type
class GeneratePromoCodesMutation:
    @strawberry.mutation(
        description=(
            "Generate new unique codes for a promotion (also after it was created): random characters from an alphabet "
            "without look-alikes (no 0/O, 1/I/L, U), after an optional prefix."
        )
    )
    async def generate_promo_codes(self, info: Info, input: GeneratePromoCodesInput) -> GeneratePromoCodesResult:
        if not 1 <= input.count <= promotions_service.GRAPHQL_GENERATE_MAX:
            raise ValidationError(
                f"must be between 1 and {promotions_service.GRAPHQL_GENERATE_MAX:,} (more with the CLI)",
                field="input.count",
            )
        request = rules.check_generation(input.count, input.length, input.prefix)
        promotion_id = parse_promotion_id(input.promotion_id, "input.promotionId")
        generated = await promotions_service.generate_codes(
            info.context.database,
            info.context.org,
            promotion_id,
            request,
            idempotency_key=input.idempotency_key,
            now=info.context.now,
        )
        async with info.context.database.read() as connection:
            view = await promotions_service.load_promotion(connection, info.context.org, promotion_id)
        return PromoCodesGenerated(
            promotion=CartPromotion.from_view(view), generated=generated.count, replayed=generated.replayed
        )
