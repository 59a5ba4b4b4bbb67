"""recordInteractions: record a batch of messages brands' systems report, each with its own result."""

from __future__ import annotations

import strawberry

from app.graphql.core.batches import batch_results
from app.graphql.core.context import Info
from app.graphql.interactions.inputs import InteractionInputType
from app.graphql.interactions.types import InteractionRecordedPayload, RecordInteractionResult
from app.interactions.service import record_interactions


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
        recording = record_interactions(
            info.context.database, org, [item.to_domain() for item in input], now=info.context.now
        )
        return await batch_results(info, recording, lambda result: InteractionRecordedPayload.from_result(result, org))
