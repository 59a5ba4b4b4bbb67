"""Trackers: define them, attach tracked values to bills, issue points on them, list a
customer's loyalty tracker history.

Choices where the seed is silent:
- Trackers are defined per org with `defineTracker` (created, or updated by code: name, program
  and points per unit may change, affecting later values only; the level may not).
- A tracker issues round(value x points_per_unit) points in its program by that program's
  rounding rule, into the holder's REGULAR account, as one lot expiring by the program's expiry
  strategy; a zero or negative value, or a tracker with 0 points per unit, issues none (the value
  is still tracked). Each value with points is one TRACKER_POINTS ledger event tagged with it
  (`ledger_events.tracker_value_id`) carrying the bill's id, number, store and till.
- The bill (seed: Identification of Bill): STANDARD_FIELDS is the bill number, the transaction
  date (the bill's local date in the org's time zone) and the store; LOYALTY_LOG_ID is the
  transaction id addTransaction returns (pointledger's loyalty log id). The bill must be the
  customer's own, or for a user group, a member's; a LINE_ITEM tracker names the line by its
  serial on that bill. Several values may be tracked on one bill (each is its own row).

Bulk-callable (the caller's AsyncConnection, inside its write transaction, any number of rows):
- `find_trackers(connection, org_id, codes) -> dict[str, TrackerView]`
- `find_bills(connection, org, refs: Sequence[BillRef]) -> dict[BillRef, list[BillView]]`
   (one query per 500 refs of each kind)
- `find_line_items(connection, pairs: Sequence[tuple[transaction id, serial]]) -> dict[pair, LineItemView]`
- `points_for(org, tracker, value) -> Decimal`
- `add_tracker_values(connection, org, tracker, drafts: Sequence[TrackedValueDraft], now, field_by_holder=None)
   -> list[TrackerValueResult]` (a fixed number of statements for any number of values)

The statements are in app/trackers/repository.py; the bills and lines values are on are read
through app/transactions/repository.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.service import CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.decimals import ID_MAX, RATE, TRACKED_VALUE, check_decimal, read_whole_number
from app.kernel.errors import ValidationError
from app.kernel.text import check_code, check_required_code, check_required_text
from app.ledger import credits as ledger_credits
from app.ledger import repository as ledger_repository
from app.ledger import rules as ledger_rules
from app.ledger import service as ledger
from app.ledger.models import EventType
from app.organizations.config import OrgConfig
from app.storage.database import Database, lock_keys
from app.trackers import repository
from app.trackers.errors import BillNotFoundError, LineItemNotFoundError, TrackerLevelChangeError, TrackerNotFoundError
from app.trackers.models import CODE_LENGTH_MAX, NAME_LENGTH_MAX, TrackerLevel
from app.transactions import repository as transactions_repository
from app.transactions.models import BILL_NUMBER_LENGTH_MAX
from app.transfers.service import POINTS_MAX
from app.user_groups import service as user_groups
from app.user_groups.service import GroupLookup

ZERO = Decimal(0)
POINTS_PER_UNIT_MAX = Decimal(10) ** 6


class BillIdentification(StrEnum):
    LOYALTY_LOG_ID = "LOYALTY_LOG_ID"
    STANDARD_FIELDS = "STANDARD_FIELDS"


@dataclass(frozen=True, slots=True)
class TrackerView:
    id: int
    code: str
    name: str
    level: TrackerLevel
    program_id: int
    points_per_unit: Decimal
    created_at: datetime
    updated_at: datetime


def _tracker(row: Any) -> TrackerView:
    return TrackerView(
        row.id,
        row.code,
        row.name,
        TrackerLevel(row.level),
        row.program_id,
        row.points_per_unit,
        row.created_at,
        row.updated_at,
    )


async def find_trackers(
    connection: AsyncConnection, org_id: int, codes: Sequence[str] | None = None
) -> dict[str, TrackerView]:
    """The org's trackers by code (all of them when `codes` is None)."""
    rows = await repository.trackers_by_code(connection, org_id=org_id, codes=codes)
    return {row.code: _tracker(row) for row in rows}


