"""The member-care lists a download serves: one declaration each (its columns, its filters, how
to read one page of it). The route, the roles (OPERATION_ROLES, "GET /downloads/<name>.{format}"),
the streaming and both file formats come from app/http/downloads/routes.py.

To add a list: write its columns and a `fetch` that reads one keyset page of rows (newest first,
below `after_id`, at most `size`), name the GraphQL query whose roles and filters it shares, and
append it to LISTS; then declare its route in OPERATION_ROLES with that query's roles.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from app.behavioural_events import service as behavioural_events
from app.behavioural_events.views import BehaviouralEventView, EventFilter, EventSource
from app.customer_promotions import service as customer_promotions
from app.customer_promotions.service import PromotionAwardRecord, promotions_by_id
from app.customers.history import HistoryRecord, history_page, identifier_history_page
from app.customers.models import HistoryAction
from app.customers.tiers import TierChangeRecord, history_program_id, tier_history_page
from app.graphql.customers.types import IDENTIFIER_CHANGE_ACTIONS
from app.graphql.ledger.inputs import LedgerFilterInput
from app.graphql.transfers.inputs import PointsTransferFilterInput, TransferKind
from app.graphql.transfers.types import PointsTransferType
from app.http.downloads.params import Params
from app.http.downloads.sheets import LOCAL_TIME_FORMAT, Column, Kind, Row
from app.interactions import service as interactions
from app.interactions.views import Channel, InteractionView
from app.kernel.enums import PointsCategory, TransactionSource
from app.kernel.times import local_day
from app.leads import service as leads
from app.leads.models import LeadStatus
from app.leads.views import LeadView
from app.ledger import expiry
from app.ledger import service as ledger
from app.ledger.models import EntryType
from app.ledger.views import ExpiredPoints, LedgerEntryView, ScheduledExpiry
from app.organizations.config import OrgConfig, TierConfig
from app.promotions import coupons
from app.promotions.coupons import CouponRedemptionView, CustomerCouponView
from app.promotions.models import CouponStatus
from app.redemptions.service import RedemptionView, customer_redemptions
from app.segments import service as segments
from app.segments.views import SegmentChangeView
from app.trackers import service as trackers
from app.trackers.service import TrackerHistoryRow, TrackerView
from app.transactions.models import TransactionType
from app.transactions.service import TransactionView, bill_numbers, customers_transactions
from app.transfers.service import customer_transfers
from app.transfers.views import TransferView

# Upcoming expiries are (date, program) groups the ledger sums in one read, not a keyset list:
# they come as one page of at most this many groups.
EXPIRY_GROUPS_MAX = 100_000

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    connection: AsyncConnection
    org: OrgConfig
    customer_id: int
    filters: Any  # what the list's `filters` made of the query parameters
    now: datetime
    size: int
    after_id: int | None


@dataclass(frozen=True)
class DownloadList(Generic[Row]):
    name: str  # the file's name and path: /downloads/<name>.csv and .xlsx
    operation: str  # the GraphQL query it downloads: the same roles, the same filters
    columns: tuple[Column[Row], ...]
    fetch: Callable[[PageRequest], Awaitable[tuple[list[Row], bool]]]  # one page, and whether more follow
    cursor: Callable[[Row], int]  # a row's keyset id: the next page starts below the last row's
    filters: Callable[[Params, OrgConfig, datetime], Any] = lambda params, org, now: None
    parameters: frozenset[str] = frozenset()  # the query parameters its filters read


def _text(header: str, value: Callable[[Any], Any]) -> Column[Any]:
    return Column(header, Kind.TEXT, value)


def _number(header: str, value: Callable[[Any], Any]) -> Column[Any]:
    return Column(header, Kind.NUMBER, value)


def _integer(header: str, value: Callable[[Any], Any]) -> Column[Any]:
    return Column(header, Kind.INTEGER, value)


def _time(header: str, value: Callable[[Any], Any]) -> Column[Any]:
    return Column(header, Kind.DATETIME, value)


def _day(header: str, value: Callable[[Any], Any]) -> Column[Any]:
    return Column(header, Kind.DATE, value)


def _with_org(items: Iterable[T], request: PageRequest) -> list[tuple[T, OrgConfig]]:
    """Each item beside the org, whose programs, stores and tills its columns name by code."""
    return [(item, request.org) for item in items]


# Programs, stores and tills go in a sheet by code: a row is (the view, ..., the org at `org_index`).


def _program_code(org_index: int = 1) -> Column[Any]:
    return _text("Program", lambda row: row[org_index].program(row[0].program_id).code)


def _store_code(org_index: int = 1) -> Column[Any]:
    return _text(
        "Store", lambda row: row[org_index].store(row[0].store_id).code if row[0].store_id is not None else None
    )


def _till_code(org_index: int = 1) -> Column[Any]:
    return _text("Till", lambda row: row[org_index].till(row[0].till_id).code if row[0].till_id is not None else None)


# --- Ledger entries (ledgerEntries) ---------------------------------------------------------

LEDGER_FILTERS = frozenset(
    {
        "eventSources",
        "tillCodes",
        "startDate",
        "endDate",
        "entryType",
        "pointsCategories",
        "programCodes",
        "includeTillConceptEvents",
    }
)


def _ledger_filter(params: Params, org: OrgConfig, now: datetime) -> ledger.LedgerFilter:
    """ledgerEntries' `filter`, its fields as query parameters (lists repeated: ?programCodes=a&programCodes=b),
    checked by the same code, with the same default window (the last 7 days)."""
    entry_type = params.enum("entryType", EntryType)
    given = LedgerFilterInput(
        event_sources=params.enums("eventSources", TransactionSource) or None,
        till_codes=params.many("tillCodes") or None,
        start_date=params.datetime("startDate"),
        end_date=params.datetime("endDate"),
        entry_type=entry_type,
        points_categories=params.enums("pointsCategories", PointsCategory) or None,
        program_codes=params.many("programCodes") or None,
        include_till_concept_events=params.flag("includeTillConceptEvents"),
    )
    return given.to_domain(org).with_default_window(now)


LedgerRow = tuple[LedgerEntryView, str | None, OrgConfig]  # the entry, its promotion's identifier, the org


async def _ledger_page(request: PageRequest) -> tuple[list[LedgerRow], bool]:
    page = await ledger.ledger_page(
        request.connection,
        org_id=request.org.id,
        customer_id=request.customer_id,
        view=request.filters,
        first=request.size,
        after_id=request.after_id,
    )
    promotions = await promotions_by_id(
        request.connection, [entry.customer_promotion_id for entry in page.entries if entry.customer_promotion_id]
    )
    rows = [
        (
            entry,
            promotions[entry.customer_promotion_id].identifier if entry.customer_promotion_id else None,
            request.org,
        )
        for entry in page.entries
    ]
    return rows, page.has_next_page


LEDGER_ENTRIES: DownloadList[LedgerRow] = DownloadList(
    name="ledger-entries",
    operation="ledgerEntries",
    columns=(
        _integer("Entry id", lambda row: row[0].id),
        _integer("Event log id", lambda row: row[0].event_id),
        _text("Event type", lambda row: row[0].event_type),
        _text("Entry type", lambda row: row[0].entry_type),
        _text("Entry kind", lambda row: row[0].entry_kind),
        _time("Created at", lambda row: row[0].created_at),
        _program_code(2),
        _text("Points category", lambda row: row[0].category),
        _number("Points", lambda row: row[0].points),
        _number("Points on event", lambda row: row[0].points_on_event),
        _number("Balance after", lambda row: row[0].balance_after),
        _text("Event source", lambda row: row[0].source),
        _store_code(2),
        _till_code(2),
        _integer("Transaction id", lambda row: row[0].transaction_id),
        _text("Transaction number", lambda row: row[0].transaction_number),
        _text("Promotion", lambda row: row[1]),
        _integer("Tracker value id", lambda row: row[0].tracker_value_id),
    ),
    fetch=_ledger_page,
    cursor=lambda row: row[0].id,
    filters=_ledger_filter,
    parameters=LEDGER_FILTERS,
)


# --- Transactions and returns (Customer.transactions) ---------------------------------------

TransactionRow = tuple[TransactionView, OrgConfig]


async def _transactions_page(request: PageRequest) -> tuple[list[TransactionRow], bool]:
    pages = await customers_transactions(
        request.connection, request.org.id, [request.customer_id], request.size, request.after_id, request.filters
    )
    page = pages[request.customer_id]
    return _with_org(page.views, request), page.has_next_page


TRANSACTIONS: DownloadList[TransactionRow] = DownloadList(
    name="transactions",
    operation="customer",
    columns=(
        _integer("Transaction id", lambda row: row[0].id),
        _text("Number", lambda row: row[0].number),
        _text("Type", lambda row: row[0].type),
        _time("Billing time", lambda row: row[0].billing_time),
        _number("Amount", lambda row: row[0].amount),
        _number("Gross amount", lambda row: row[0].gross_amount),
        _number("Discount", lambda row: row[0].discount),
        _number("Eligible amount", lambda row: row[0].eligible_amount),
        _text("Currency", lambda row: row[0].currency_code),
        _number("Points earned", lambda row: row[0].points_earned),
        _number("Returned amount", lambda row: row[0].returned_amount),
        _number("Returned points", lambda row: row[0].returned_points),
        _number("Reversed redemption points", lambda row: row[0].reversed_redemption_points),
        _text("Source", lambda row: row[0].source),
        _text("Store", lambda row: row[1].store(row[0].store_id).code),
        _till_code(),
        _program_code(),
        _text("Notes", lambda row: row[0].notes),
        _text("Not interested reason", lambda row: row[0].not_interested_reason),
        _time("Created at", lambda row: row[0].created_at),
    ),
    fetch=_transactions_page,
    cursor=lambda row: row[0].id,
    # Customer.transactions(types:): the Returns sub-tab is types=RETURN&types=NOT_INTERESTED_RETURN&types=MIXED
    filters=lambda params, org, now: params.enums("types", TransactionType),
    parameters=frozenset({"types"}),
)


# --- Points redemptions (pointsRedemptions) -------------------------------------------------

RedemptionRow = tuple[RedemptionView, OrgConfig]


async def _redemptions_page(request: PageRequest) -> tuple[list[RedemptionRow], bool]:
    views, has_next_page = await customer_redemptions(
        request.connection, request.org.id, request.customer_id, request.size, request.after_id
    )
    return _with_org(views, request), has_next_page


POINTS_REDEMPTIONS: DownloadList[RedemptionRow] = DownloadList(
    name="points-redemptions",
    operation="pointsRedemptions",
    columns=(
        _integer("Redemption id", lambda row: row[0].id),
        _time("Redeemed at", lambda row: row[0].redeemed_at),
        _number("Points", lambda row: row[0].points),
        _number("Points reversed", lambda row: row[0].points_reversed),
        _text("Status", lambda row: row[0].status),
        _text("Programs", lambda row: " ".join(row[1].program(share.program_id).code for share in row[0].programs)),
        _number("Balance after", lambda row: row[0].balance_after),
        _text("Source", lambda row: row[0].source),
        _store_code(),
        _till_code(),
        _integer("Transaction id", lambda row: row[0].transaction_id),
        _text("External reference", lambda row: row[0].external_reference),
        _text("Notes", lambda row: row[0].notes),
        _integer("Event log id", lambda row: row[0].event_id),
    ),
    fetch=_redemptions_page,
    cursor=lambda row: row[0].id,
)


# --- Expiry schedule and expired points (Customer.expirySchedule, Customer.expiredPoints) ---

ScheduleRow = tuple[ScheduledExpiry, OrgConfig]


async def _schedule_page(request: PageRequest) -> tuple[list[ScheduleRow], bool]:
    schedules = await expiry.expiry_schedules(
        request.connection, [request.customer_id], request.now, request.org.time_zone, EXPIRY_GROUPS_MAX
    )
    return _with_org(schedules.get(request.customer_id, []), request), False


EXPIRY_SCHEDULE: DownloadList[ScheduleRow] = DownloadList(
    name="expiry-schedule",
    operation="customer",
    columns=(
        _day("Expires on", lambda row: row[0].date),
        _program_code(),
        _number("Points", lambda row: row[0].points),
    ),
    fetch=_schedule_page,
    cursor=lambda row: 0,  # one page
)

ExpiredRow = tuple[ExpiredPoints, OrgConfig]


async def _expired_page(request: PageRequest) -> tuple[list[ExpiredRow], bool]:
    pages = await expiry.expired_points(request.connection, [request.customer_id], request.size, request.after_id)
    page = pages[request.customer_id]
    return _with_org(page.items, request), page.has_next_page


EXPIRED_POINTS: DownloadList[ExpiredRow] = DownloadList(
    name="expired-points",
    operation="customer",
    columns=(
        _integer("Event log id", lambda row: row[0].event_id),
        _day("Expired on", lambda row: local_day(row[0].expired_at, row[1].time_zone)),
        _time("Expired at", lambda row: row[0].expired_at),
        _program_code(),
        _text("Points category", lambda row: row[0].category),
        _number("Points", lambda row: row[0].points),
    ),
    fetch=_expired_page,
    cursor=lambda row: row[0].entry_id,
)


# --- Points transfers (customerPointsTransfers) ---------------------------------------------

TransferRow = tuple[TransferView, int, OrgConfig]  # the transfer, whose list it is, the org


async def _transfers_page(request: PageRequest) -> tuple[list[TransferRow], bool]:
    views, has_next_page = await customer_transfers(
        request.connection,
        org_id=request.org.id,
        customer_id=request.customer_id,
        first=request.size,
        after_event_id=request.after_id,
        shown=request.filters,
    )
    return [(view, request.customer_id, request.org) for view in views], has_next_page


def _sent(row: TransferRow) -> bool:
    return row[0].from_customer_id == row[1]


POINTS_TRANSFERS: DownloadList[TransferRow] = DownloadList(
    name="points-transfers",
    operation="customerPointsTransfers",
    columns=(
        _text(
            "Transfer type",
            lambda row: (PointsTransferType.DEDUCTION if _sent(row) else PointsTransferType.ADDITION).value,
        ),
        _integer("Transfer id", lambda row: row[0].id),
        _integer("From user id", lambda row: None if _sent(row) else row[0].from_customer_id),
        _integer("To user id", lambda row: row[0].to_customer_id if _sent(row) else None),
        _program_code(2),
        _text("Program name", lambda row: row[2].program(row[0].program_id).name),
        _number("Points", lambda row: row[0].points),
        _text("Notes", lambda row: row[0].notes),
        _time("Created at", lambda row: row[0].created_at),
        _text("Alternate currency", lambda row: row[0].alternate_currency),
        _integer("Event log id", lambda row: row[0].event_id),
    ),
    fetch=_transfers_page,
    cursor=lambda row: row[0].event_id,  # the list's order: points and currency transfers together
    # customerPointsTransfers' `filter`, its fields as query parameters, checked by the same code.
    filters=lambda params, org, now: PointsTransferFilterInput(
        kind=params.enum("kind", TransferKind), alternate_currency=params.one("alternateCurrency")
    ).to_domain(org),
    parameters=frozenset({"kind", "alternateCurrency"}),
)


# --- Loyalty tracker history (customerTrackerHistory) ---------------------------------------

TrackedRow = tuple[TrackerHistoryRow, TrackerView, OrgConfig]


async def _tracked_page(request: PageRequest) -> tuple[list[TrackedRow], bool]:
    code = request.filters
    # One read of the org's trackers per page names every row's tracker and checks the filter's code.
    found = await trackers.find_trackers(request.connection, request.org.id)
    tracker_id = None if code is None else trackers.tracker_named(found, code, "trackerCode").id
    by_id = {tracker.id: tracker for tracker in found.values()}
    rows, has_next_page = await trackers.tracker_history(
        request.connection,
        org_id=request.org.id,
        customer_id=request.customer_id,
        first=request.size,
        after_id=request.after_id,
        tracker_id=tracker_id,
    )
    return [(row, by_id[row.tracker_id], request.org) for row in rows], has_next_page


TRACKER_HISTORY: DownloadList[TrackedRow] = DownloadList(
    name="tracker-history",
    operation="customerTrackerHistory",
    columns=(
        _integer("Id", lambda row: row[0].id),
        _text("Tracker", lambda row: row[1].code),
        _text("Tracker name", lambda row: row[1].name),
        _text("Level", lambda row: row[1].level),
        _integer("User id", lambda row: row[0].customer_id),
        _integer("Transaction id", lambda row: row[0].transaction_id),
        _text("Bill number", lambda row: row[0].bill_number),
        _time("Billing time", lambda row: row[0].billing_time),
        _text("Store", lambda row: row[2].store(row[0].store_id).code),
        _integer("Bill user id", lambda row: row[0].bill_customer_id),
        _integer("Line item serial", lambda row: row[0].line_item_serial),
        _text("Item code", lambda row: row[0].item_code),
        _number("Value", lambda row: row[0].value),
        _number("Points", lambda row: row[0].points),
        _integer("Event log id", lambda row: row[0].event_id),
        _time("Created at", lambda row: row[0].created_at),
    ),
    fetch=_tracked_page,
    cursor=lambda row: row[0].id,
    filters=lambda params, org, now: params.one("trackerCode"),
    parameters=frozenset({"trackerCode"}),
)


# --- Customer (identifier) history (customerHistory) ----------------------------------------


def _json(value: Any) -> str | None:
    """A structured value in one text cell, as JSON."""
    return orjson.dumps(value).decode() if value is not None else None


def _details(record: HistoryRecord) -> str | None:
    return _json(record.details)


async def _history_page(request: PageRequest) -> tuple[list[HistoryRecord], bool]:
    return await history_page(
        request.connection,
        org_id=request.org.id,
        customer_id=request.customer_id,
        actions=request.filters,
        first=request.size,
        after_id=request.after_id,
    )


CUSTOMER_HISTORY: DownloadList[HistoryRecord] = DownloadList(
    name="customer-history",
    operation="customerHistory",
    columns=(
        _integer("Id", lambda record: record.id),
        _text("Action", lambda record: record.action),
        _text("Identifier type", lambda record: record.identifier_type),
        _text("Identifier value", lambda record: record.identifier_value),
        _integer("Other user id", lambda record: record.other_customer_id),
        _text("Details", _details),
        _time("Created at", lambda record: record.created_at),
    ),
    fetch=_history_page,
    cursor=lambda record: record.id,
    filters=lambda params, org, now: params.enums("actions", HistoryAction),
    parameters=frozenset({"actions"}),
)


# --- Coupons (customerCoupons, customerCouponRedemptions) -----------------------------------


async def _coupons_page(request: PageRequest) -> tuple[list[CustomerCouponView], bool]:
    return await coupons.customer_coupons(
        request.connection,
        request.org,
        request.customer_id,
        now=request.now,
        first=request.size,
        after_id=request.after_id,
        status=request.filters,
    )


CUSTOMER_COUPONS: DownloadList[CustomerCouponView] = DownloadList(
    name="customer-coupons",
    operation="customerCoupons",
    columns=(
        _text("Code", lambda view: view.code),
        _text("Source", lambda view: view.source),
        _integer("Promotion id", lambda view: view.promotion_id),
        _text("Promotion", lambda view: view.promotion_name),
        _text("Status", lambda view: view.status),
        _time("Valid from", lambda view: view.valid_from),
        _time("Valid until", lambda view: view.valid_until),
        _text("Link mode", lambda view: view.link_mode),
        _time("Linked at", lambda view: view.linked_at),
        _integer("Redemptions", lambda view: view.redemptions_count),
    ),
    fetch=_coupons_page,
    cursor=lambda view: view.code_id,
    # The status at the request's time, as the query judges it.
    filters=lambda params, org, now: params.enum("status", CouponStatus),
    parameters=frozenset({"status"}),
)

CouponRedemptionRow = tuple[CouponRedemptionView, str, str | None]  # the redemption, its bill's number, its return's


async def _coupon_redemptions_page(request: PageRequest) -> tuple[list[CouponRedemptionRow], bool]:
    views, has_next_page = await coupons.customer_coupon_redemptions(
        request.connection, request.org, request.customer_id, first=request.size, after_id=request.after_id
    )
    transaction_ids = {view.transaction_id for view in views} | {
        view.reversal_transaction_id for view in views if view.reversal_transaction_id is not None
    }
    numbers = await bill_numbers(request.connection, sorted(transaction_ids))
    rows = [
        (
            view,
            numbers[view.transaction_id],
            numbers[view.reversal_transaction_id] if view.reversal_transaction_id is not None else None,
        )
        for view in views
    ]
    return rows, has_next_page


CUSTOMER_COUPON_REDEMPTIONS: DownloadList[CouponRedemptionRow] = DownloadList(
    name="customer-coupon-redemptions",
    operation="customerCouponRedemptions",
    columns=(
        _integer("Redemption id", lambda row: row[0].id),
        _text("Code", lambda row: row[0].code),
        _integer("Promotion id", lambda row: row[0].promotion_id),
        _text("Promotion", lambda row: row[0].promotion_name),
        _integer("Transaction id", lambda row: row[0].transaction_id),
        _text("Transaction number", lambda row: row[1]),
        _number("Discount", lambda row: row[0].discount),
        _text("Linked", lambda row: "true" if row[0].linked else "false"),
        _time("Redeemed at", lambda row: row[0].redeemed_at),
        _text("Reversed", lambda row: "true" if row[0].reversed_at is not None else "false"),
        _time("Reversed at", lambda row: row[0].reversed_at),
        _integer("Reversal transaction id", lambda row: row[0].reversal_transaction_id),
        _text("Reversal transaction number", lambda row: row[2]),
    ),
    fetch=_coupon_redemptions_page,
    cursor=lambda row: row[0].id,
)


# --- Tier history (customerTierHistory) -----------------------------------------------------

TierRow = tuple[TierChangeRecord, OrgConfig]


def _program_id(params: Params, org: OrgConfig, now: datetime) -> int | None:
    """customerTierHistory's `program`: a program code of the org."""
    return history_program_id(org, params.one("program"), "program")


