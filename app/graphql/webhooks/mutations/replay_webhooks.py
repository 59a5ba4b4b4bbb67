"""replayWebhooks: send an endpoint the events of a time range again."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.webhooks.inputs import ReplayWebhooksInput, parse_endpoint_id
from app.graphql.webhooks.types import WebhooksReplayed
from app.webhooks.service import replay

ReplayWebhooksResult = Annotated[
    WebhooksReplayed | InvalidInputError | NotFoundError, strawberry.union("ReplayWebhooksResult")
]


@strawberry.type
class ReplayWebhooksMutation:
    @strawberry.mutation(
        description=(
            "Send the organisation's events created in [from, to) of these types to the endpoint again: new "
            "deliveries, due now, of the same events (the same webhook-id: receivers that dedupe skip what they had)."
        )
    )
    async def replay_webhooks(self, info: Info, input: ReplayWebhooksInput) -> ReplayWebhooksResult:
        count = await replay(
            info.context.database,
            info.context.org,
            parse_endpoint_id(input.endpoint),
            created_from=input.from_,
            created_until=input.to,
            event_types=input.types,
            now=info.context.now,
        )
        return WebhooksReplayed(deliveries=count)
