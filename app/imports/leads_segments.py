"""Profiles LEADS and SEGMENT_MEMBERS: a brand's years of leads and segment memberships (seed 004).

What both share: the customer column of the configured unique identifier type (`mobile`,
`email`, `external_id` or `user_id`; a mobile without its country code is completed with
`append_country_code`, and said so), found a batch at a time and locked as merges lock them; a
customer merged into another is its survivor (who holds its leads and memberships since the
merge), as for createLead and addSegmentMembers.

LEADS columns (names case-insensitive, any order): the customer column, `lead_type`, `lead_for`
(required), `status` (OPEN, IN_PROGRESS, WON, LOST; OPEN when empty), `sub_status`,
`created_at` (when the lead was made: an ISO time with its offset, or a date read as midnight
in the organisation's time zone; the import's time when empty, never in the future),
`last_follow_up_at`, `next_follow_up_at` (same forms; a history may have any dates), and
`extended_fields` (a JSON object of names to text values, as createLead takes them). Each row
is one new lead with its first status history row at `created_at`.

SEGMENT_MEMBERS columns: the customer column, `segment_code` (an existing segment), `action`
(ADD or REMOVE; ADD when empty). Each row adds (or removes) one membership; a row that changes
nothing (a member already, or not one) is imported and writes no history, as the mutations
do. Changes are recorded with the source IMPORT.

Configuration of both: unique_identifier_type, append_country_code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import service as customers_service
from app.imports.holders import (
    CUSTOMER_COLUMNS,
    IDENTIFIER_TYPES,
    CustomerIdentifierType,
    HolderColumns,
    bool_setting,
    identifier_type_setting,
    settings_document,
)
from app.imports.models import ImportProfile
from app.imports.profiles import BatchResult, Columns, Correction, ParsedRow, Profile, ProfileRun, RowError
from app.kernel.errors import ValidationError
from app.kernel.text import check_required_code
from app.leads import service as leads
from app.leads.models import LEAD_FOR_LENGTH_MAX, LEAD_TYPE_LENGTH_MAX, LeadStatus
from app.organizations.config import OrgConfig
from app.segments import service as segments
from app.user_groups.service import GroupIdentifierType

CUSTOMER_COLUMN_NAMES = tuple(CUSTOMER_COLUMNS[kind] for kind in IDENTIFIER_TYPES)


@dataclass(frozen=True)
class CustomerImportConfig:
    """How rows name their customer. (The holder settings these profiles have no use for are
    fixed: no stores, no user groups.)"""

    unique_identifier_type: CustomerIdentifierType = CustomerIdentifierType.MOBILE
    append_country_code: bool = False

    stores_by_external_id = False
    replacement_store_code = None
    user_groups_enabled = False
    user_group_identifier_type = GroupIdentifierType.EXTERNAL_ID


def _configure(raw: Mapping[str, Any]) -> CustomerImportConfig:
    kind = identifier_type_setting(raw, CustomerImportConfig)
    return CustomerImportConfig(kind, bool_setting(raw, "append_country_code", False, "appendCountryCode"))


def _time_cell(raw: str, column: str, org: OrgConfig) -> datetime | RowError | None:
    """An ISO time with its offset, or a date (midnight in the org's time zone); None when empty."""
    text = raw.strip()
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), org.time_zone).astimezone(UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return RowError("INVALID_TIME", f"{text[:40]!r} is not a time (ISO 8601 with offset, or a date)", column)
    if moment.tzinfo is None:
        return RowError("INVALID_TIME", f"{text[:40]!r} has no time zone offset", column)
    return moment.astimezone(UTC)


class _CustomerRows:
    """The customer part of a run: parse a row's customer, find a batch's customers."""

    def __init__(self, org: OrgConfig, config: CustomerImportConfig) -> None:
        self.org = org
        self.holders = HolderColumns(org, config)
        self._header_checked = False

    def customer(self, row: Mapping[str, str], corrections: list[Correction]) -> str | RowError:
        if not self._header_checked:
            self.holders.require(list(row))
            self._header_checked = True
        parsed = self.holders.parse(row, corrections)
        if isinstance(parsed, RowError):
            return parsed
        assert parsed[0] is not None  # without user groups a row always names its customer
        return parsed[0]

    async def customer_ids(
        self, connection: AsyncConnection, customers: Sequence[str], *, lock: bool
    ) -> list[int | RowError]:
        """Each row's customer id, or why it has none: a fixed number of statements a batch."""
        lookup = await self.holders.find(connection, customers, [], None)
        named_ids = {value for value in lookup.customers.values() if isinstance(value, int)}
        survivor = await customers_service.survivors(connection, named_ids, lock=lock)
        found: list[int | RowError] = []
        for customer in customers:
            named = self.holders.resolve(lookup, customer, None)
            if isinstance(named, RowError):
                found.append(named)
                continue
            customer_id = named[0]
            assert customer_id is not None
            found.append(survivor[customer_id])
        return found


# --- LEADS ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadRow:
    customer: str
    lead_type: str
    lead_for: str
    status: LeadStatus
    sub_status: str | None
    created_at: datetime | None
    last_follow_up_at: datetime | None
    next_follow_up_at: datetime | None
    extended_fields: dict[str, str]
    corrections: tuple[Correction, ...]


class LeadsRun(ProfileRun[LeadRow]):
    def __init__(self, org: OrgConfig, config: CustomerImportConfig) -> None:
        self.org = org
        self.customers = _CustomerRows(org, config)

    def parse(self, row: Mapping[str, str]) -> LeadRow | RowError:
        corrections: list[Correction] = []
        customer = self.customers.customer(row, corrections)
        if isinstance(customer, RowError):
            return customer
        try:
            lead_type = check_required_code(row["lead_type"], "lead_type", LEAD_TYPE_LENGTH_MAX)
            lead_for = check_required_code(row["lead_for"], "lead_for", LEAD_FOR_LENGTH_MAX)
            sub_status = leads.check_sub_status(row.get("sub_status"), "sub_status")
        except ValidationError as error:
            return RowError("INVALID_VALUE", f"{error.field} {error.message}", error.field)
        status_text = row.get("status", "").strip().upper() or LeadStatus.OPEN.value
        if status_text not in LeadStatus.__members__:
            return RowError("INVALID_STATUS", f"{status_text[:40]!r} is not one of {', '.join(LeadStatus)}", "status")
        times: dict[str, datetime | None] = {}
        for column in ("created_at", "last_follow_up_at", "next_follow_up_at"):
            moment = _time_cell(row.get(column, ""), column, self.org)
            if isinstance(moment, RowError):
                return moment
            times[column] = moment
        extended = self._extended_fields(row.get("extended_fields", ""))
        if isinstance(extended, RowError):
            return extended
        return LeadRow(
            customer,
            lead_type,
            lead_for,
            LeadStatus(status_text),
            sub_status,
            times["created_at"],
            times["last_follow_up_at"],
            times["next_follow_up_at"],
            extended,
            tuple(corrections),
        )

    @staticmethod
    def _extended_fields(raw: str) -> dict[str, str] | RowError:
        if not raw.strip():
            return {}
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return RowError("INVALID_EXTENDED_FIELDS", "is not a JSON object", "extended_fields")
        if not isinstance(document, dict) or not all(isinstance(value, str) for value in document.values()):
            return RowError("INVALID_EXTENDED_FIELDS", "must be a JSON object of text values", "extended_fields")
        try:
            return leads.check_extended_fields(list(document.items()), "extended_fields")
        except ValidationError as error:
            return RowError("INVALID_EXTENDED_FIELDS", f"{error.field} {error.message}", "extended_fields")

    async def _accepted(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[LeadRow]], now: datetime, *, lock: bool
    ) -> tuple[list[tuple[ParsedRow[LeadRow], int]], list[tuple[ParsedRow[LeadRow], RowError]]]:
        found = await self.customers.customer_ids(connection, [row.value.customer for row in rows], lock=lock)
        accepted: list[tuple[ParsedRow[LeadRow], int]] = []
        refused: list[tuple[ParsedRow[LeadRow], RowError]] = []
        for row, customer_id in zip(rows, found, strict=True):
            if isinstance(customer_id, RowError):
                refused.append((row, customer_id))
            elif row.value.created_at is not None and row.value.created_at > now:
                refused.append((row, RowError("INVALID_TIME", "a lead cannot be created in the future", "created_at")))
            else:
                accepted.append((row, customer_id))
        return accepted, refused

    @staticmethod
    def _result(accepted: Sequence[tuple[ParsedRow[LeadRow], int]], refused: list[Any]) -> BatchResult:
        return BatchResult(
            imported=len(accepted),
            rejects=refused,
            corrections=[(row, correction) for row, _ in accepted for correction in row.value.corrections],
        )

    async def check(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[LeadRow]], now: datetime
    ) -> BatchResult:
        return self._result(*await self._accepted(connection, rows, now, lock=False))

    async def apply(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[LeadRow]], now: datetime, job_id: int
    ) -> BatchResult:
        accepted, refused = await self._accepted(connection, rows, now, lock=True)
        drafts = [
            leads.LeadDraft(
                customer_id,
                row.value.lead_type,
                row.value.lead_for,
                row.value.status,
                row.value.sub_status,
                row.value.extended_fields,
                next_follow_up_at=row.value.next_follow_up_at,
                last_follow_up_at=row.value.last_follow_up_at,
                created_at=row.value.created_at,
            )
            for row, customer_id in accepted
        ]
        await leads.insert_leads(connection, self.org, drafts, now)
        return self._result(accepted, refused)


