"""redeemPoints: spend a customer's points (one POINTS_REDEMPTION event) for a bill to carry."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InsufficientPointsError,
    InvalidInputError,
    NotFoundError,
)
from app.graphql.redemptions.inputs import RedeemPointsInput
from app.graphql.redemptions.types import PointsRedeemed, PointsRedemption
from app.redemptions import service as redemptions_service

RedeemPointsResult = Annotated[
    PointsRedeemed
    | InvalidInputError
    | NotFoundError
    | InsufficientPointsError
    | IdempotencyKeyReusedError
    | ConflictError,
    strawberry.union("RedeemPointsResult"),
]


@strawberry.type
class RedeemPointsMutation:
    @strawberry.mutation(
        description=(
            "Redeem points: one POINTS_REDEMPTION event (one debit per program drawn from, spending lots "
            "first-expiring first) and a redemption id that a bill can carry (addTransaction's pointsRedemptions)."
        )
    )
    async def redeem_points(self, info: Info, input: RedeemPointsInput) -> RedeemPointsResult:
        org = info.context.org
        result = await redemptions_service.redeem_points(
            info.context.database, org, input.to_domain(), now=info.context.now
        )
        return PointsRedeemed(redemption=PointsRedemption.from_view(result.redemption, org), replayed=result.replayed)