async def find_tracker(connection: AsyncConnection, org_id: int, code: str, field: str) -> TrackerView:
    check_code(code, field, CODE_LENGTH_MAX)  # checked before the read: a code no tracker can have is not looked up
    return tracker_named(await find_trackers(connection, org_id, [code]), code, field)


def tracker_named(found: dict[str, TrackerView], code: str, field: str) -> TrackerView:
    """The tracker of this code among trackers read by `find_trackers`: INVALID_INPUT for a code no
    tracker can have, TRACKER_NOT_FOUND (on `field`) for one the org has not defined."""
    check_code(code, field, CODE_LENGTH_MAX)  # no code holds what it refuses: say so, not NOT_FOUND
    tracker = found.get(code)
    if tracker is None:
        raise TrackerNotFoundError(f"no tracker with code {code!r}", field=field)
    return tracker


def points_for(org: OrgConfig, tracker: TrackerView, value: Decimal) -> Decimal:
    """Points a value issues: value x points per unit, rounded by the program's rule; none for a
    value that is not above zero."""
    if value <= 0 or tracker.points_per_unit <= 0:
        return ZERO
    program = org.program(tracker.program_id)
    return max(
        ZERO,
        ledger_rules.round_points(
            value * tracker.points_per_unit, program.points_rounding, program.points_decimal_places
        ),
    )


def check_value_points(org: OrgConfig, tracker: TrackerView, value: Decimal, field: str) -> Decimal:
    """The points a value issues, refused (INVALID_INPUT on `field`) above the ledger's POINTS_MAX:
    a value near TRACKED_VALUE's limit at a high points per unit would overflow the scaled 64-bit points column."""
    points = points_for(org, tracker, value)
    if points > POINTS_MAX:
        raise ValidationError(
            f"issues {points} points at {tracker.points_per_unit} per unit: at most {POINTS_MAX} points per value",
            field=field,
        )
    return points


# --- Defining trackers ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerRequest:
    code: str
    name: str
    level: TrackerLevel
    program_code: str | None = None  # the org's default program when omitted
    points_per_unit: Decimal = ZERO


@dataclass(frozen=True)
class DefinedTracker:
    tracker: TrackerView
    created: bool


async def define_tracker(
    database: Database, org: OrgConfig, request: TrackerRequest, path: str = "input", *, now: datetime
) -> DefinedTracker:
    """Create a tracker, or update the one with this code (name, program, points per unit; later
    values only). Sending the same definition again changes nothing. Errors: INVALID_INPUT,
    PROGRAM_NOT_FOUND, TRACKER_LEVEL_CHANGE."""
    code = check_required_code(request.code, f"{path}.code", CODE_LENGTH_MAX)
    name = check_required_text(request.name, f"{path}.name", NAME_LENGTH_MAX)
    program = org.named_or_default_program(request.program_code, f"{path}.programCode")
    rate = check_decimal(request.points_per_unit, f"{path}.pointsPerUnit", RATE)
    if rate > POINTS_PER_UNIT_MAX:
        raise ValidationError(
            f"must be from 0 to {POINTS_PER_UNIT_MAX}, at most 6 decimal places", field=f"{path}.pointsPerUnit"
        )

    async def work(connection: AsyncConnection) -> DefinedTracker:
        await lock_keys(connection, [f"tracker:{org.id}:{code}"])
        existing = (await find_trackers(connection, org.id, [code])).get(code)
        if existing is None:
            tracker_id = await repository.insert_tracker(
                connection,
                org_id=org.id,
                code=code,
                name=name,
                level=request.level.value,
                program_id=program.id,
                points_per_unit=rate,
                now=now,
            )
            return DefinedTracker(
                TrackerView(tracker_id, code, name, request.level, program.id, rate, now, now), created=True
            )
        if existing.level is not request.level:
            raise TrackerLevelChangeError(f"tracker {code} is {existing.level.value} level", field=f"{path}.level")
        if (existing.name, existing.program_id, existing.points_per_unit) == (name, program.id, rate):
            return DefinedTracker(existing, created=False)
        await repository.update_tracker(
            connection, tracker_id=existing.id, name=name, program_id=program.id, points_per_unit=rate, now=now
        )
        return DefinedTracker(
            TrackerView(existing.id, code, name, existing.level, program.id, rate, existing.created_at, now),
            created=False,
        )

    return await database.run_write(work)


