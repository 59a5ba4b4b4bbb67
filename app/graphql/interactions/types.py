"""Output types of interactions: a message with its status history, times in UTC and in the
organisation's time zone (seed 004: member care reads them in the org's zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeAlias

import strawberry

from app.graphql.core.errors import ConflictError, InternalError, InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo
from app.interactions.views import (
    Channel,
    Direction,
    InteractionRecorded,
    InteractionStatus,
    InteractionView,
    Outcome,
    StatusChangeView,
)
from app.kernel.times import local_iso
from app.organizations.config import OrgConfig

# Registers the domain enums themselves: the classes are the schema's enums.
strawberry.enum(Channel, name="InteractionChannel", description="The channel a message went through.")
ChannelEnum: TypeAlias = Channel
strawberry.enum(
    Direction,
    name="InteractionDirection",
    description="OUTBOUND: the brand to the customer; INBOUND: the customer to the brand.",
)
DirectionEnum: TypeAlias = Direction
strawberry.enum(InteractionStatus, name="InteractionStatus", description="A status a message went through.")
InteractionStatusEnum: TypeAlias = InteractionStatus
strawberry.enum(
    Outcome,
    name="InteractionOutcome",
    description=(
        "RECORDED: a new message; STATUS_CHANGED: a known message with a status (or delivery time) it did not have; "
        "UNCHANGED: a repeat of what is stored, nothing was written."
    ),
)
OutcomeEnum: TypeAlias = Outcome


@strawberry.type(description="A status of a message and when the sender says it happened.")
class InteractionStatusChange:
    status: InteractionStatusEnum
    at: datetime = strawberry.field(description="UTC.")
    at_local: str = strawberry.field(description="The same moment in the organisation's time zone (ISO 8601).")

    @classmethod
    def from_view(cls, view: StatusChangeView, org: OrgConfig) -> InteractionStatusChange:
        return cls(status=view.status, at=view.changed_at, at_local=local_iso(view.changed_at, org.time_zone))


@strawberry.type(
    description=(
        "A message a brand's system sent to or received from a customer. Each time has a UTC value and, beside it "
        "(`...Local`), the same moment in the organisation's time zone."
    )
)
class Interaction:
    id: strawberry.ID
    user_id: strawberry.ID = strawberry.field(description="The customer.")
    channel: ChannelEnum
    message_id: str = strawberry.field(description="The sender's id of the message (unique per channel).")
    account: str | None = strawberry.field(description="The sender's account (an SMS sender id, a WeChat account).")
    direction: DirectionEnum
    status: InteractionStatusEnum = strawberry.field(description="The latest status in time.")
    status_at: datetime
    status_at_local: str
    template: str | None
    subject: str | None
    body_preview: str | None
    sent_at: datetime | None
    sent_at_local: str | None
    delivered_at: datetime | None
    delivered_at_local: str | None
    recorded_at: datetime = strawberry.field(description="When the product first recorded it.")
    status_history: list[InteractionStatusChange] = strawberry.field(description="Oldest first.")

    @classmethod
    def from_view(cls, view: InteractionView, org: OrgConfig) -> Interaction:
        return cls(
            id=strawberry.ID(str(view.id)),
            user_id=strawberry.ID(str(view.customer_id)),
            channel=view.channel,
            message_id=view.message_id,
            account=view.account,
            direction=view.direction,
            status=view.status,
            status_at=view.status_at,
            status_at_local=local_iso(view.status_at, org.time_zone),
            template=view.template,
            subject=view.subject,
            body_preview=view.body_preview,
            sent_at=view.sent_at,
            sent_at_local=local_iso(view.sent_at, org.time_zone),
            delivered_at=view.delivered_at,
            delivered_at_local=local_iso(view.delivered_at, org.time_zone),
            recorded_at=view.recorded_at,
            status_history=[InteractionStatusChange.from_view(change, org) for change in view.status_history],
        )


@strawberry.type(description="What recording one reported message did, and the message as it is now.")
class InteractionRecordedPayload:
    outcome: OutcomeEnum
    interaction: Interaction

    @classmethod
    def from_result(cls, result: InteractionRecorded, org: OrgConfig) -> InteractionRecordedPayload:
        return cls(outcome=result.outcome, interaction=Interaction.from_view(result.interaction, org))


RecordInteractionResult = Annotated[
    InteractionRecordedPayload | InvalidInputError | NotFoundError | ConflictError | InternalError,
    strawberry.union("RecordInteractionResult"),
]


@strawberry.type
class InteractionPage:
    customer_id: strawberry.ID
    time_zone: str = strawberry.field(description="The organisation's time zone, in which the `...Local` times are.")
    interactions: list[Interaction]
    page_info: PageInfo


CustomerInteractionsResult = Annotated[
    InteractionPage | NotFoundError | InvalidInputError, strawberry.union("CustomerInteractionsResult")
]