async def _tier_page(request: PageRequest) -> tuple[list[TierRow], bool]:
    records, has_next_page = await tier_history_page(
        request.connection,
        org_id=request.org.id,
        customer_id=request.customer_id,
        program_id=request.filters,
        first=request.size,
        after_id=request.after_id,
    )
    return _with_org(records, request), has_next_page


def _tier(row: TierRow, tier_id: int) -> TierConfig:
    return row[1].program(row[0].program_id).tier(tier_id)


CUSTOMER_TIER_HISTORY: DownloadList[TierRow] = DownloadList(
    name="customer-tier-history",
    operation="customerTierHistory",
    columns=(
        _integer("Id", lambda row: row[0].id),
        _program_code(),
        _text("Kind", lambda row: row[0].kind),
        _text("Cause", lambda row: row[0].cause),
        _integer("From tier serial number", lambda row: _tier(row, row[0].tier_id_before).serial_number),
        _text("From tier", lambda row: _tier(row, row[0].tier_id_before).name),
        _integer("To tier serial number", lambda row: _tier(row, row[0].tier_id_after).serial_number),
        _text("To tier", lambda row: _tier(row, row[0].tier_id_after).name),
        _time("Tier expires at", lambda row: row[0].tier_expires_at_after),
        _integer("Transaction id", lambda row: row[0].transaction_id),
        _time("Created at", lambda row: row[0].created_at),
    ),
    fetch=_tier_page,
    cursor=lambda row: row[0].id,
    filters=_program_id,
    parameters=frozenset({"program"}),
)


