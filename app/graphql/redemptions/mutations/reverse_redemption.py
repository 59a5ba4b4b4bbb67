"""reverseRedemption: give a redemption's points back into the lots they came from."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    RedemptionReversalLimitError,
)
from app.graphql.redemptions.inputs import ReverseRedemptionInput
from app.graphql.redemptions.types import PointsRedemption, RedemptionReversal, RedemptionReversed
from app.redemptions import service as redemptions_service

ReverseRedemptionResult = Annotated[
    RedemptionReversed
    | InvalidInputError
    | NotFoundError
    | RedemptionReversalLimitError
    | IdempotencyKeyReusedError
    | ConflictError,
    strawberry.union("ReverseRedemptionResult"),
]


@strawberry.type
class ReverseRedemptionMutation:
    @strawberry.mutation(
        description=(
            "Give back a redemption's points, all that is left or some: one REDEMPTION_REVERSAL event whose credits "
            "return the points into the lots they came from, with their original expiry."
        )
    )
    async def reverse_redemption(self, info: Info, input: ReverseRedemptionInput) -> ReverseRedemptionResult:
        org = info.context.org
        result = await redemptions_service.reverse_redemption(
            info.context.database, org, input.to_domain(), now=info.context.now
        )
        return RedemptionReversed(
            reversal=RedemptionReversal.from_view(result.reversal, org),
            redemption=PointsRedemption.from_view(result.redemption, org),
            replayed=result.replayed,
        )
