"""Input types of behavioural events."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from app.behavioural_events.views import BehaviouralEventInput, EventFilter
from app.graphql.behavioural_events.types import EventSourceEnum
from app.graphql.customers.inputs import CustomerLookupInput


@strawberry.input(name="BehaviouralEventInput", description="An event a brand's system reports about a customer.")
class BehaviouralEventInputType:
    customer: CustomerLookupInput
    tracking_id: str = strawberry.field(
        description="Identifies the event: it is recorded once (at most 200 characters)."
    )
    event_name: str = strawberry.field(description="At most 100 characters.")
    occurred_at: datetime = strawberry.field(description="When it happened, with a time zone offset.")
    source: EventSourceEnum
    account_id: str | None = strawberry.field(default=None, description="At most 100 characters.")
    till_code: str | None = strawberry.field(
        default=None,
        description="The till the integration tags the event with; an attribute `tillCode` of the event wins over it.",
    )
    attributes: JSON | None = strawberry.field(
        default=None, description="A JSON object: at most 50 keys, 4 levels and 4,000 characters as JSON."
    )

    def to_domain(self) -> BehaviouralEventInput:
        return BehaviouralEventInput(
            customer=self.customer.to_domain(),
            tracking_id=self.tracking_id,
            event_name=self.event_name,
            occurred_at=self.occurred_at,
            source=self.source,
            account_id=self.account_id,
            till_code=self.till_code,
            attributes=self.attributes,  # type: ignore[arg-type]  # checked to be an object by the service
        )


@strawberry.input(description="Member care's filters of a customer's behavioural events; all are optional.")
class BehaviouralEventFilterInput:
    event_name: str | None = None
    source: EventSourceEnum | None = None
    start_date: date | None = strawberry.field(default=None, description="From this day, in the org's time zone.")
    end_date: date | None = strawberry.field(default=None, description="To this day included, in the org's time zone.")

    def to_domain(self) -> EventFilter:
        return EventFilter(
            event_name=self.event_name, source=self.source, start_date=self.start_date, end_date=self.end_date
        )
