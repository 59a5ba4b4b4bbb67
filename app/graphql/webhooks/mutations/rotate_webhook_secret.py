"""rotateWebhookSecret: a new secret, the old one still signing for a grace period."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.webhooks.inputs import parse_endpoint_id
from app.graphql.webhooks.types import WebhookEndpointWithSecret
from app.webhooks.service import rotate_secret

RotateWebhookSecretResult = Annotated[
    WebhookEndpointWithSecret | InvalidInputError | NotFoundError, strawberry.union("RotateWebhookSecretResult")
]


@strawberry.type
class RotateWebhookSecretMutation:
    @strawberry.mutation(
        description=(
            "A new signing secret (in this answer only). For 24 hours deliveries carry two signatures, with the new "
            "and the previous secret, so receivers can switch without refusing one."
        )
    )
    async def rotate_webhook_secret(self, info: Info, endpoint: strawberry.ID) -> RotateWebhookSecretResult:
        result = await rotate_secret(
            info.context.database, info.context.org, parse_endpoint_id(endpoint), now=info.context.now
        )
        return WebhookEndpointWithSecret.from_view(result)
