"""transferAlternateCurrency: move units of an alternate currency from one customer to another."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.currencies.transfers import transfer
from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InsufficientPointsError,
    InvalidInputError,
    NotFoundError,
)
from app.graphql.currencies.inputs import TransferAlternateCurrencyInput
from app.graphql.currencies.types import AlternateCurrencyTransferred

TransferAlternateCurrencyResult = Annotated[
    AlternateCurrencyTransferred
    | InvalidInputError
    | NotFoundError
    | InsufficientPointsError
    | ConflictError
    | IdempotencyKeyReusedError,
    strawberry.union("TransferAlternateCurrencyResult"),
]


@strawberry.type
class TransferAlternateCurrencyMutation:
    @strawberry.mutation(
        description=(
            "Move spendable units of one of a program's alternate currencies from one customer to another: the "
            "sender's lots are taken first-expiring first and the receiver's new lots keep their expiry; never more "
            "than the sender holds (INSUFFICIENT_POINTS, nothing written); once per idempotency key."
        )
    )
    async def transfer_alternate_currency(
        self, info: Info, input: TransferAlternateCurrencyInput
    ) -> TransferAlternateCurrencyResult:
        result = await transfer(info.context.database, info.context.org, input.to_domain(), now=info.context.now)
        return AlternateCurrencyTransferred.from_result(result)
