"""Webhook mutations (admin), one module each, composed into the Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.webhooks.mutations.create_webhook_endpoint import CreateWebhookEndpointMutation
from app.graphql.webhooks.mutations.delete_webhook_endpoint import DeleteWebhookEndpointMutation
from app.graphql.webhooks.mutations.replay_webhooks import ReplayWebhooksMutation
from app.graphql.webhooks.mutations.rotate_webhook_secret import RotateWebhookSecretMutation
from app.graphql.webhooks.mutations.update_webhook_endpoint import UpdateWebhookEndpointMutation


@strawberry.type
class WebhookMutation(
    CreateWebhookEndpointMutation,
    UpdateWebhookEndpointMutation,
    RotateWebhookSecretMutation,
    DeleteWebhookEndpointMutation,
    ReplayWebhooksMutation,
):
    pass