# --- Promotion history, points tab (customerPromotionHistory) -------------------------------

AwardRow = tuple[PromotionAwardRecord, OrgConfig]


async def _awards_page(request: PageRequest) -> tuple[list[AwardRow], bool]:
    records, has_next_page = await customer_promotions.customer_promotion_history(
        request.connection,
        org_id=request.org.id,
        customer_id=request.customer_id,
        first=request.size,
        after_id=request.after_id,
    )
    return _with_org(records, request), has_next_page


CUSTOMER_PROMOTION_HISTORY: DownloadList[AwardRow] = DownloadList(
    name="customer-promotion-history",
    operation="customerPromotionHistory",
    columns=(
        _integer("Event log id", lambda row: row[0].event_id),
        _text("Promotion", lambda row: row[0].promotion.identifier),
        _text("Promotion name", lambda row: row[0].promotion.name),
        _program_code(),
        _number("Points", lambda row: row[0].points),
        _store_code(),
        _till_code(),
        _integer("Import job id", lambda row: row[0].import_job_id),
        _time("Awarded at", lambda row: row[0].created_at),
    ),
    fetch=_awards_page,
    cursor=lambda row: row[0].entry_id,
)


# --- Change identifier history (identifierHistory) ------------------------------------------


async def _identifier_history_page(request: PageRequest) -> tuple[list[HistoryRecord], bool]:
    return await identifier_history_page(
        request.connection,
        org_id=request.org.id,
        customer_id=request.customer_id,
        first=request.size,
        after_id=request.after_id,
    )


