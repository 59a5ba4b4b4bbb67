"""Profile TRACKERS: tracked values added to customers' (or user groups') existing bills (the
seed's Trackers import), issuing the tracker's points.

Columns (header names case-insensitive, in any order):
- the customer, in the column of the template's unique identifier type: `mobile`, `email`,
  `external_id` or `user_id` (other identifier columns may be present and are not read); with
  user groups enabled, `user_group_identifier` names the group instead (the bill must then be a
  member's, and the customer column is optional: a customer given must own the bill);
- the bill, per the template's identification of bill: STANDARD_FIELDS needs `bill_number`,
  `transaction_date` (the bill's local date in the org's time zone, YYYY-MM-DD; a full
  ISO time is read as its local date) and `store_code` (a store code, or its external id when
  stores are denoted by external ids; an unknown one is replaced by the configured store and
  reported); LOYALTY_LOG_ID needs `loyalty_log_id` (the transaction id addTransaction returns);
- `item_id`: for a LINE_ITEM tracker, the line's serial on that bill (it must be on the bill:
  ITEM_NOT_ON_BILL); a TRANSACTION tracker takes no item id;
- `tracked_value`: a number (4 decimal places at most; zero or less tracks without points).

Configuration: tracker_code, bill_identification, unique_identifier_type, append_country_code,
stores_by_external_id, replacement_store_code, user_groups_enabled, user_group_identifier_type.

Each row is one tracked value (`trackers.service.add_tracker_values`, one call per batch) with
its TRACKER_POINTS ledger event when it issues points; it shows in the holder's loyalty
tracker history. A bill that is not the row's customer's (or a member's of the row's group) is
BILL_NOT_FOUND, as addTrackerValue says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.imports.cells import decimal_cell
from app.imports.holders import (
    CUSTOMER_COLUMNS,
    GROUP_COLUMN,
    CustomerIdentifierType,
    HolderColumns,
    bool_setting,
    check_known_settings,
    configured_stores,
    enum_setting,
    memberships,
    merged_holders,
    merged_refusal,
    require_columns,
    settings_document,
    text_setting,
)
from app.imports.models import ImportProfile
from app.imports.profiles import BatchResult, Columns, Correction, ParsedRow, Profile, ProfileRun, RowError
from app.kernel.decimals import ID_MAX, TRACKED_VALUE, read_whole_number
from app.kernel.errors import ValidationError
from app.organizations.config import OrgConfig
from app.trackers import service as trackers_service
from app.trackers.models import CODE_LENGTH_MAX, TrackerLevel
from app.trackers.service import BillIdentification, BillRef, TrackedValueDraft, TrackerView
from app.user_groups.service import GroupIdentifierType

BILL_NUMBER_COLUMN = "bill_number"
DATE_COLUMN = "transaction_date"
STORE_COLUMN = "store_code"
LOG_ID_COLUMN = "loyalty_log_id"
ITEM_COLUMN = "item_id"
VALUE_COLUMN = "tracked_value"
BILL_NUMBER_CHARS_MAX = 100
SERIAL_MAX = 10**9 - 1
TRACKER_IDENTIFIER_TYPES = (
    CustomerIdentifierType.MOBILE,
    CustomerIdentifierType.EMAIL,
    CustomerIdentifierType.EXTERNAL_ID,
    CustomerIdentifierType.USER_ID,
)


@dataclass(frozen=True)
class TrackerImportConfig:
    tracker_code: str
    bill_identification: BillIdentification = BillIdentification.STANDARD_FIELDS
    unique_identifier_type: CustomerIdentifierType = CustomerIdentifierType.MOBILE
    append_country_code: bool = False
    stores_by_external_id: bool = False
    replacement_store_code: str | None = None
    user_groups_enabled: bool = False
    user_group_identifier_type: GroupIdentifierType = GroupIdentifierType.EXTERNAL_ID


@dataclass(frozen=True, slots=True)
class TrackerRow:
    customer: str | None
    group: str | None
    bill: BillRef
    item_serial: int | None
    value: Decimal
    corrections: tuple[Correction, ...]


def _date(raw: str, org: OrgConfig) -> date | RowError:
    """A local date; a time with an offset is read as its date in the org's time zone."""
    text = raw.strip()
    if not text:
        return RowError("MISSING_VALUE", f"{DATE_COLUMN} is empty", DATE_COLUMN)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return RowError("INVALID_DATE", f"{text[:40]!r} is not a date (YYYY-MM-DD)", DATE_COLUMN)
    return moment.date() if moment.tzinfo is None else moment.astimezone(org.time_zone).date()


