"""What the profiles of reports brands' systems made about customers (INTERACTIONS,
BEHAVIOURAL_EVENTS) share: the customer named by the column of the configuration's unique
identifier type (the only setting, MOBILE by default), cells read as the recording service's
input, rows recorded as that service records a batch (its errors are the rows' rejects)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.service import CustomerLookup
from app.imports.holders import (
    CUSTOMER_COLUMNS,
    CustomerIdentifierType,
    identifier_type_setting,
    require_columns,
    settings_document,
)
from app.imports.profiles import BatchResult, ParsedRow, Profile, ProfileRun, RowError
from app.kernel.enums import IdentifierType
from app.kernel.errors import DomainError
from app.organizations.config import OrgConfig

QUOTED_CHARS_MAX = 40
CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True)
class ReportImportConfig:
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


class CheckedReport(Protocol):
    """A checked report: a dataclass whose path names it in the service's results."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def path(self) -> str: ...


CheckedT = TypeVar("CheckedT", bound=CheckedReport)
CheckedContra = TypeVar("CheckedContra", bound=CheckedReport, contravariant=True)


class RecordChecked(Protocol[CheckedContra]):
    """A recording service's `record_checked`: each result by its item's path."""

    def __call__(
        self, connection: AsyncConnection, org: OrgConfig, batch: Sequence[CheckedContra], now: datetime, *, write: bool
    ) -> Awaitable[Mapping[str, DomainError | object]]: ...


class ReportsRun(ProfileRun[CheckedT]):
    """Rows recorded by the service's `record_checked`, each with its row number as its path."""

    def __init__(self, org: OrgConfig, config: ReportImportConfig, record_checked: RecordChecked[CheckedT]) -> None:
        self.org = org
        self.record_checked = record_checked
        self.kind = config.unique_identifier_type
        self.customer_column = CUSTOMER_COLUMNS[self.kind]
        self._header_checked = False

    def customer_cell(self, row: Mapping[str, str]) -> str | RowError:
        """The row's customer (the header must have the identifier type's column)."""
        if not self._header_checked:
            require_columns(list(row), [self.customer_column], f"customers are named by {self.kind.value}")
            self._header_checked = True
        customer = row[self.customer_column].strip()
        if not customer:
            return RowError("MISSING_VALUE", f"{self.customer_column} is empty", self.customer_column)
        return customer

    async def _record(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[CheckedT]], now: datetime, write: bool
    ) -> BatchResult:
        batch = [dataclasses.replace(row.value, path=str(row.row_number)) for row in rows]
        results = await self.record_checked(connection, self.org, batch, now, write=write)
        return batch_result(rows, results, self.customer_column)

    async def check(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[CheckedT]], now: datetime
    ) -> BatchResult:
        return await self._record(connection, rows, now, write=False)

    async def apply(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[CheckedT]], now: datetime, job_id: int
    ) -> BatchResult:
        return await self._record(connection, rows, now, write=True)


class ReportsProfile(Profile[ReportImportConfig]):
    def configure(self, raw: Mapping[str, Any]) -> ReportImportConfig:
        return ReportImportConfig(unique_identifier_type=identifier_type_setting(raw, ReportImportConfig))

    def configuration_document(self, config: ReportImportConfig) -> dict[str, Any]:
        return settings_document(config)