# --- Bills ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BillRef:
    """A bill as a row names it: by transaction id (LOYALTY_LOG_ID), or by number, local date
    and store (STANDARD_FIELDS)."""

    transaction_id: int | None = None
    number: str | None = None
    local_date: date | None = None
    store_id: int | None = None


@dataclass(frozen=True, slots=True)
class BillView:
    id: int
    customer_id: int | None
    number: str
    billing_time: datetime
    store_id: int
    till_id: int | None


def _bill(row: Any) -> BillView:
    return BillView(row.id, row.customer_id, row.number, row.billing_time, row.store_id, row.till_id)


async def find_bills(
    connection: AsyncConnection, org: OrgConfig, refs: Sequence[BillRef]
) -> dict[BillRef, list[BillView]]:
    """The bills each ref names in this org (several when a number repeats on one day and store;
    the caller picks the holder's). One query per kind of ref and chunk of 500."""
    found: dict[BillRef, list[BillView]] = {ref: [] for ref in refs}
    by_id = sorted({ref.transaction_id for ref in refs if ref.transaction_id is not None})
    standard = [ref for ref in refs if ref.transaction_id is None]
    if by_id:
        rows = await transactions_repository.bills_by_ids(connection, org_id=org.id, transaction_ids=by_id)
        bills = {row.id: _bill(row) for row in rows}
        for ref in refs:
            if ref.transaction_id in bills:
                found[ref] = [bills[ref.transaction_id]]
    pairs = sorted(
        {(ref.store_id, ref.number) for ref in standard if ref.store_id is not None and ref.number is not None}
    )
    if pairs:
        for row in await transactions_repository.bills_by_store_and_number(connection, org_id=org.id, pairs=pairs):
            bill = _bill(row)
            local_date = bill.billing_time.astimezone(org.time_zone).date()
            ref = BillRef(None, bill.number, local_date, bill.store_id)
            if ref in found:
                found[ref].append(bill)
    return found


@dataclass(frozen=True, slots=True)
class LineItemView:
    id: int
    transaction_id: int
    serial: int
    item_code: str


async def find_line_items(
    connection: AsyncConnection, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], LineItemView]:
    """Lines by (transaction id, serial), in one query per 500."""
    rows = await transactions_repository.line_items_by_serial(connection, pairs)
    return {
        (row.transaction_id, row.serial): LineItemView(row.id, row.transaction_id, row.serial, row.item_code)
        for row in rows
    }


# --- Tracked values -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackedValueDraft:
    """A checked value: on `bill` (the holder's, or a group member's), on `line_item_id` for a
    LINE_ITEM tracker, for the account of `holder_id` (a customer, or a group's backing row)."""

    holder_id: int
    bill: BillView
    line_item_id: int | None
    value: Decimal


@dataclass(frozen=True, slots=True)
class TrackerValueResult:
    id: int
    points: Decimal
    event_id: int | None
    balance_after: Decimal | None  # the REGULAR balance after the points; None when none were issued


