"""convertTriggerBasedPoints: points held until a trigger (e.g. delivery confirmed) become REGULAR points.

(Expiry and promised conversions run on their own: the server's maintenance task and the
`pointledger expire` / `convert-promised` commands. What a customer holds and what expires
when are fields of Customer and PointsSummary.)
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.conversions.service import convert_trigger_based_points
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.ledger.inputs import ConvertTriggerBasedPointsInput
from app.graphql.ledger.types import TriggerBasedPointsConverted

ConvertTriggerBasedPointsResult = Annotated[
    TriggerBasedPointsConverted | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("ConvertTriggerBasedPointsResult"),
]


@strawberry.type
class ConvertTriggerBasedPointsMutation:
    @strawberry.mutation(
        description=(
            "Convert a customer's TRIGGER_BASED points into REGULAR ones when their trigger happens: all of them, one "
            "program's, or one bill's. Points past their expiry date are left to the expiry run. Nothing to convert is "
            "NO_POINTS_TO_CONVERT."
        )
    )
    async def convert_trigger_based_points(
        self, info: Info, input: ConvertTriggerBasedPointsInput
    ) -> ConvertTriggerBasedPointsResult:
        result = await convert_trigger_based_points(
            info.context.database,
            info.context.org,
            customer=input.customer.to_domain(),
            program_code=input.program_code,
            transaction_id=str(input.transaction_id) if input.transaction_id is not None else None,
            idempotency_key=input.idempotency_key,
            now=info.context.now,
        )
        return TriggerBasedPointsConverted.from_conversion(result, info.context.org)
