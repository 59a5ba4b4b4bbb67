"""transferPoints: move spendable points from one customer to another in one program."""

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
from app.graphql.transfers.inputs import TransferPointsInput
from app.graphql.transfers.types import PointsTransferred
from app.transfers.service import transfer_points

TransferPointsResult = Annotated[
    PointsTransferred
    | InvalidInputError
    | NotFoundError
    | InsufficientPointsError
    | ConflictError
    | IdempotencyKeyReusedError,
    strawberry.union("TransferPointsResult"),
]


@strawberry.type
class TransferPointsMutation:
    @strawberry.mutation(
        description=(
            "Move spendable points from one customer to another in one program: the sender's lots are taken "
            "first-expiring first and the receiver's new lots keep their expiry dates."
        )
    )
    async def transfer_points(self, info: Info, input: TransferPointsInput) -> TransferPointsResult:
        result = await transfer_points(info.context.database, info.context.org, input.to_domain(), now=info.context.now)
        return PointsTransferred.from_result(result, info.context.org)
