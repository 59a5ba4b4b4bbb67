"""Webhook queries: the organisation's endpoints and an endpoint's delivery log (admin)."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, check_page_size, decode_id_cursor, page_info_after
from app.graphql.webhooks.inputs import parse_endpoint_id
from app.graphql.webhooks.types import WebhookAttempt, WebhookDeliveryLogPage, WebhookDeliveryLogResult, WebhookEndpoint
from app.webhooks import service


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="The organisation's webhook endpoints, oldest first (secrets are never shown).")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        async with info.context.database.read() as connection:
            views = await service.org_endpoints(connection, org_id=info.context.org.id)
        return [WebhookEndpoint.from_view(view) for view in views]

    @strawberry.field(description="An endpoint's delivery attempts, newest first: status code, latency, error.")
    async def webhook_delivery_log(
        self, info: Info, endpoint: strawberry.ID, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> WebhookDeliveryLogResult:
        check_page_size(first)
        endpoint_id = parse_endpoint_id(endpoint)
        after_id = decode_id_cursor("webhook-attempt", after)
        async with info.context.database.read() as connection:
            views, has_next_page = await service.delivery_log(
                connection, org_id=info.context.org.id, endpoint_id=endpoint_id, first=first, after_id=after_id
            )
        return WebhookDeliveryLogPage(
            endpoint_id=strawberry.ID(str(endpoint_id)),
            attempts=[WebhookAttempt.from_view(view) for view in views],
            page_info=page_info_after("webhook-attempt", [view.id for view in views[-1:]], has_next_page),
        )