async def add_tracker_values(
    connection: AsyncConnection,
    org: OrgConfig,
    tracker: TrackerView,
    drafts: Sequence[TrackedValueDraft],
    now: datetime,
    field_by_holder: dict[int, str] | None = None,
    import_job_id: int | None = None,
) -> list[TrackerValueResult]:
    """Bulk: record checked values and credit their points (one TRACKER_POINTS event per value
    with points), returned in order. Locks the holders (id order) and refuses a merged one with
    CUSTOMER_MERGED on its field in `field_by_holder`; opens missing program accounts. An import
    passes its job: the points events carry it."""
    if not drafts:
        return []
    holder_ids = sorted({draft.holder_id for draft in drafts})
    fields = field_by_holder or {}
    await user_groups.lock_holders(
        connection, {holder_id: fields.get(holder_id, "customer") for holder_id in holder_ids}
    )
    # Callers reject such values per row first; this keeps the bulk path from overflowing the column.
    points = [check_value_points(org, tracker, draft.value, "value") for draft in drafts]
    # Ids reserved first: an INSERT ... RETURNING in parameter order runs one row per statement on SQLite.
    value_ids = await repository.reserve_value_ids(connection, len(drafts))
    # In the order of repository.VALUE_COLUMNS.
    await repository.insert_values(
        connection,
        [
            (value_id, org.id, tracker.id, draft.holder_id, draft.bill.id, draft.line_item_id, draft.value, issued, now)
            for value_id, draft, issued in zip(value_ids, drafts, points, strict=True)
        ],
    )
    crediting = [index for index, issued in enumerate(points) if issued > 0]
    posted_by_index: dict[int, ledger_credits.PostedCredit] = {}
    if crediting:
        program = org.program(tracker.program_id)
        accounts_by_holder = await user_groups.regular_accounts(
            connection, org, program, [drafts[index].holder_id for index in crediting], now
        )
        expires_at = ledger_rules.lot_expiry(program.expiry_strategy, program.expiry_value, now, org.time_zone)
        posted = await ledger_credits.post_credits(
            connection,
            org_id=org.id,
            now=now,
            credits=[
                ledger_credits.CreditDraft(
                    account=accounts_by_holder[drafts[index].holder_id],
                    points=points[index],
                    active_from=now,
                    expires_at=expires_at,
                    event_type=EventType.TRACKER_POINTS,
                    store_id=drafts[index].bill.store_id,
                    till_id=drafts[index].bill.till_id,
                    transaction_id=drafts[index].bill.id,
                    transaction_number=drafts[index].bill.number,
                    tracker_value_id=value_ids[index],
                    import_job_id=import_job_id,
                )
                for index in crediting
            ],
        )
        posted_by_index = dict(zip(crediting, posted, strict=True))
    return [
        TrackerValueResult(
            value_id,
            issued,
            posted_by_index[index].event_id if index in posted_by_index else None,
            posted_by_index[index].balance_after if index in posted_by_index else None,
        )
        for index, (value_id, issued) in enumerate(zip(value_ids, points, strict=True))
    ]


# --- addTrackerValue ------------------------------------------------------------------------


@dataclass(frozen=True)
class BillInput:
    identification: BillIdentification
    loyalty_log_id: str | None = None
    bill_number: str | None = None
    transaction_date: date | None = None
    store_code: str | None = None

    def payload(self) -> list[object]:
        return [
            self.identification.value,
            self.loyalty_log_id,
            self.bill_number,
            self.transaction_date.isoformat() if self.transaction_date else None,
            self.store_code,
        ]


@dataclass(frozen=True)
class AddValueRequest:
    tracker_code: str
    customer: CustomerLookup | None
    user_group: GroupLookup | None
    bill: BillInput
    value: Decimal
    line_item_serial: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AddValueResult:
    value: TrackerHistoryRow
    balance_after: Decimal | None
    replayed: bool


