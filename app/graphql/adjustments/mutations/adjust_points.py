"""adjustPoints: member care's manual credit or debit of a customer's points."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.adjustments.service import adjust_points
from app.graphql.adjustments.inputs import AdjustPointsInput
from app.graphql.adjustments.types import PointsAdjusted
from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InsufficientPointsError,
    InvalidInputError,
    NotFoundError,
)

AdjustPointsResult = Annotated[
    PointsAdjusted
    | InvalidInputError
    | NotFoundError
    | InsufficientPointsError
    | ConflictError
    | IdempotencyKeyReusedError,
    strawberry.union("AdjustPointsResult"),
]


@strawberry.type
class AdjustPointsMutation:
    @strawberry.mutation(
        description=(
            "Credit or debit a customer's points by hand, with a reason and a note (member care): a credit is a lot "
            "expiring by the program's strategy, a debit takes spendable lots first-expiring first and never more "
            "than the spendable points. Counted in the summaries' `adjusted`."
        )
    )
    async def adjust_points(self, info: Info, input: AdjustPointsInput) -> AdjustPointsResult:
        result = await adjust_points(info.context.database, info.context.org, input.to_domain(), now=info.context.now)
        return PointsAdjusted.from_result(result, info.context.org)
