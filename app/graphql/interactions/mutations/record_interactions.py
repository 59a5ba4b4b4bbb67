"""recordInteractions: record a batch of messages brands' systems report, each with its own result."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import to_graphql_error
from app.graphql.interactions.inputs import InteractionInputType
from app.graphql.interactions.types import InteractionRecordedPayload, RecordInteractionResult
from app.interactions.service import record_interactions
from app.interactions.views import InteractionRecorded
from app.kernel.errors import DomainError


@strawberry.type
class RecordInteractionsMutation:
    @strawberry.mutation(
        description=(
            "Record up to 1,000 messages (or status changes of messages recorded before), each with its own result. "
            "Idempotent by message id per channel: a repeat writes nothing, a new status joins the history, other "
            "changed details are INTERACTION_CONFLICT."
        )
    )
    async def record_interactions(self, info: Info, input: list[InteractionInputType]) -> list[RecordInteractionResult]:
        org = info.context.org
        try:
            results = await record_interactions(
                info.context.database, org, [item.to_domain() for item in input], now=info.context.now
            )
        except DomainError as error:  # the batch as a whole is refused: one result says why
            info.context.error_codes.append(error.code)
            return [to_graphql_error(error)]
        info.context.error_codes.extend(result.code for result in results if isinstance(result, DomainError))
        return [
            InteractionRecordedPayload.from_result(result, org)
            if isinstance(result, InteractionRecorded)
            else to_graphql_error(result)
            for result in results
        ]
