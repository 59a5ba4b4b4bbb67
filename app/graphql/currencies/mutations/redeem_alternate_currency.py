"""redeemAlternateCurrency: spend units of a program's alternate currency."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.currencies.service import redeem
from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InsufficientPointsError,
    InvalidInputError,
    NotFoundError,
)
from app.graphql.currencies.inputs import RedeemAlternateCurrencyInput
from app.graphql.currencies.types import AlternateCurrencyRedeemed

RedeemAlternateCurrencyResult = Annotated[
    AlternateCurrencyRedeemed
    | InvalidInputError
    | NotFoundError
    | InsufficientPointsError
    | ConflictError
    | IdempotencyKeyReusedError,
    strawberry.union("RedeemAlternateCurrencyResult"),
]


@strawberry.type
class RedeemAlternateCurrencyMutation:
    @strawberry.mutation(
        description=(
            "Redeem units of one of a program's alternate currencies: spendable units, first-expiring first, never "
            "more than the customer holds (INSUFFICIENT_POINTS, nothing written), once per idempotency key. A "
            "dedicated mutation rather than an argument of redeemPoints: a currency has no points redemption's "
            "validation code, bill or reversal."
        )
    )
    async def redeem_alternate_currency(
        self, info: Info, input: RedeemAlternateCurrencyInput
    ) -> RedeemAlternateCurrencyResult:
        result = await redeem(info.context.database, info.context.org, input.to_domain(), now=info.context.now)
        return AlternateCurrencyRedeemed.from_result(result)