IDENTIFIER_HISTORY: DownloadList[HistoryRecord] = DownloadList(
    name="identifier-history",
    operation="identifierHistory",
    columns=(
        _integer("Id", lambda record: record.id),
        _text("Action", lambda record: IDENTIFIER_CHANGE_ACTIONS[record.action].value),
        _text("Identifier type", lambda record: record.identifier_type),
        _text("Identifier value", lambda record: record.identifier_value),
        _integer("Other user id", lambda record: record.other_customer_id),
        _text("Source", lambda record: record.source),
        _text("Account", lambda record: record.account),
        _text("Details", _details),
        _time("Created at", lambda record: record.created_at),
    ),
    fetch=_identifier_history_page,
    cursor=lambda record: record.id,
)


# --- Interactions (customerInteractions) ----------------------------------------------------

InteractionRow = tuple[InteractionView, OrgConfig]


async def _interactions_page(request: PageRequest) -> tuple[list[InteractionRow], bool]:
    views, has_next_page = await interactions.customer_interactions(
        request.connection,
        org_id=request.org.id,
        customer_id=request.customer_id,
        channel=request.filters,
        first=request.size,
        after_id=request.after_id,
    )
    return _with_org(views, request), has_next_page


def _local(moment: datetime, org: OrgConfig) -> str:
    """A time inside a text cell, as the DATETIME columns write theirs: local, the zone in no cell."""
    return moment.astimezone(org.time_zone).strftime(LOCAL_TIME_FORMAT)


