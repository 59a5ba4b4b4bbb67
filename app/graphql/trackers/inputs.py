"""Input types of trackers: a tracker's definition, and a value tracked on a bill."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.trackers.types import BillIdentificationEnum, TrackerLevelEnum
from app.graphql.user_groups.inputs import UserGroupLookupInput
from app.trackers import service
from app.trackers.models import TrackerLevel
from app.trackers.service import BillIdentification


@strawberry.input
class DefineTrackerInput:
    code: str = strawberry.field(description="Unique in the organisation; an existing code is updated.")
    name: str
    level: TrackerLevelEnum = strawberry.field(description="Fixed once the tracker exists.")
    program_code: str | None = strawberry.field(default=None, description="The org's default program when omitted.")
    points_per_unit: Decimal = strawberry.field(
        default=Decimal(0), description="0 to 1,000,000; 0 tracks without points."
    )

    def to_domain(self) -> service.TrackerRequest:
        return service.TrackerRequest(
            code=self.code,
            name=self.name,
            level=TrackerLevel(self.level),
            program_code=self.program_code,
            points_per_unit=self.points_per_unit,
        )


@strawberry.input(description="The bill a value is tracked on (the seed's Identification of Bill).")
class TrackedBillInput:
    identification: BillIdentificationEnum
    loyalty_log_id: strawberry.ID | None = strawberry.field(
        default=None, description="With LOYALTY_LOG_ID: the transaction id."
    )
    bill_number: str | None = strawberry.field(default=None, description="With STANDARD_FIELDS.")
    transaction_date: date | None = strawberry.field(
        default=None, description="With STANDARD_FIELDS: the bill's date in the organisation's time zone."
    )
    store_code: str | None = strawberry.field(default=None, description="With STANDARD_FIELDS.")

    def to_domain(self) -> service.BillInput:
        return service.BillInput(
            BillIdentification(self.identification),
            self.loyalty_log_id,
            self.bill_number,
            self.transaction_date,
            self.store_code,
        )


@strawberry.input(description="A value tracked on a bill of a customer (or of a user group's member, for the group).")
class AddTrackerValueInput:
    tracker_code: str
    customer: CustomerLookupInput | None = strawberry.field(
        default=None, description="Exactly one of customer and userGroup."
    )
    user_group: UserGroupLookupInput | None = None
    bill: TrackedBillInput
    line_item_serial: int | None = strawberry.field(
        default=None, description="The line's serial on the bill: LINE_ITEM trackers only."
    )
    value: Decimal = strawberry.field(description="At most 4 decimal places; only a value above 0 issues points.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> service.AddValueRequest:
        return service.AddValueRequest(
            tracker_code=self.tracker_code,
            customer=self.customer.to_domain() if self.customer else None,
            user_group=self.user_group.to_domain() if self.user_group else None,
            bill=self.bill.to_domain(),
            value=self.value,
            line_item_serial=self.line_item_serial,
            idempotency_key=self.idempotency_key,
        )
