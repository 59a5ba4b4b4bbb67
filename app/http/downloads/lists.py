"""The member-care lists a download serves: one declaration each (its columns, its filters, how
to read one page of it). The route, the roles (OPERATION_ROLES, "GET /downloads/<name>.{format}"),
the streaming and both file formats come from app/http/downloads/routes.py.

To add a list: write its columns and a `fetch` that reads one keyset page of rows (newest first,
below `after_id`, at most `size`), name the GraphQL query whose roles and filters it shares, and
append it to LISTS; then declare its route in OPERATION_ROLES with that query's roles.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from app.customer_promotions.service import promotions_by_id
from app.customers.history import HistoryRecord, history_page
from app.customers.models import HistoryAction
from app.graphql.ledger.inputs import LedgerFilterInput
from app.graphql.transfers.types import PointsTransferType
from app.http.downloads.params import Params
from app.http.downloads.sheets import Column, Kind, Row
from app.kernel.enums import PointsCategory, TransactionSource
from app.ledger import expiry
from app.ledger import service as ledger
from app.ledger.models import EntryType
from app.ledger.views import ExpiredPoints, LedgerEntryView, ScheduledExpiry
from app.organizations.config import OrgConfig
from app.redemptions.service import RedemptionView, customer_redemptions
from app.trackers import service as trackers
from app.trackers.service import TrackerHistoryRow, TrackerView
from app.transactions.models import TransactionType
from app.transactions.service import TransactionView, customers_transactions
from app.transfers.service import customer_transfers
from app.transfers.views import TransferView

# Upcoming expiries are (date, program) groups the ledger sums in one read, not a keyset list:
# they come as one page of at most this many groups.
EXPIRY_GROUPS_MAX = 100_000


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
        _text("Program", lambda row: row[2].program(row[0].program_id).code),
        _text("Points category", lambda row: row[0].category),
        _number("Points", lambda row: row[0].points),
        _number("Points on event", lambda row: row[0].points_on_event),
        _number("Balance after", lambda row: row[0].balance_after),
        _text("Event source", lambda row: row[0].source),
        _text("Store", lambda row: row[2].store(row[0].store_id).code if row[0].store_id else None),
        _text("Till", lambda row: row[2].till(row[0].till_id).code if row[0].till_id else None),
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
    return [(view, request.org) for view in page.views], page.has_next_page


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
        _text("Till", lambda row: row[1].till(row[0].till_id).code if row[0].till_id else None),
        _text("Program", lambda row: row[1].program(row[0].program_id).code),
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
    return [(view, request.org) for view in views], has_next_page


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
        _text("Store", lambda row: row[1].store(row[0].store_id).code if row[0].store_id else None),
        _text("Till", lambda row: row[1].till(row[0].till_id).code if row[0].till_id else None),
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
    return [(item, request.org) for item in schedules.get(request.customer_id, [])], False


EXPIRY_SCHEDULE: DownloadList[ScheduleRow] = DownloadList(
    name="expiry-schedule",
    operation="customer",
    columns=(
        _day("Expires on", lambda row: row[0].date),
        _text("Program", lambda row: row[1].program(row[0].program_id).code),
        _number("Points", lambda row: row[0].points),
    ),
    fetch=_schedule_page,
    cursor=lambda row: 0,  # one page
)

ExpiredRow = tuple[ExpiredPoints, OrgConfig]


async def _expired_page(request: PageRequest) -> tuple[list[ExpiredRow], bool]:
    pages = await expiry.expired_points(request.connection, [request.customer_id], request.size, request.after_id)
    page = pages[request.customer_id]
    return [(item, request.org) for item in page.items], page.has_next_page


EXPIRED_POINTS: DownloadList[ExpiredRow] = DownloadList(
    name="expired-points",
    operation="customer",
    columns=(
        _integer("Event log id", lambda row: row[0].event_id),
        _day("Expired on", lambda row: row[0].expired_at.astimezone(row[1].time_zone).date()),
        _time("Expired at", lambda row: row[0].expired_at),
        _text("Program", lambda row: row[1].program(row[0].program_id).code),
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
        after_id=request.after_id,
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
        _text("Program", lambda row: row[2].program(row[0].program_id).code),
        _text("Program name", lambda row: row[2].program(row[0].program_id).name),
        _number("Points", lambda row: row[0].points),
        _text("Notes", lambda row: row[0].notes),
        _time("Created at", lambda row: row[0].created_at),
    ),
    fetch=_transfers_page,
    cursor=lambda row: row[0].id,
)


# --- Loyalty tracker history (customerTrackerHistory) ---------------------------------------

TrackedRow = tuple[TrackerHistoryRow, TrackerView, OrgConfig]


async def _tracked_page(request: PageRequest) -> tuple[list[TrackedRow], bool]:
    code = request.filters
    found = await trackers.find_trackers(request.connection, request.org.id)
    tracker_id = (
        None
        if code is None
        else (await trackers.find_tracker(request.connection, request.org.id, code, "trackerCode")).id
    )
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
        _text(
            "Details",
            lambda record: orjson.dumps(record.details).decode() if record.details is not None else None,
        ),
        _time("Created at", lambda record: record.created_at),
    ),
    fetch=_history_page,
    cursor=lambda record: record.id,
    filters=lambda params, org, now: params.enums("actions", HistoryAction),
    parameters=frozenset({"actions"}),
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
)
