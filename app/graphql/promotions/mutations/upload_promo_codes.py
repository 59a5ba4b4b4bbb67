"""uploadPromoCodes: a promotion's codes from a CSV file, with the rows in error."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    InvalidInputError,
    NotFoundError,
)
from app.graphql.promotions.inputs import (
    UploadPromoCodesInput,
    parse_promotion_id,
)
from app.graphql.promotions.types import (
    PromoCodesUploaded,
)
from app.promotions import service as promotions_service

UploadPromoCodesResult = Annotated[
    PromoCodesUploaded | InvalidInputError | NotFoundError, strawberry.union("UploadPromoCodesResult")
]


@strawberry.type
class UploadPromoCodesMutation:
    @strawberry.mutation(
        description="Add codes from a CSV file; rows in error are reported (row, column, code, message)."
    )
    async def upload_promo_codes(self, info: Info, input: UploadPromoCodesInput) -> UploadPromoCodesResult:
        promotion_id = parse_promotion_id(input.promotion_id, "input.promotionId")
        report = await promotions_service.upload_codes(
            info.context.database,
            info.context.org,
            promotion_id,
            input.csv,
            input.error_policy.value,
            now=info.context.now,
        )
        async with info.context.database.read() as connection:
            view = await promotions_service.load_promotion(connection, info.context.org, promotion_id)
        return PromoCodesUploaded.from_report(report, view)