def _status_history(row: InteractionRow) -> str:
    """Oldest first, each status with its local time: one cell, as the tab shows the history beside the message."""
    return "; ".join(f"{change.status.value} {_local(change.changed_at, row[1])}" for change in row[0].status_history)


CUSTOMER_INTERACTIONS: DownloadList[InteractionRow] = DownloadList(
    name="customer-interactions",
    operation="customerInteractions",
    columns=(
        _integer("Id", lambda row: row[0].id),
        _text("Channel", lambda row: row[0].channel),
        _text("Message id", lambda row: row[0].message_id),
        _text("Account", lambda row: row[0].account),
        _text("Direction", lambda row: row[0].direction),
        _text("Status", lambda row: row[0].status),
        _time("Status at", lambda row: row[0].status_at),
        _text("Template", lambda row: row[0].template),
        _text("Subject", lambda row: row[0].subject),
        _text("Body preview", lambda row: row[0].body_preview),
        _time("Sent at", lambda row: row[0].sent_at),
        _time("Delivered at", lambda row: row[0].delivered_at),
        _time("Recorded at", lambda row: row[0].recorded_at),
        _text("Status history", _status_history),
    ),
    fetch=_interactions_page,
    cursor=lambda row: row[0].id,
    filters=lambda params, org, now: params.enum("channel", Channel),
    parameters=frozenset({"channel"}),
)


