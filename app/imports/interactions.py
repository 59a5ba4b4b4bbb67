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

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.imports.customer_reports import (
    ReportImportConfig,
    ReportsProfile,
    ReportsRun,
    column_of,
    customer_lookup,
    enum_cell,
    time_cell,
)
from app.imports.holders import CUSTOMER_COLUMNS, IDENTIFIER_TYPES
from app.imports.models import ImportProfile
from app.imports.profiles import Columns, RowError
from app.interactions import rules
from app.interactions.service import record_checked
from app.interactions.views import Channel, CheckedInteraction, Direction, InteractionInput, InteractionStatus
from app.kernel.errors import ValidationError
from app.organizations.config import OrgConfig

OPTIONAL_TEXT_COLUMNS = ("account", "template", "subject", "body_preview")
TIME_COLUMNS = ("status_at", "sent_at", "delivered_at")


class InteractionsRun(ReportsRun[CheckedInteraction]):
    def parse(self, row: Mapping[str, str]) -> CheckedInteraction | RowError:
        customer = self.customer_cell(row)
        if isinstance(customer, RowError):
            return customer
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


class InteractionsProfile(ReportsProfile):
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

    async def start(self, connection: AsyncConnection, org: OrgConfig, config: ReportImportConfig) -> InteractionsRun:
        return InteractionsRun(org, config, record_checked)
