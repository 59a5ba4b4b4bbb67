"""recordBehaviouralEvents: record a batch of events brands' systems report, each with its own result."""

from __future__ import annotations

import strawberry

from app.behavioural_events.service import record_behavioural_events
from app.graphql.behavioural_events.inputs import BehaviouralEventInputType
from app.graphql.behavioural_events.types import BehaviouralEventRecorded, RecordBehaviouralEventResult
from app.graphql.core.batches import batch_results
from app.graphql.core.context import Info


@strawberry.type
class RecordBehaviouralEventsMutation:
    @strawberry.mutation(
        description=(
            "Record up to 1,000 behavioural events, each with its own result. Idempotent by tracking id: the same "
            "event again writes nothing (replayed), another event with a recorded tracking id is TRACKING_ID_CONFLICT."
        )
    )
    async def record_behavioural_events(
        self, info: Info, input: list[BehaviouralEventInputType]
    ) -> list[RecordBehaviouralEventResult]:
        org = info.context.org
        recording = record_behavioural_events(
            info.context.database, org, [item.to_domain() for item in input], now=info.context.now
        )
        return await batch_results(info, recording, lambda result: BehaviouralEventRecorded.from_result(result, org))