class TrackersRun(ProfileRun[TrackerRow]):
    def __init__(self, org: OrgConfig, config: TrackerImportConfig, tracker: TrackerView) -> None:
        self.org = org
        self.config = config
        self.tracker = tracker
        self.holders = HolderColumns(org, config)
        self.stores = configured_stores(org, config, column=STORE_COLUMN, tills_too=False)
        self._header_checked = False

    def _check_header(self, header: Sequence[str]) -> None:
        self.holders.require(header)
        identification = self.config.bill_identification
        require_columns(
            header,
            [BILL_NUMBER_COLUMN, DATE_COLUMN, STORE_COLUMN]
            if identification is BillIdentification.STANDARD_FIELDS
            else [LOG_ID_COLUMN],
            f"bills are identified by {identification.value}",
        )
        if self.tracker.level is TrackerLevel.LINE_ITEM:
            require_columns(header, [ITEM_COLUMN], f"tracker {self.tracker.code} tracks line items")
        self._header_checked = True

    def parse(self, row: Mapping[str, str]) -> TrackerRow | RowError:
        if not self._header_checked:
            self._check_header(list(row))  # the columns depend on the configuration and the tracker
        corrections: list[Correction] = []
        holder = self.holders.parse(row, corrections)
        if isinstance(holder, RowError):
            return holder
        customer, group = holder
        if self.config.bill_identification is BillIdentification.LOYALTY_LOG_ID:
            text = row[LOG_ID_COLUMN].strip()
            if not text:
                return RowError("MISSING_VALUE", f"{LOG_ID_COLUMN} is empty", LOG_ID_COLUMN)
            transaction_id = read_whole_number(text, ID_MAX)
            if transaction_id is None:
                return RowError("INVALID_LOYALTY_LOG_ID", f"{text[:40]!r} is not a transaction id", LOG_ID_COLUMN)
            bill = BillRef(transaction_id=transaction_id)
        else:
            number = row[BILL_NUMBER_COLUMN].strip()
            if not number:
                return RowError("MISSING_VALUE", f"{BILL_NUMBER_COLUMN} is empty", BILL_NUMBER_COLUMN)
            if len(number) > BILL_NUMBER_CHARS_MAX:
                return RowError(
                    "INVALID_BILL_NUMBER", f"must be at most {BILL_NUMBER_CHARS_MAX} characters", BILL_NUMBER_COLUMN
                )
            local_date = _date(row[DATE_COLUMN], self.org)
            if isinstance(local_date, RowError):
                return local_date
            place = self.stores.resolve(row[STORE_COLUMN])
            if isinstance(place, RowError):
                return place
            if place[1] is not None:
                corrections.append(place[1])
            bill = BillRef(None, number, local_date, place[0].store_id)
        item_serial = None
        item_text = row.get(ITEM_COLUMN, "").strip()
        if self.tracker.level is TrackerLevel.LINE_ITEM:
            if not item_text:
                return RowError(
                    "MISSING_VALUE",
                    f"{ITEM_COLUMN} is empty (tracker {self.tracker.code} tracks line items)",
                    ITEM_COLUMN,
                )
            serial = read_whole_number(item_text, SERIAL_MAX, minimum=0)
            if serial is None:
                return RowError("INVALID_ITEM_ID", f"{item_text[:40]!r} is not a line serial", ITEM_COLUMN)
            item_serial = serial
        elif item_text:
            return RowError(
                "ITEM_NOT_EXPECTED", f"tracker {self.tracker.code} tracks bills, not line items", ITEM_COLUMN
            )
        value_text = row[VALUE_COLUMN]
        value = decimal_cell(value_text, VALUE_COLUMN, "INVALID_TRACKED_VALUE", TRACKED_VALUE)
        if isinstance(value, RowError):
            return value
        try:
            trackers_service.check_value_points(self.org, self.tracker, value, VALUE_COLUMN)
        except ValidationError:
            return RowError(
                "POINTS_ABOVE_MAXIMUM",
                f"{value_text[:40]!r} issues more than "
                f"{trackers_service.POINTS_MAX:,} points at {self.tracker.points_per_unit} per unit",
                VALUE_COLUMN,
            )
        return TrackerRow(customer, group, bill, item_serial, value.normalize() + 0, tuple(corrections))

    @property
    def _bill_column(self) -> str:
        return (
            LOG_ID_COLUMN
            if self.config.bill_identification is BillIdentification.LOYALTY_LOG_ID
            else BILL_NUMBER_COLUMN
        )

    async def _drafts(
        self,
        connection: AsyncConnection,
        rows: Sequence[ParsedRow[TrackerRow]],
        *,
        lock: bool,
    ) -> tuple[list[tuple[ParsedRow[TrackerRow], TrackedValueDraft]], list[tuple[ParsedRow[TrackerRow], RowError]]]:
        """Each row's holder, bill and line, or why it has none: a fixed number of queries a batch."""
        lookup = await self.holders.find(
            connection,
            [row.value.customer for row in rows if row.value.customer is not None],
            [row.value.group for row in rows if row.value.group is not None],
            None,
        )
        bills = await trackers_service.find_bills(connection, self.org, list({row.value.bill for row in rows}))
        # A group's bills are its members': which bill owners are members of which row's group.
        member_pairs = {
            (lookup.groups[row.value.group].id, bill.customer_id)
            for row in rows
            if row.value.group in lookup.groups
            for bill in bills.get(row.value.bill, [])
            if bill.customer_id is not None
        }
        members = await memberships(connection, list(member_pairs)) if member_pairs else set()
        merged = await merged_holders(connection, lookup, lock=lock)

        chosen: list[tuple[ParsedRow[TrackerRow], int, trackers_service.BillView]] = []
        refused: list[tuple[ParsedRow[TrackerRow], RowError]] = []
        for row in rows:
            value = row.value
            named = self.holders.resolve(lookup, value.customer, value.group)
            if isinstance(named, RowError):
                refused.append((row, named))
                continue
            customer_id, group = named
            candidates_of_row = bills.get(value.bill, [])
            holder_id, holder_column = self.holders.holder(customer_id, group)
            owners: set[int]
            if group is not None:
                owners = {
                    bill.customer_id
                    for bill in candidates_of_row
                    if bill.customer_id is not None and (group.id, bill.customer_id) in members
                }
                if customer_id is not None:
                    owners &= {customer_id}
                whose = "a member of this group" + (" and this customer" if customer_id is not None else "")
            else:
                assert customer_id is not None
                owners = {customer_id}
                whose = "this customer"
            refusal = merged_refusal(holder_id, merged, holder_column)
            if refusal is not None:
                refused.append((row, refusal))
                continue
            bill = trackers_service.holders_bill(candidates_of_row, owners)
            if bill is None:
                refused.append((row, RowError("BILL_NOT_FOUND", f"no bill of {whose} matches", self._bill_column)))
                continue
            chosen.append((row, holder_id, bill))

        lines = await trackers_service.find_line_items(
            connection,
            [(bill.id, row.value.item_serial) for row, _, bill in chosen if row.value.item_serial is not None],
        )
        accepted: list[tuple[ParsedRow[TrackerRow], TrackedValueDraft]] = []
        for row, holder_id, bill in chosen:
            line_item_id = None
            if row.value.item_serial is not None:
                line = lines.get((bill.id, row.value.item_serial))
                if line is None:
                    refused.append(
                        (
                            row,
                            RowError(
                                "ITEM_NOT_ON_BILL",
                                f"bill {bill.number} has no line {row.value.item_serial}",
                                ITEM_COLUMN,
                            ),
                        )
                    )
                    continue
                line_item_id = line.id
            accepted.append((row, TrackedValueDraft(holder_id, bill, line_item_id, row.value.value)))
        return accepted, refused

    def _result(
        self, accepted: Sequence[tuple[ParsedRow[TrackerRow], TrackedValueDraft]], refused: list[Any], points: Decimal
    ) -> BatchResult:
        return BatchResult(
            imported=len(accepted),
            rejects=refused,
            points=points,
            corrections=[(row, correction) for row, _ in accepted for correction in row.value.corrections],
        )

    async def check(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[TrackerRow]], now: datetime
    ) -> BatchResult:
        accepted, refused = await self._drafts(connection, rows, lock=False)
        points = sum(
            (trackers_service.points_for(self.org, self.tracker, draft.value) for _, draft in accepted), Decimal(0)
        )
        return self._result(accepted, refused, points)

    async def apply(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[TrackerRow]], now: datetime, job_id: int
    ) -> BatchResult:
        accepted, refused = await self._drafts(connection, rows, lock=True)
        results = (
            await trackers_service.add_tracker_values(
                connection, self.org, self.tracker, [draft for _, draft in accepted], now, import_job_id=job_id
            )
            if accepted
            else []
        )
        return self._result(accepted, refused, sum((result.points for result in results), Decimal(0)))