# --- Behavioural events (customerBehaviouralEvents) -----------------------------------------

EventRow = tuple[BehaviouralEventView, OrgConfig]


def _event_filter(params: Params, org: OrgConfig, now: datetime) -> EventFilter:
    """customerBehaviouralEvents' `filter`, its fields as query parameters; days in the org's zone."""
    return EventFilter(
        event_name=params.one("eventName"),
        source=params.enum("source", EventSource),
        start_date=params.day("startDate"),
        end_date=params.day("endDate"),
    )


async def _events_page(request: PageRequest) -> tuple[list[EventRow], bool]:
    views, has_next_page = await behavioural_events.customer_behavioural_events(
        request.connection,
        request.org,
        customer_id=request.customer_id,
        event_filter=request.filters,
        first=request.size,
        after_id=request.after_id,
    )
    return _with_org(views, request), has_next_page


CUSTOMER_BEHAVIOURAL_EVENTS: DownloadList[EventRow] = DownloadList(
    name="customer-behavioural-events",
    operation="customerBehaviouralEvents",
    columns=(
        _integer("Id", lambda row: row[0].id),
        _text("Tracking id", lambda row: row[0].tracking_id),
        _text("Event name", lambda row: row[0].event_name),
        _day("Date", lambda row: local_day(row[0].occurred_at, row[1].time_zone)),
        _time("Occurred at", lambda row: row[0].occurred_at),
        _text("Source", lambda row: row[0].source),
        _text("Account id", lambda row: row[0].account_id),
        _text("Till", lambda row: row[0].till_code),
        _text("Attributes", lambda row: _json(row[0].attributes)),
        _time("Recorded at", lambda row: row[0].recorded_at),
    ),
    fetch=_events_page,
    cursor=lambda row: row[0].id,
    filters=_event_filter,
    parameters=frozenset({"eventName", "source", "startDate", "endDate"}),
)