class LeadsProfile(Profile[CustomerImportConfig]):
    name = ImportProfile.LEADS
    columns = Columns(
        required=("lead_type", "lead_for"),
        optional=(
            *CUSTOMER_COLUMN_NAMES,
            "status",
            "sub_status",
            "created_at",
            "last_follow_up_at",
            "next_follow_up_at",
            "extended_fields",
        ),
    )

    def configure(self, raw: Mapping[str, Any]) -> CustomerImportConfig:
        return _configure(raw)

    def configuration_document(self, config: CustomerImportConfig) -> dict[str, Any]:
        return settings_document(config)

    async def start(self, connection: AsyncConnection, org: OrgConfig, config: CustomerImportConfig) -> LeadsRun:
        return LeadsRun(org, config)


# --- SEGMENT_MEMBERS --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MembershipRow:
    customer: str
    segment_code: str
    add: bool
    corrections: tuple[Correction, ...]


class SegmentMembersRun(ProfileRun[MembershipRow]):
    def __init__(self, org: OrgConfig, config: CustomerImportConfig) -> None:
        self.org = org
        self.customers = _CustomerRows(org, config)

    def parse(self, row: Mapping[str, str]) -> MembershipRow | RowError:
        corrections: list[Correction] = []
        customer = self.customers.customer(row, corrections)
        if isinstance(customer, RowError):
            return customer
        try:
            code = segments.check_segment_code(row["segment_code"], "segment_code")
        except ValidationError as error:
            return RowError("INVALID_VALUE", f"segment_code {error.message}", "segment_code")
        action = row.get("action", "").strip().upper() or "ADD"
        if action not in ("ADD", "REMOVE"):
            return RowError("INVALID_ACTION", f"{action[:40]!r} is not ADD or REMOVE", "action")
        return MembershipRow(customer, code, action == "ADD", tuple(corrections))

    async def _accepted(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[MembershipRow]], *, lock: bool
    ) -> tuple[
        list[tuple[ParsedRow[MembershipRow], int, segments.SegmentView]],
        list[tuple[ParsedRow[MembershipRow], RowError]],
    ]:
        found = await self.customers.customer_ids(connection, [row.value.customer for row in rows], lock=lock)
        named = await segments.find_segments(connection, self.org, {row.value.segment_code for row in rows})
        accepted: list[tuple[ParsedRow[MembershipRow], int, segments.SegmentView]] = []
        refused: list[tuple[ParsedRow[MembershipRow], RowError]] = []
        for row, customer_id in zip(rows, found, strict=True):
            segment = named.get(row.value.segment_code)
            if isinstance(customer_id, RowError):
                refused.append((row, customer_id))
            elif segment is None:
                message = f"no segment with code {row.value.segment_code!r}"
                refused.append((row, RowError("SEGMENT_NOT_FOUND", message, "segment_code")))
            else:
                accepted.append((row, customer_id, segment))
        return accepted, refused

    @staticmethod
    def _result(accepted: Sequence[tuple[ParsedRow[MembershipRow], Any, Any]], refused: list[Any]) -> BatchResult:
        return BatchResult(
            imported=len(accepted),
            rejects=refused,
            corrections=[(row, correction) for row, _, _ in accepted for correction in row.value.corrections],
        )

    async def check(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[MembershipRow]], now: datetime
    ) -> BatchResult:
        return self._result(*await self._accepted(connection, rows, lock=False))

    async def apply(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[MembershipRow]], now: datetime, job_id: int
    ) -> BatchResult:
        accepted, refused = await self._accepted(connection, rows, lock=True)
        changes = [
            segments.MembershipChange(segment, customer_id, row.value.add) for row, customer_id, segment in accepted
        ]
        await segments.apply_changes(connection, self.org, changes, source=segments.SOURCE_IMPORT, now=now)
        return self._result(accepted, refused)


class SegmentMembersProfile(Profile[CustomerImportConfig]):
    name = ImportProfile.SEGMENT_MEMBERS
    columns = Columns(required=("segment_code",), optional=(*CUSTOMER_COLUMN_NAMES, "action"))

    def configure(self, raw: Mapping[str, Any]) -> CustomerImportConfig:
        return _configure(raw)

    def configuration_document(self, config: CustomerImportConfig) -> dict[str, Any]:
        return settings_document(config)

    async def start(
        self, connection: AsyncConnection, org: OrgConfig, config: CustomerImportConfig
    ) -> SegmentMembersRun:
        return SegmentMembersRun(org, config)