class TrackersProfile(Profile[TrackerImportConfig]):
    name = ImportProfile.TRACKERS
    # Which columns are required depends on the configuration and the tracker (checked on the first row).
    columns = Columns(
        required=(VALUE_COLUMN,),
        optional=(
            *(CUSTOMER_COLUMNS[kind] for kind in TRACKER_IDENTIFIER_TYPES),
            GROUP_COLUMN,
            BILL_NUMBER_COLUMN,
            DATE_COLUMN,
            STORE_COLUMN,
            LOG_ID_COLUMN,
            ITEM_COLUMN,
        ),
    )

    def configure(self, raw: Mapping[str, Any]) -> TrackerImportConfig:
        check_known_settings(raw, TrackerImportConfig)
        tracker_code = text_setting(raw, "tracker_code", "trackerCode", CODE_LENGTH_MAX)
        if tracker_code is None:
            raise ValidationError("a trackers import names its tracker", field="trackerCode")
        kind = enum_setting(
            raw, "unique_identifier_type", CustomerIdentifierType, CustomerIdentifierType.MOBILE, "uniqueIdentifierType"
        )
        if kind not in TRACKER_IDENTIFIER_TYPES:
            raise ValidationError(
                f"must be one of {', '.join(kind.value for kind in TRACKER_IDENTIFIER_TYPES)}",
                field="uniqueIdentifierType",
            )
        return TrackerImportConfig(
            tracker_code=tracker_code,
            bill_identification=enum_setting(
                raw, "bill_identification", BillIdentification, BillIdentification.STANDARD_FIELDS, "billIdentification"
            ),
            unique_identifier_type=kind,
            append_country_code=bool_setting(raw, "append_country_code", False, "appendCountryCode"),
            stores_by_external_id=bool_setting(raw, "stores_by_external_id", False, "storesByExternalId"),
            replacement_store_code=text_setting(raw, "replacement_store_code", "replacementStoreCode"),
            user_groups_enabled=bool_setting(raw, "user_groups_enabled", False, "userGroupsEnabled"),
            user_group_identifier_type=enum_setting(
                raw,
                "user_group_identifier_type",
                GroupIdentifierType,
                GroupIdentifierType.EXTERNAL_ID,
                "userGroupIdentifierType",
            ),
        )

    def configuration_document(self, config: TrackerImportConfig) -> dict[str, Any]:
        return settings_document(config)

    async def start(self, connection: AsyncConnection, org: OrgConfig, config: TrackerImportConfig) -> TrackersRun:
        tracker = await trackers_service.find_tracker(connection, org.id, config.tracker_code, "trackerCode")
        return TrackersRun(org, config, tracker)
