"""Profile INTERACTIONS: years of messages brands' systems sent or received (member care's
Interactions tab), recorded as recordInteractions records them (app.interactions.service):
idempotent by message id per channel, a new status joins the message's history, other changed
details are refused (INTERACTION_CONFLICT).

Columns (header names case-insensitive, in any order):
- the customer, in the column of the configuration's unique identifier type: `mobile`, `email`,
  `external_id` or `user_id` (other identifier columns may be present and are not read);
- `message_id`, `channel` (SMS, EMAIL, WECHAT, WEBENGAGE, SURVEY), `direction` (OUTBOUND,
  INBOUND), `status` and `status_at` (ISO 8601 with an offset: history has its own times);
- optional: `account`, `template`, `subject`, `body_preview`, `sent_at`, `delivered_at`.

Configuration: unique_identifier_type (MOBILE by default).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.service import CustomerLookup
from app.imports.holders import (
    CUSTOMER_COLUMNS,
    CustomerIdentifierType,
    check_known_settings,
    enum_setting,
    require_columns,
    settings_document,
)
from app.imports.models import ImportProfile
from app.imports.profiles import BatchResult, Columns, ParsedRow, Profile, ProfileRun, RowError
from app.interactions import rules
from app.interactions.service import record_checked
from app.interactions.views import Channel, CheckedInteraction, Direction, InteractionInput, InteractionStatus
from app.kernel.enums import IdentifierType
from app.kernel.errors import DomainError, ValidationError
from app.organizations.config import OrgConfig

IDENTIFIER_TYPES = (
    CustomerIdentifierType.MOBILE,
    CustomerIdentifierType.EMAIL,
    CustomerIdentifierType.EXTERNAL_ID,
    CustomerIdentifierType.USER_ID,
)
OPTIONAL_TEXT_COLUMNS = ("account", "template", "subject", "body_preview")
TIME_COLUMNS = ("status_at", "sent_at", "delivered_at")
QUOTED_CHARS_MAX = 40
CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True)
class InteractionImportConfig:
    unique_identifier_type: CustomerIdentifierType = CustomerIdentifierType.MOBILE


def column_of(field: str | None, customer_column: str) -> str | None:
    """The file's column for a service error's field ("12.bodyPreview" -> "body_preview")."""
    if field is None:
        return None
    name = field.rsplit(".", 1)[-1]
    return customer_column if name in ("customer", "value") else CAMEL_HUMP.sub("_", name).lower()


def enum_cell(row: Mapping[str, str], column: str, enum: type[StrEnum]) -> Any:
    text = row[column].strip().upper()
    if text not in enum.__members__:
        return RowError(
            f"INVALID_{column.upper()}",
            f"{text[:QUOTED_CHARS_MAX]!r} is not one of {', '.join(enum.__members__)}",
            column,
        )
    return enum(text)


def time_cell(row: Mapping[str, str], column: str) -> datetime | RowError | None:
    text = row.get(column, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return RowError("INVALID_TIME", f"{text[:QUOTED_CHARS_MAX]!r} is not an ISO 8601 time", column)
    if moment.tzinfo is None:
        return RowError("INVALID_TIME", f"{text[:QUOTED_CHARS_MAX]!r} has no time zone offset", column)
    return moment


def customer_lookup(kind: CustomerIdentifierType, value: str) -> CustomerLookup:
    return CustomerLookup(None if kind is CustomerIdentifierType.USER_ID else IdentifierType(kind.value), value)


def batch_result(
    rows: Sequence[ParsedRow[Any]], results: Mapping[str, DomainError | object], customer_column: str
) -> BatchResult:
    """What a batch did from the recording service's results by row number: a DomainError is the
    row's reject, anything else an imported row."""
    result = BatchResult()
    for row in rows:
        outcome = results[str(row.row_number)]
        if isinstance(outcome, DomainError):
            result.rejects.append(
                (row, RowError(outcome.code, outcome.message, column_of(outcome.field, customer_column)))
            )
        else:
            result.imported += 1
    return result