# --- Leads (customerLeads) ------------------------------------------------------------------

LeadRow = tuple[LeadView, OrgConfig]


async def _leads_page(request: PageRequest) -> tuple[list[LeadRow], bool]:
    views, has_next_page = await leads.customer_leads(
        request.connection,
        request.org,
        customer_id=request.customer_id,
        status=request.filters,
        first=request.size,
        after_id=request.after_id,
    )
    return _with_org(views, request), has_next_page


def _lead_status_history(row: LeadRow) -> str:
    """Oldest first (the first is the creation), each `STATUS (sub status) local time`: one cell,
    as the extended fields are (a sheet has no nested rows)."""
    return "; ".join(
        f"{change.status}{f' ({change.sub_status})' if change.sub_status else ''} {_local(change.changed_at, row[1])}"
        for change in row[0].status_history
    )


def _extended_fields(row: LeadRow) -> str | None:
    """By name, each value as text: what the query's extendedFields lists, as one JSON object."""
    return _json({name: str(value) for name, value in sorted(row[0].extended_fields.items())})


CUSTOMER_LEADS: DownloadList[LeadRow] = DownloadList(
    name="customer-leads",
    operation="customerLeads",
    columns=(
        _integer("Lead id", lambda row: row[0].id),
        _text("Lead type", lambda row: row[0].lead_type),
        _text("Lead for", lambda row: row[0].lead_for),
        _text("Status", lambda row: row[0].status),
        _text("Sub status", lambda row: row[0].sub_status),
        _integer("Owner user id", lambda row: row[0].customer_id),
        _time("Created at", lambda row: row[0].created_at),
        _time("Updated at", lambda row: row[0].updated_at),
        _time("Last follow up at", lambda row: row[0].last_follow_up_at),
        _time("Next follow up at", lambda row: row[0].next_follow_up_at),
        _text("Extended fields", _extended_fields),
        _text("Status history", _lead_status_history),
    ),
    fetch=_leads_page,
    cursor=lambda row: row[0].id,
    filters=lambda params, org, now: params.enum("status", LeadStatus),
    parameters=frozenset({"status"}),
)


