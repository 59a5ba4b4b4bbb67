"""Output types of the points ledger: entry pages and closing balances of a customer, the
reconciliation of an organisation's accounts, and the conversion of TRIGGER_BASED points."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any, NamedTuple, TypeAlias

import strawberry
from strawberry.scalars import JSON

from app.conversions.service import TriggerConversion
from app.customer_promotions.service import PromotionView
from app.graphql.core.context import Info
from app.graphql.core.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo
from app.graphql.core.row_objects import RowForm, RowObjects, build_from_row
from app.graphql.customers.types import Customer
from app.graphql.organization.types import PointsCategoryEnum
from app.kernel.currencies import CurrencyCategory, account_category
from app.kernel.enums import PointsCategory
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.ledger.service import ReconciliationReport
from app.organizations.config import OrgConfig, ProgramConfig, StoreConfig, TillConfig
from app.outbox.feed import FeedEvent

strawberry.enum(EntryType, name="EntryType")  # registers the domain enum itself: the class is the schema's enum
EntryTypeEnum: TypeAlias = EntryType
strawberry.enum(EventType, name="LedgerEventType")  # registers the domain enum itself: the class is the schema's enum
EventTypeEnum: TypeAlias = EventType
strawberry.enum(EntryKind, name="LedgerEntryKind")  # registers the domain enum itself: the class is the schema's enum
EntryKindEnum: TypeAlias = EntryKind

# Stored values to members, built once: calling an Enum class costs about a microsecond, and a
# 100-entry page made 500 such calls.
_EVENT_TYPES = {member.value: member for member in EventType}
_ENTRY_KINDS = {member.value: member for member in EntryKind}
_ENTRY_TYPES = {member.value: member for member in EntryType}
_POINTS_CATEGORIES = {member.value: member for member in PointsCategory}


@strawberry.type
class LedgerEntry:
    id: strawberry.ID
    event_log_id: strawberry.ID
    event_type: EventTypeEnum
    entry_kind: EntryKindEnum
    entry_type: EntryTypeEnum
    created_at: datetime
    program_code: str
    points_category: PointsCategoryEnum = strawberry.field(
        description="REGULAR on an alternate currency's entries (a currency's units are spendable once earned)."
    )
    points: Decimal = strawberry.field(description="Points, or units of the entry's alternate currency.")
    points_on_event: Decimal = strawberry.field(description="The net of all the event's credits and debits.")
    balance_after: Decimal = strawberry.field(description="The account's balance after this entry.")
    event_source: str | None
    store_code: str | None
    till_code: str | None
    transaction_id: strawberry.ID | None = strawberry.field(description="On TRANSACTION_ADD events.")
    transaction_number: str | None
    customer_promotion: LedgerEntryPromotion | None = strawberry.field(
        default=None, description="On CUSTOMER_PROMOTION events: the points promotion that awarded the points."
    )
    tracker_value_id: strawberry.ID | None = strawberry.field(
        default=None, description="On TRACKER_POINTS events: the tracked value the points were issued on."
    )
    reason: str | None = strawberry.field(
        default=None, description="On POINTS_IMPORT events: the reason column of the imported row."
    )
    import_job_id: strawberry.ID | None = strawberry.field(
        default=None, description="On POINTS_IMPORT events: the import job that wrote it."
    )
    alternate_currency: str | None = strawberry.field(
        default=None, description="The identifier of the entry's alternate currency; empty on points entries."
    )

    @strawberry.field(
        description=(
            "The lot trace: each lot this entry took points from (a redemption, expiry, return, transfer, merge or "
            "debit adjustment consumes lots first-expiring first), with the earn that made the lot, in the order "
            "consumed. Empty for an entry that consumed no lot (most credits)."
        )
    )
    async def consumed_lots(self, info: Info) -> list[ConsumedLot]:
        # One query (and one for subledger codes) for every entry of the page (a DataLoader).
        return [
            ConsumedLot(
                earn_entry_id=strawberry.ID(str(lot.earn_entry_id)),
                earn_event_log_id=strawberry.ID(str(lot.earn_event_id)),
                points=lot.points,
                earned_at=lot.earned_at,
                active_from=lot.active_from,
                expires_at=lot.expires_at,
                subledger_code=code,
            )
            for lot, code in await info.context.consumed_lots.load(int(self.id))
        ]

    @classmethod
    def from_row(cls, view: ledger.LedgerEntryView, context: EntryContext) -> LedgerEntry:
        return build_from_row(cls, LEDGER_ENTRY_FORM, view, context)

    @classmethod
    def page_of(
        cls, views: Sequence[ledger.LedgerEntryView], org: OrgConfig, promotions: dict[int, PromotionView]
    ) -> RowObjects[LedgerEntry, ledger.LedgerEntryView, EntryContext]:
        """A page's entries, read from the views as a document selects them (core/row_objects.py)."""
        return RowObjects(views, LEDGER_ENTRY_FORM, EntryContext(org, promotions), cls.from_row)