def bill_ref(org: OrgConfig, bill: BillInput, path: str) -> BillRef:
    """The ref a bill input names; INVALID_INPUT on the missing or malformed field."""
    if bill.identification is BillIdentification.LOYALTY_LOG_ID:
        transaction_id = read_whole_number((bill.loyalty_log_id or "").strip(), ID_MAX)
        if transaction_id is None:
            raise ValidationError("a transaction id is needed with LOYALTY_LOG_ID", field=f"{path}.loyaltyLogId")
        return BillRef(transaction_id=transaction_id)
    number = (bill.bill_number or "").strip()
    if not number:
        raise ValidationError("a bill number is needed with STANDARD_FIELDS", field=f"{path}.billNumber")
    check_code(number, f"{path}.billNumber", BILL_NUMBER_LENGTH_MAX)  # a NUL in a lookup fails PostgreSQL
    if bill.transaction_date is None:
        raise ValidationError("a transaction date is needed with STANDARD_FIELDS", field=f"{path}.transactionDate")
    if not bill.store_code:
        raise ValidationError("a store code is needed with STANDARD_FIELDS", field=f"{path}.storeCode")
    store = org.store_by_code(bill.store_code)
    if store is None:
        raise ValidationError(f"no store with code {bill.store_code!r}", field=f"{path}.storeCode")
    return BillRef(None, number, bill.transaction_date, store.id)


def holders_bill(candidates: Sequence[BillView], owners: set[int]) -> BillView | None:
    """The first candidate bill that belongs to one of `owners` (the customer, or a group's members)."""
    return next((bill for bill in candidates if bill.customer_id in owners), None)


async def add_tracker_value(
    database: Database, org: OrgConfig, request: AddValueRequest, path: str = "input", *, now: datetime
) -> AddValueResult:
    """addTrackerValue: one value in one write transaction, once per idempotency key.

    Errors, each naming its field: INVALID_INPUT, TRACKER_NOT_FOUND, CUSTOMER_NOT_FOUND,
    USER_GROUP_NOT_FOUND, BILL_NOT_FOUND (also another customer's bill), LINE_ITEM_NOT_FOUND,
    CUSTOMER_MERGED, IDEMPOTENCY_KEY_REUSED. A failed request writes nothing.
    """
    value = check_decimal(request.value, f"{path}.value", TRACKED_VALUE)
    ref = bill_ref(org, request.bill, f"{path}.bill")
    key = idempotency.check_key(request.idempotency_key, f"{path}.idempotencyKey")
    payload = {
        "tracker": request.tracker_code,
        "customer": request.customer.payload() if request.customer else None,
        "userGroup": request.user_group.payload() if request.user_group else None,
        "bill": request.bill.payload(),
        "lineItemSerial": request.line_item_serial,
        "value": format(value.normalize(), "f"),
    }

    async def perform(connection: AsyncConnection) -> tuple[int, AddValueResult]:
        tracker = await find_tracker(connection, org.id, request.tracker_code, f"{path}.trackerCode")
        if tracker.level is TrackerLevel.LINE_ITEM and request.line_item_serial is None:
            raise ValidationError(
                f"tracker {tracker.code} tracks line items: give lineItemSerial", field=f"{path}.lineItemSerial"
            )
        if tracker.level is TrackerLevel.TRANSACTION and request.line_item_serial is not None:
            raise ValidationError(f"tracker {tracker.code} tracks bills, not lines", field=f"{path}.lineItemSerial")
        holder_id, group_id, holder_field = await user_groups.resolve_holder(
            connection, org, request.customer, request.user_group, path
        )
        owners = {holder_id}
        candidates = (await find_bills(connection, org, [ref]))[ref]
        if group_id is not None:
            owners = await user_groups.member_of(
                connection, group_id, [bill.customer_id for bill in candidates if bill.customer_id]
            )
        bill = holders_bill(candidates, owners)
        if bill is None:
            whose = "a member of this group" if group_id is not None else "this customer"
            raise BillNotFoundError(f"no bill of {whose} matches", field=f"{path}.bill")
        line_item_id = None
        if request.line_item_serial is not None:
            line = (await find_line_items(connection, [(bill.id, request.line_item_serial)])).get(
                (bill.id, request.line_item_serial)
            )
            if line is None:
                raise LineItemNotFoundError(
                    f"bill {bill.number} has no line {request.line_item_serial}", field=f"{path}.lineItemSerial"
                )
            line_item_id = line.id
        check_value_points(org, tracker, value, f"{path}.value")
        [result] = await add_tracker_values(
            connection,
            org,
            tracker,
            [TrackedValueDraft(holder_id, bill, line_item_id, value)],
            now,
            {holder_id: holder_field},
        )
        if result.balance_after is not None and result.balance_after > POINTS_MAX:
            # Raised inside the write transaction: the value and its points roll back. Keeping every
            # balance at most POINTS_MAX keeps the next `balance + points` inside the column.
            raise ValidationError(f"would take the balance past {POINTS_MAX} points", field=f"{path}.value")
        [row] = await history_rows(connection, [result.id], org_id=org.id)
        return result.id, AddValueResult(row, result.balance_after, replayed=False)

    async def replay(connection: AsyncConnection, value_id: int) -> AddValueResult:
        [row] = await history_rows(connection, [value_id], org_id=org.id)
        balance_after = None
        if row.event_id is not None:
            balance_after = await ledger_repository.balance_after_event(connection, row.event_id)
        return AddValueResult(row, balance_after, replayed=True)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="addTrackerValue",
        payload=payload,
        now=now,
        perform=perform,
        replay=replay,
        field=f"{path}.idempotencyKey",
    )