# --- Segment history (customerSegmentHistory) -----------------------------------------------


async def _segment_history_page(request: PageRequest) -> tuple[list[SegmentChangeView], bool]:
    return await segments.customer_segment_history(
        request.connection,
        request.org,
        customer_id=request.customer_id,
        first=request.size,
        after_id=request.after_id,
    )


CUSTOMER_SEGMENT_HISTORY: DownloadList[SegmentChangeView] = DownloadList(
    name="customer-segment-history",
    operation="customerSegmentHistory",
    columns=(
        _text("Segment", lambda view: view.segment.code),
        _text("Segment name", lambda view: view.segment.name),
        _text("Action", lambda view: view.action),
        _text("Source", lambda view: view.source),
        _time("Changed at", lambda view: view.changed_at),
    ),
    fetch=_segment_history_page,
    cursor=lambda view: view.id,
)


LISTS: tuple[DownloadList[Any], ...] = (
    LEDGER_ENTRIES,
    TRANSACTIONS,
    POINTS_REDEMPTIONS,
    EXPIRY_SCHEDULE,
    EXPIRED_POINTS,
    POINTS_TRANSFERS,
    TRACKER_HISTORY,
    CUSTOMER_HISTORY,
    CUSTOMER_COUPONS,
    CUSTOMER_COUPON_REDEMPTIONS,
    CUSTOMER_TIER_HISTORY,
    CUSTOMER_PROMOTION_HISTORY,
    IDENTIFIER_HISTORY,
    CUSTOMER_INTERACTIONS,
    CUSTOMER_BEHAVIOURAL_EVENTS,
    CUSTOMER_LEADS,
    CUSTOMER_SEGMENT_HISTORY,
)
