"""Trackers: defineTracker, trackers, addTrackerValue and the customer's loyalty tracker history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, PageInfo, check_page_size, decode_id_cursor, encode_id_cursor
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.user_groups.inputs import UserGroupLookupInput
from app.organizations.config import OrgConfig
from app.trackers import service
from app.trackers.models import TrackerLevel
from app.trackers.service import BillIdentification, TrackerHistoryRow, TrackerView

TrackerLevelEnum = strawberry.enum(
    TrackerLevel,
    name="TrackerLevel",
    description="TRANSACTION: a value per bill; LINE_ITEM: a value per line of a bill.",
)
BillIdentificationEnum = strawberry.enum(
    BillIdentification,
    name="BillIdentification",
    description="LOYALTY_LOG_ID: the transaction id addTransaction returned; STANDARD_FIELDS: bill number, transaction date, store.",
)


@strawberry.type(description="Something an org tracks on bills, and the points it issues per unit.")
class Tracker:
    code: str
    name: str
    level: TrackerLevelEnum
    program_code: str
    points_per_unit: Decimal = strawberry.field(
        description="Points per unit of tracked value, rounded by the program's rule."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_view(cls, view: TrackerView, org: OrgConfig) -> Tracker:
        return cls(
            code=view.code,
            name=view.name,
            level=view.level,
            program_code=org.program(view.program_id).code,
            points_per_unit=view.points_per_unit,
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


@strawberry.input
class DefineTrackerInput:
    code: str = strawberry.field(description="Unique in the organisation; an existing code is updated.")
    name: str
    level: TrackerLevelEnum = strawberry.field(description="Fixed once the tracker exists.")
    program_code: str | None = strawberry.field(default=None, description="The org's default program when omitted.")
    points_per_unit: Decimal = strawberry.field(
        default=Decimal(0), description="0 to 1,000,000; 0 tracks without points."
    )


@strawberry.type
class TrackerDefined:
    tracker: Tracker
    created: bool = strawberry.field(description="False when a tracker with this code was updated (or left as it was).")


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


@strawberry.type(description="A tracked value: one line of a customer's loyalty tracker history.")
class TrackedValue:
    id: strawberry.ID
    tracker_code: str
    tracker_name: str
    level: TrackerLevelEnum
    user_id: strawberry.ID = strawberry.field(
        description="The account the points went to (a customer's, or a group's)."
    )
    transaction_id: strawberry.ID = strawberry.field(description="The bill (its loyalty log id).")
    bill_number: str
    billing_time: datetime
    store_code: str
    bill_user_id: strawberry.ID | None = strawberry.field(description="Whose bill it is (for a group, the member's).")
    line_item_serial: int | None
    item_code: str | None
    value: Decimal
    points: Decimal = strawberry.field(description="Points issued on this value (0: none).")
    event_log_id: strawberry.ID | None = strawberry.field(
        description="The TRACKER_POINTS ledger event; empty without points."
    )
    created_at: datetime

    @classmethod
    def from_row(cls, row: TrackerHistoryRow, tracker: TrackerView, org: OrgConfig) -> TrackedValue:
        return cls(
            id=strawberry.ID(str(row.id)),
            tracker_code=tracker.code,
            tracker_name=tracker.name,
            level=tracker.level,
            user_id=strawberry.ID(str(row.customer_id)),
            transaction_id=strawberry.ID(str(row.transaction_id)),
            bill_number=row.bill_number,
            billing_time=row.billing_time,
            store_code=org.store(row.store_id).code,
            bill_user_id=strawberry.ID(str(row.bill_customer_id)) if row.bill_customer_id else None,
            line_item_serial=row.line_item_serial,
            item_code=row.item_code,
            value=row.value,
            points=row.points,
            event_log_id=strawberry.ID(str(row.event_id)) if row.event_id else None,
            created_at=row.created_at,
        )


@strawberry.type
class TrackerValueAdded:
    tracked_value: TrackedValue
    balance_after: Decimal | None = strawberry.field(
        description="The REGULAR balance after the points; empty without points."
    )
    replayed: bool


@strawberry.type
class TrackerHistoryPage:
    customer_id: strawberry.ID
    records: list[TrackedValue]
    page_info: PageInfo


DefineTrackerResult = Annotated[
    TrackerDefined | InvalidInputError | NotFoundError | ConflictError, strawberry.union("DefineTrackerResult")
]
AddTrackerValueResult = Annotated[
    TrackerValueAdded | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("AddTrackerValueResult"),
]
TrackerHistoryResult = Annotated[
    TrackerHistoryPage | NotFoundError | InvalidInputError, strawberry.union("TrackerHistoryResult")
]


@strawberry.type
class TrackerMutation:
    @strawberry.mutation(description="Create a tracker, or update the one with this code (later values only).")
    async def define_tracker(self, info: Info, input: DefineTrackerInput) -> DefineTrackerResult:
        org = info.context.org
        defined = await service.define_tracker(
            info.context.database,
            org,
            service.TrackerRequest(
                code=input.code,
                name=input.name,
                level=TrackerLevel(input.level),
                program_code=input.program_code,
                points_per_unit=input.points_per_unit,
            ),
            now=info.context.now,
        )
        return TrackerDefined(tracker=Tracker.from_view(defined.tracker, org), created=defined.created)

    @strawberry.mutation(
        description=(
            "Track a value on an existing bill; points it issues are a TRACKER_POINTS ledger credit to the customer "
            "(or the group)."
        )
    )
    async def add_tracker_value(self, info: Info, input: AddTrackerValueInput) -> AddTrackerValueResult:
        org = info.context.org
        result = await service.add_tracker_value(info.context.database, org, input.to_domain(), now=info.context.now)
        async with info.context.database.read() as connection:
            trackers = {tracker.id: tracker for tracker in (await service.find_trackers(connection, org.id)).values()}
        return TrackerValueAdded(
            tracked_value=TrackedValue.from_row(result.value, trackers[result.value.tracker_id], org),
            balance_after=result.balance_after,
            replayed=result.replayed,
        )


@strawberry.type
class TrackerQuery:
    @strawberry.field(description="The organisation's trackers, by code.")
    async def trackers(self, info: Info) -> list[Tracker]:
        async with info.context.database.read() as connection:
            found = await service.find_trackers(connection, info.context.org.id)
        return [Tracker.from_view(view, info.context.org) for view in found.values()]

    @strawberry.field(
        description=(
            "A customer's loyalty tracker history, newest first (a group's with its userId). At most 100 a page."
        )
    )
    async def customer_tracker_history(
        self,
        info: Info,
        customer: CustomerLookupInput,
        tracker_code: str | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> TrackerHistoryResult:
        org = info.context.org
        check_page_size(first)
        after_id = decode_id_cursor("tracked", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            trackers = await service.find_trackers(connection, org.id)
            tracker_id = None
            if tracker_code is not None:
                tracker_id = (await service.find_tracker(connection, org.id, tracker_code, "trackerCode")).id
            rows, has_next_page = await service.tracker_history(
                connection,
                org_id=org.id,
                customer_id=customer_id,
                first=first,
                after_id=after_id,
                tracker_id=tracker_id,
            )
        by_id = {tracker.id: tracker for tracker in trackers.values()}
        return TrackerHistoryPage(
            customer_id=strawberry.ID(str(customer_id)),
            records=[TrackedValue.from_row(row, by_id[row.tracker_id], org) for row in rows],
            page_info=PageInfo(
                has_next_page=has_next_page, end_cursor=encode_id_cursor("tracked", rows[-1].id) if rows else None
            ),
        )