class EntryContext(NamedTuple):
    """What an entry's view needs to become the entry: the organisation's codes, the page's promotions."""

    org: OrgConfig
    promotions: dict[int, PromotionView]


def _promotion(view: ledger.LedgerEntryView, context: EntryContext) -> LedgerEntryPromotion | None:
    promotion = context.promotions.get(view.customer_promotion_id) if view.customer_promotion_id else None
    return LedgerEntryPromotion(identifier=promotion.identifier, name=promotion.name) if promotion else None


def _id_or_none(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value else None


def _points_category(stored: str) -> PointsCategory:
    """A stored category as the points category shown: an alternate currency's accounts show REGULAR."""
    points_category = _POINTS_CATEGORIES.get(stored)
    if points_category is not None:
        return points_category
    category = account_category(stored)
    return category if isinstance(category, PointsCategory) else PointsCategory.REGULAR


def _currency_identifier(stored: str) -> str | None:
    if stored in _POINTS_CATEGORIES:
        return None
    category = account_category(stored)
    return category.identifier if isinstance(category, CurrencyCategory) else None


def _code(found: ProgramConfig | StoreConfig | TillConfig | None) -> str | None:
    return found.code if found is not None else None


def _by_category(read: Callable[[str], Any]) -> Callable[[ledger.LedgerEntryView, EntryContext], Any]:
    """A reader of what the entry's stored category gives, None where no account category reads it."""

    def read_category(view: ledger.LedgerEntryView, _: EntryContext) -> Any:
        try:
            return read(view.category)
        except ValueError:
            return None

    return read_category


# Each attribute of a LedgerEntry, read from its view: `from_row` builds entries with it, and a page
# answered as RowObjects serves the selected attributes from the views with it. No reader raises (a
# code the organisation no longer has reads as None): a built entry reads every attribute, the rows
# only the selected ones, and both must fail alike.
LEDGER_ENTRY_FORM: RowForm[ledger.LedgerEntryView, EntryContext] = MappingProxyType(
    {
        "id": lambda view, _: strawberry.ID(str(view.id)),
        "event_log_id": lambda view, _: strawberry.ID(str(view.event_id)),
        "event_type": lambda view, _: _EVENT_TYPES.get(view.event_type),
        "entry_kind": lambda view, _: _ENTRY_KINDS.get(view.entry_kind),
        "entry_type": lambda view, _: _ENTRY_TYPES.get(view.entry_type),
        "created_at": lambda view, _: view.created_at,
        "program_code": lambda view, context: _code(context.org.program_or_none(view.program_id)),
        "points_category": _by_category(_points_category),
        "alternate_currency": _by_category(_currency_identifier),
        "points": lambda view, _: view.points,
        "points_on_event": lambda view, _: view.points_on_event,
        "balance_after": lambda view, _: view.balance_after,
        "event_source": lambda view, _: view.source,
        "store_code": lambda view, context: _code(context.org.store_or_none(view.store_id)) if view.store_id else None,
        "till_code": lambda view, context: _code(context.org.till_or_none(view.till_id)) if view.till_id else None,
        "transaction_id": lambda view, _: _id_or_none(view.transaction_id),
        "transaction_number": lambda view, _: view.transaction_number,
        "customer_promotion": _promotion,
        "tracker_value_id": lambda view, _: _id_or_none(view.tracker_value_id),
        "reason": lambda view, _: view.reason,
        "import_job_id": lambda view, _: _id_or_none(view.import_job_id),
    }
)


@strawberry.type(description="Points an entry took from one lot, and the earn (credit entry) that made the lot.")
class ConsumedLot:
    earn_entry_id: strawberry.ID = strawberry.field(description="The credit entry that made the lot.")
    earn_event_log_id: strawberry.ID
    points: Decimal = strawberry.field(description="What this entry took from the lot.")
    earned_at: datetime
    active_from: datetime
    expires_at: datetime | None
    subledger_code: str | None


@strawberry.type(description="The points promotion of a CUSTOMER_PROMOTION entry.")
class LedgerEntryPromotion:
    identifier: str
    name: str


@strawberry.type
class LedgerEntryPage:
    customer_id: strawberry.ID
    entries: Sequence[LedgerEntry]  # a page answers RowObjects (core/row_objects.py)
    page_info: PageInfo

    @strawberry.field(description="The customer's basic details, as seed 003's ledger response carries them.")
    async def customer(self, info: Info) -> Customer | None:
        view = await info.context.customers.load(int(self.customer_id))
        return Customer.from_view(view) if view is not None else None


@strawberry.type
class LedgerClosingBalance:
    customer_id: strawberry.ID
    balance: Decimal
    as_of_entry_id: strawberry.ID | None = strawberry.field(
        description="The view's last entry; empty for an empty view."
    )


LedgerEntriesResult = Annotated[
    LedgerEntryPage | NotFoundError | InvalidInputError, strawberry.union("LedgerEntriesResult")
]
LedgerClosingBalanceResult = Annotated[
    LedgerClosingBalance | NotFoundError | InvalidInputError, strawberry.union("LedgerClosingBalanceResult")
]


@strawberry.type(description="An account whose stored figure differs from what its ledger entries give.")
class ReconciliationDiscrepancy:
    account_id: strawberry.ID
    customer_id: strawberry.ID
    program_code: str
    category: PointsCategoryEnum
    check: str = strawberry.field(
        description=(
            "balance, a counter (earned, redeemed, expired, returned, adjusted), last_balance_after, "
            "opening_balance_entry, lots_total, or 'lot N remaining'."
        )
    )
    stored: Decimal
    computed: Decimal = strawberry.field(description="What the ledger entries (or lot movements) give.")


@strawberry.type(description="Every account of the organisation recomputed from its ledger.")
class Reconciliation:
    checked_accounts: int
    discrepancies: list[ReconciliationDiscrepancy] = strawberry.field(description="Empty when every account agrees.")

    @classmethod
    def from_report(cls, report: ReconciliationReport, org: OrgConfig) -> Reconciliation:
        return cls(
            checked_accounts=report.checked_accounts,
            discrepancies=[
                ReconciliationDiscrepancy(
                    account_id=strawberry.ID(str(item.account_id)),
                    customer_id=strawberry.ID(str(item.customer_id)),
                    program_code=org.program(item.program_id).code,
                    category=_points_category(item.category),
                    check=item.counter,
                    stored=item.stored,
                    computed=item.from_entries,
                )
                for item in report.discrepancies
            ],
        )


ReconciliationResult = Annotated[Reconciliation | ForbiddenError, strawberry.union("ReconciliationResult")]


@strawberry.type
class ConvertedPoints:
    program_code: str
    points: Decimal


@strawberry.type(
    description=(
        "One TRIGGER_BASED_POINTS_CONVERSION event: per program, a debit on the TRIGGER_BASED account and a credit on "
        "the REGULAR account with the same expiry dates; its points_on_event is 0."
    )
)
class TriggerBasedPointsConverted:
    replayed: bool = strawberry.field(
        description="True when this idempotency key converted before: nothing was written."
    )
    event_log_id: strawberry.ID
    user_id: strawberry.ID
    points: Decimal = strawberry.field(description="All points converted, over all programs.")
    programs: list[ConvertedPoints]

    @strawberry.field(description="The customer as they are now.")
    async def customer(self, info: Info) -> Customer | None:
        view = await info.context.customers.load(int(self.user_id))
        return Customer.from_view(view) if view is not None else None

    @classmethod
    def from_conversion(cls, result: TriggerConversion, org: OrgConfig) -> TriggerBasedPointsConverted:
        return cls(
            replayed=result.replayed,
            event_log_id=strawberry.ID(str(result.event_id)),
            user_id=strawberry.ID(str(result.customer_id)),
            points=result.points,
            programs=[
                ConvertedPoints(program_code=org.program(program_id).code, points=points)
                for program_id, points in result.points_by_program
            ],
        )


@strawberry.type(
    description=(
        "An event of the customer's (the outbox's: the same id, type and payload a webhook delivers), in the order "
        "it committed. Resume a subscription after a reconnect with `after` set to the last id you saw."
    )
)
class CustomerEvent:
    id: strawberry.ID
    type: str = strawberry.field(description="e.g. transaction.added, points.earned (the README's events table).")
    created_at: datetime
    payload: JSON = strawberry.field(description="Versioned (`version`); the README's events table documents it.")

    @classmethod
    def from_view(cls, event: FeedEvent) -> CustomerEvent:
        return cls(
            id=strawberry.ID(str(event.id)), type=event.type, created_at=event.created_at, payload=JSON(event.payload)
        )


CustomerLedgerResult = Annotated[
    CustomerEvent | NotFoundError | InvalidInputError, strawberry.union("CustomerLedgerResult")
]
