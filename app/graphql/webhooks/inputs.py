"""Input types of webhooks."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.kernel.decimals import ID_MAX, read_whole_number
from app.kernel.errors import ValidationError
from app.webhooks.service import EndpointChanges, EndpointRequest

EVENT_TYPES_DESCRIPTION = (
    "Event types to send: transaction.added, points.earned, coupon.resend_requested, ... (the README's table)."
)


def parse_endpoint_id(value: strawberry.ID, field: str = "endpoint") -> int:
    endpoint_id = read_whole_number(str(value), ID_MAX)
    if endpoint_id is None:
        raise ValidationError("is not a webhook endpoint id", field=field)
    return endpoint_id


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description=(
            "http(s) URL; refused when its host resolves to a loopback, link-local, private or unspecified "
            "address unless the organisation file sets [webhooks] allow_private_addresses."
        )
    )
    event_types: list[str] = strawberry.field(description=EVENT_TYPES_DESCRIPTION)
    enabled: bool = True
    ordered_per_customer: bool = strawberry.field(
        default=False,
        description="Send a customer's events one at a time, in order (a slow or failing one holds the next back).",
    )

    def to_domain(self) -> EndpointRequest:
        return EndpointRequest(self.url, self.event_types, self.enabled, self.ordered_per_customer)


@strawberry.input(description="What to change on an endpoint; a field left out keeps its value.")
class UpdateWebhookEndpointInput:
    endpoint: strawberry.ID
    url: str | None = None
    event_types: list[str] | None = strawberry.field(default=None, description=EVENT_TYPES_DESCRIPTION)
    enabled: bool | None = strawberry.field(
        default=None, description="True also clears a disabled endpoint's reason and failing streak."
    )
    ordered_per_customer: bool | None = None

    def to_domain(self) -> EndpointChanges:
        return EndpointChanges(self.url, self.event_types, self.enabled, self.ordered_per_customer)


@strawberry.input(description="Events to send to an endpoint again.")
class ReplayWebhooksInput:
    endpoint: strawberry.ID
    from_: datetime = strawberry.field(name="from", description="Events created at or after this time.")
    to: datetime = strawberry.field(description="Events created before this time (at most 31 days after from).")
    types: list[str] | None = strawberry.field(default=None, description="The endpoint's event types when left out.")