# --- Loyalty tracker history ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackerHistoryRow:
    id: int
    tracker_id: int
    customer_id: int
    transaction_id: int
    bill_number: str
    billing_time: datetime
    store_id: int
    bill_customer_id: int | None  # whose bill: the holder, or for a group one of its members
    line_item_serial: int | None
    item_code: str | None
    value: Decimal
    points: Decimal
    event_id: int | None
    created_at: datetime


async def _history(connection: AsyncConnection, org_id: int, rows: Sequence[Any]) -> list[TrackerHistoryRow]:
    """The values (rows as repository.values_by_ids reads them) with their bills and lines (the
    transactions' to say) and the ledger event that issued each one's points (the ledger's): a
    fixed number of statements for any number of values."""
    bill_rows = await transactions_repository.bills_by_ids(
        connection, org_id=org_id, transaction_ids=[row.transaction_id for row in rows]
    )
    bills = {bill.id: bill for bill in bill_rows}
    line_item_ids = [row.line_item_id for row in rows if row.line_item_id is not None]
    line_rows = await transactions_repository.line_items_by_ids(connection, org_id=org_id, line_item_ids=line_item_ids)
    lines = {line.id: line for line in line_rows}
    event_of = await ledger_repository.events_of_tracker_values(connection, [row.id for row in rows])
    history = []
    for row in rows:
        bill = bills[row.transaction_id]
        line = lines[row.line_item_id] if row.line_item_id is not None else None
        history.append(
            TrackerHistoryRow(
                id=row.id,
                tracker_id=row.tracker_id,
                customer_id=row.customer_id,
                transaction_id=row.transaction_id,
                bill_number=bill.number,
                billing_time=bill.billing_time,
                store_id=bill.store_id,
                bill_customer_id=bill.customer_id,
                line_item_serial=line.serial if line is not None else None,
                item_code=line.item_code if line is not None else None,
                value=row.value,
                points=row.points,
                event_id=event_of.get(row.id),
                created_at=row.created_at,
            )
        )
    return history


async def history_rows(
    connection: AsyncConnection, value_ids: Sequence[int], *, org_id: int
) -> list[TrackerHistoryRow]:
    return await _history(connection, org_id, await repository.values_by_ids(connection, value_ids))


async def tracker_history(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    first: int,
    after_id: int | None,
    tracker_id: int | None = None,
) -> tuple[list[TrackerHistoryRow], bool]:
    """A holder's tracked values, newest first, keyset-paginated by value id (one query for the
    values, one for their bills, one for their lines when any value is a line's, one for their
    events)."""
    assert 1 <= first <= ledger.READ_PAGE_SIZE_MAX
    rows = await repository.values_page(
        connection, org_id=org_id, customer_id=customer_id, limit=first + 1, before_id=after_id, tracker_id=tracker_id
    )
    return await _history(connection, org_id, rows[:first]), len(rows) > first
