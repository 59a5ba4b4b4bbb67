"""Output types of trackers: a tracker, a tracked value (a line of a customer's tracker history), and
the payloads of defining a tracker and adding a value."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeAlias

import strawberry

from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo
from app.organizations.config import OrgConfig
from app.trackers.models import TrackerLevel
from app.trackers.service import BillIdentification, TrackerHistoryRow, TrackerView

strawberry.enum(
    TrackerLevel,
    name="TrackerLevel",
    description="TRANSACTION: a value per bill; LINE_ITEM: a value per line of a bill.",
)  # registers the domain enum itself: the class is the schema's enum
TrackerLevelEnum: TypeAlias = TrackerLevel
strawberry.enum(
    BillIdentification,
    name="BillIdentification",
    description=(
        "LOYALTY_LOG_ID: the transaction id addTransaction returned; STANDARD_FIELDS: bill number, transaction date, "
        "store."
    ),
)  # registers the domain enum itself: the class is the schema's enum
BillIdentificationEnum: TypeAlias = BillIdentification


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


@strawberry.type
class TrackerDefined:
    tracker: Tracker
    created: bool = strawberry.field(description="False when a tracker with this code was updated (or left as it was).")


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


TrackerHistoryResult = Annotated[
    TrackerHistoryPage | NotFoundError | InvalidInputError, strawberry.union("TrackerHistoryResult")
]
