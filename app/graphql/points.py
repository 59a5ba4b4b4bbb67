"""Points held until a trigger: the convertTriggerBasedPoints mutation.

(Expiry and promised conversions run on their own: the server's maintenance task and the
`pointledger expire` / `convert-promised` commands. What a customer holds and what expires
when are fields of Customer and PointsSummary.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from app.conversions.service import TriggerConversion, convert_trigger_based_points
from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.customers.types import Customer


@strawberry.input(
    description="Convert a customer's TRIGGER_BASED points into REGULAR points (e.g. delivery confirmed)."
)
class ConvertTriggerBasedPointsInput:
    customer: CustomerLookupInput
    program_code: str | None = strawberry.field(
        default=None, description="Only this program's points; all programs when omitted."
    )
    transaction_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the points this bill earned (its id, as addTransaction returned it)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type
class ConvertedPoints:
    program_code: str
    points: Decimal


@strawberry.type(
    description=(
        "One TRIGGER_BASED_POINTS_CONVERSION event: per program, a debit on the TRIGGER_BASED account and a credit on "
        "the REGULAR account with the same expiry dates; its points_on_event is 0."
    )
)
class TriggerBasedPointsConverted:
    replayed: bool = strawberry.field(
        description="True when this idempotency key converted before: nothing was written."
    )
    event_log_id: strawberry.ID
    user_id: strawberry.ID
    points: Decimal = strawberry.field(description="All points converted, over all programs.")
    programs: list[ConvertedPoints]

    @strawberry.field(description="The customer as they are now.")
    async def customer(self, info: Info) -> Customer | None:
        view = await info.context.customers.load(int(self.user_id))
        return Customer.from_view(view) if view is not None else None


ConvertTriggerBasedPointsResult = Annotated[
    TriggerBasedPointsConverted | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("ConvertTriggerBasedPointsResult"),
]


def _converted(info: Info, result: TriggerConversion) -> TriggerBasedPointsConverted:
    org = info.context.org
    return TriggerBasedPointsConverted(
        replayed=result.replayed,
        event_log_id=strawberry.ID(str(result.event_id)),
        user_id=strawberry.ID(str(result.customer_id)),
        points=result.points,
        programs=[
            ConvertedPoints(program_code=org.program(program_id).code, points=points)
            for program_id, points in result.points_by_program
        ],
    )


@strawberry.type
class PointsMutation:
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
        return _converted(info, result)
