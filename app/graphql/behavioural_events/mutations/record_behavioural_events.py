"""recordBehaviouralEvents: record a batch of events brands' systems report, each with its own result."""

from __future__ import annotations

import strawberry

from app.behavioural_events.service import record_behavioural_events
from app.behavioural_events.views import EventRecorded
from app.graphql.behavioural_events.inputs import BehaviouralEventInputType
from app.graphql.behavioural_events.types import BehaviouralEventRecorded, RecordBehaviouralEventResult
from app.graphql.core.context import Info
from app.graphql.core.errors import to_graphql_error
from app.kernel.errors import DomainError


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
        try:
            results = await record_behavioural_events(
                info.context.database, org, [item.to_domain() for item in input], now=info.context.now
            )
        except DomainError as error:  # the batch as a whole is refused: one result says why
            info.context.error_codes.append(error.code)
            return [to_graphql_error(error)]
        info.context.error_codes.extend(result.code for result in results if isinstance(result, DomainError))
        return [
            BehaviouralEventRecorded.from_result(result, org)
            if isinstance(result, EventRecorded)
            else to_graphql_error(result)
            for result in results
        ]
