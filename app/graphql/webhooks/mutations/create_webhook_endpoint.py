"""createWebhookEndpoint: a new endpoint; its secret is returned this once."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, InvalidInputError
from app.graphql.webhooks.inputs import CreateWebhookEndpointInput
from app.graphql.webhooks.types import WebhookEndpointWithSecret
from app.webhooks.service import create_endpoint

CreateWebhookEndpointResult = Annotated[
    WebhookEndpointWithSecret | InvalidInputError | ConflictError, strawberry.union("CreateWebhookEndpointResult")
]


@strawberry.type
class CreateWebhookEndpointMutation:
    @strawberry.mutation(
        description=(
            "A webhook endpoint of the organisation: events of its types are sent to it signed as Standard Webhooks "
            "define. The secret is in this answer only. Refused: a URL that is not http(s) (INVALID_WEBHOOK_URL), a "
            "host at a private address (WEBHOOK_ADDRESS_NOT_ALLOWED), an unknown type (UNKNOWN_EVENT_TYPE)."
        )
    )
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> CreateWebhookEndpointResult:
        result = await create_endpoint(info.context.database, info.context.org, input.to_domain(), now=info.context.now)
        return WebhookEndpointWithSecret.from_view(result)
