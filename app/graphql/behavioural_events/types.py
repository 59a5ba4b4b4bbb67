"""Output types of behavioural events: an event with its time in UTC, in the organisation's time
zone, and its local date (seed 004's Date column)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, TypeAlias

import strawberry
from strawberry.scalars import JSON

from app.behavioural_events.views import BehaviouralEventView, EventRecorded, EventSource
from app.graphql.core.errors import ConflictError, InternalError, InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo
from app.kernel.times import local_day, local_iso
from app.organizations.config import OrgConfig

strawberry.enum(
    EventSource, name="BehaviouralEventSource", description="The system that captured the event."
)  # registers the domain enum itself: the class is the schema's enum
EventSourceEnum: TypeAlias = EventSource


@strawberry.type(
    description="Something a brand's system reports a customer did (member care's Behavioural Events tab)."
)
class BehaviouralEvent:
    id: strawberry.ID
    user_id: strawberry.ID = strawberry.field(description="The customer.")
    tracking_id: str
    event_name: str
    occurred_at: datetime = strawberry.field(description="UTC.")
    occurred_at_local: str = strawberry.field(description="The same moment in the organisation's time zone (ISO 8601).")
    date: date = strawberry.field(description="The day it happened, in the organisation's time zone.")
    source: EventSourceEnum
    account_id: str | None = strawberry.field(description="The source's account, for sources with several (WeChat).")
    till_code: str | None = strawberry.field(
        description="The event's own tillCode attribute when it has one, else the till code the integration sent."
    )
    attributes: JSON | None
    recorded_at: datetime = strawberry.field(description="When the product recorded it.")

    @classmethod
    def from_view(cls, view: BehaviouralEventView, org: OrgConfig) -> BehaviouralEvent:
        return cls(
            id=strawberry.ID(str(view.id)),
            user_id=strawberry.ID(str(view.customer_id)),
            tracking_id=view.tracking_id,
            event_name=view.event_name,
            occurred_at=view.occurred_at,
            occurred_at_local=local_iso(view.occurred_at, org.time_zone),
            date=local_day(view.occurred_at, org.time_zone),
            source=view.source,
            account_id=view.account_id,
            till_code=view.till_code,
            attributes=JSON(view.attributes) if view.attributes is not None else None,
            recorded_at=view.recorded_at,
        )


@strawberry.type(description="The event as recorded (or, sent again with the same payload, as it was recorded).")
class BehaviouralEventRecorded:
    event: BehaviouralEvent
    replayed: bool = strawberry.field(description="True when the tracking id was recorded before: nothing was written.")

    @classmethod
    def from_result(cls, result: EventRecorded, org: OrgConfig) -> BehaviouralEventRecorded:
        return cls(event=BehaviouralEvent.from_view(result.event, org), replayed=result.replayed)


RecordBehaviouralEventResult = Annotated[
    BehaviouralEventRecorded | InvalidInputError | NotFoundError | ConflictError | InternalError,
    strawberry.union("RecordBehaviouralEventResult"),
]


@strawberry.type
class BehaviouralEventPage:
    customer_id: strawberry.ID
    time_zone: str = strawberry.field(description="The organisation's time zone: of the dates and local times.")
    events: list[BehaviouralEvent]
    page_info: PageInfo


CustomerBehaviouralEventsResult = Annotated[
    BehaviouralEventPage | NotFoundError | InvalidInputError, strawberry.union("CustomerBehaviouralEventsResult")
]
