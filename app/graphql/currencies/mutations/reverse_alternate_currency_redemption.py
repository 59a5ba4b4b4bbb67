"""reverseAlternateCurrencyRedemption: give back units an alternate currency redemption took."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.currencies.service import reverse_redemption
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.currencies.inputs import ReverseAlternateCurrencyRedemptionInput
from app.graphql.currencies.types import AlternateCurrencyRedemptionReversed

ReverseAlternateCurrencyRedemptionResult = Annotated[
    AlternateCurrencyRedemptionReversed | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("ReverseAlternateCurrencyRedemptionResult"),
]


@strawberry.type
class ReverseAlternateCurrencyRedemptionMutation:
    @strawberry.mutation(
        description=(
            "Give back all or part of an alternate currency redemption, into the lots it took from with their expiry "
            "(to a merged customer's survivor); never more than is left, once per idempotency key."
        )
    )
    async def reverse_alternate_currency_redemption(
        self, info: Info, input: ReverseAlternateCurrencyRedemptionInput
    ) -> ReverseAlternateCurrencyRedemptionResult:
        result = await reverse_redemption(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        return AlternateCurrencyRedemptionReversed.from_result(result)
