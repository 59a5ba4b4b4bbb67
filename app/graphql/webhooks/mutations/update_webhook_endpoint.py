"""updateWebhookEndpoint: change an endpoint's URL, types, order or enabled flag."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.webhooks.inputs import UpdateWebhookEndpointInput, parse_endpoint_id
from app.graphql.webhooks.types import WebhookEndpoint, WebhookEndpointUpdated
from app.webhooks.service import update_endpoint

UpdateWebhookEndpointResult = Annotated[
    WebhookEndpointUpdated | InvalidInputError | NotFoundError, strawberry.union("UpdateWebhookEndpointResult")
]


@strawberry.type
class UpdateWebhookEndpointMutation:
    @strawberry.mutation(description="Change an endpoint (disable it with enabled: false; its log is kept).")
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> UpdateWebhookEndpointResult:
        endpoint_id = parse_endpoint_id(input.endpoint)
        view = await update_endpoint(
            info.context.database, info.context.org, endpoint_id, input.to_domain(), now=info.context.now
        )
        return WebhookEndpointUpdated(endpoint=WebhookEndpoint.from_view(view))
