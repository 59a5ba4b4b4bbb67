"""Input types of interactions."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.interactions.types import ChannelEnum, DirectionEnum, InteractionStatusEnum
from app.interactions.views import InteractionInput


@strawberry.input(
    name="InteractionInput",
    description="A message a brand's system sent or received, or a status it went through since.",
)
class InteractionInputType:
    customer: CustomerLookupInput
    message_id: str = strawberry.field(
        description="The sender's id of the message: a repeat is recognised by it (per channel)."
    )
    channel: ChannelEnum
    direction: DirectionEnum
    status: InteractionStatusEnum
    status_at: datetime | None = strawberry.field(
        default=None, description="When the message took this status (with an offset); the request's time if omitted."
    )
    account: str | None = strawberry.field(default=None, description="The sender's account: at most 100 characters.")
    template: str | None = strawberry.field(default=None, description="The template's name: at most 200 characters.")
    subject: str | None = strawberry.field(default=None, description="At most 500 characters.")
    body_preview: str | None = strawberry.field(
        default=None, description="The start of the message: printable characters only, at most 500."
    )
    sent_at: datetime | None = None
    delivered_at: datetime | None = strawberry.field(default=None, description="Not before sentAt.")

    def to_domain(self) -> InteractionInput:
        return InteractionInput(
            customer=self.customer.to_domain(),
            message_id=self.message_id,
            channel=self.channel,
            direction=self.direction,
            status=self.status,
            status_at=self.status_at,
            account=self.account,
            template=self.template,
            subject=self.subject,
            body_preview=self.body_preview,
            sent_at=self.sent_at,
            delivered_at=self.delivered_at,
        )
