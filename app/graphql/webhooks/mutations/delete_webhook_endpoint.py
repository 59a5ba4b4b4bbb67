"""deleteWebhookEndpoint: the endpoint, its pending deliveries and its log."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.webhooks.inputs import parse_endpoint_id
from app.graphql.webhooks.types import WebhookEndpointDeleted
from app.webhooks.service import delete_endpoint

DeleteWebhookEndpointResult = Annotated[
    WebhookEndpointDeleted | InvalidInputError | NotFoundError, strawberry.union("DeleteWebhookEndpointResult")
]


@strawberry.type
class DeleteWebhookEndpointMutation:
    @strawberry.mutation(
        description="Delete an endpoint with its pending deliveries and its log (updateWebhookEndpoint disables one)."
    )
    async def delete_webhook_endpoint(self, info: Info, endpoint: strawberry.ID) -> DeleteWebhookEndpointResult:
        endpoint_id = parse_endpoint_id(endpoint)
        await delete_endpoint(info.context.database, info.context.org, endpoint_id)
        return WebhookEndpointDeleted(endpoint_id=strawberry.ID(str(endpoint_id)))