def identifier_type_setting(raw: Mapping[str, Any], config_type: type) -> CustomerIdentifierType:
    """The configuration's only setting: which column names the customer (MOBILE by default)."""
    check_known_settings(raw, config_type)
    kind: CustomerIdentifierType = enum_setting(
        raw, "unique_identifier_type", CustomerIdentifierType, CustomerIdentifierType.MOBILE, "uniqueIdentifierType"
    )
    if kind not in IDENTIFIER_TYPES:
        raise ValidationError(
            f"must be one of {', '.join(kind.value for kind in IDENTIFIER_TYPES)}", field="uniqueIdentifierType"
        )
    return kind


class InteractionsRun(ProfileRun[CheckedInteraction]):
    def __init__(self, org: OrgConfig, config: InteractionImportConfig) -> None:
        self.org = org
        self.kind = config.unique_identifier_type
        self.customer_column = CUSTOMER_COLUMNS[self.kind]
        self._header_checked = False

    def parse(self, row: Mapping[str, str]) -> CheckedInteraction | RowError:
        if not self._header_checked:
            require_columns(list(row), [self.customer_column], f"customers are named by {self.kind.value}")
            self._header_checked = True
        customer = row[self.customer_column].strip()
        if not customer:
            return RowError("MISSING_VALUE", f"{self.customer_column} is empty", self.customer_column)
        cells: dict[str, Any] = {}
        for column, enum in (("channel", Channel), ("direction", Direction), ("status", InteractionStatus)):
            cells[column] = enum_cell(row, column, enum)
        for column in TIME_COLUMNS:
            cells[column] = time_cell(row, column)
        for value in cells.values():
            if isinstance(value, RowError):
                return value
        if cells["status_at"] is None:
            return RowError("MISSING_VALUE", "status_at is empty", "status_at")
        texts = {column: row.get(column, "") or None for column in OPTIONAL_TEXT_COLUMNS}
        data = InteractionInput(
            customer=customer_lookup(self.kind, customer),
            message_id=row["message_id"],
            channel=cells["channel"],
            direction=cells["direction"],
            status=cells["status"],
            status_at=cells["status_at"],
            account=texts["account"],
            template=texts["template"],
            subject=texts["subject"],
            body_preview=texts["body_preview"],
            sent_at=cells["sent_at"],
            delivered_at=cells["delivered_at"],
        )
        try:
            return rules.check_interaction(data, "row", cells["status_at"])
        except ValidationError as error:
            return RowError("INVALID_VALUE", error.message, column_of(error.field, self.customer_column))

    async def _record(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[CheckedInteraction]], now: datetime, write: bool
    ) -> BatchResult:
        batch = [dataclasses.replace(row.value, path=str(row.row_number)) for row in rows]
        results = await record_checked(connection, self.org, batch, now, write=write)
        return batch_result(rows, results, self.customer_column)

    async def check(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[CheckedInteraction]], now: datetime
    ) -> BatchResult:
        return await self._record(connection, rows, now, write=False)

    async def apply(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[CheckedInteraction]], now: datetime, job_id: int
    ) -> BatchResult:
        return await self._record(connection, rows, now, write=True)


class InteractionsProfile(Profile[InteractionImportConfig]):
    name = ImportProfile.INTERACTIONS
    columns = Columns(
        required=("message_id", "channel", "direction", "status", "status_at"),
        optional=(
            *(CUSTOMER_COLUMNS[kind] for kind in IDENTIFIER_TYPES),
            *OPTIONAL_TEXT_COLUMNS,
            "sent_at",
            "delivered_at",
        ),
    )

    def configure(self, raw: Mapping[str, Any]) -> InteractionImportConfig:
        return InteractionImportConfig(unique_identifier_type=identifier_type_setting(raw, InteractionImportConfig))

    def configuration_document(self, config: InteractionImportConfig) -> dict[str, Any]:
        return settings_document(config)

    async def start(
        self, connection: AsyncConnection, org: OrgConfig, config: InteractionImportConfig
    ) -> InteractionsRun:
        return InteractionsRun(org, config)
