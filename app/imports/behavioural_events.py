"""Profile BEHAVIOURAL_EVENTS: years of behavioural events brands' systems captured (member
care's Behavioural Events tab), recorded as recordBehaviouralEvents records them
(app.behavioural_events.service): once per tracking id, a repeat of the same event is imported
without a second copy, another event with a recorded tracking id is rejected (TRACKING_ID_CONFLICT).

Columns (header names case-insensitive, in any order):
- the customer, in the column of the configuration's unique identifier type: `mobile`, `email`,
  `external_id` or `user_id`;
- `tracking_id`, `event_name`, `occurred_at` (ISO 8601 with an offset), `source` (INSTORE,
  WEBENGAGE, WECHAT, ECOMMERCE, MOBILE_APP, WEBSITE, SURVEY, OTHERS);
- optional: `account_id`, `till_code` (the integration's: an attribute `tillCode` wins over it),
  `attributes` (a JSON object, as recordBehaviouralEvents bounds it).

Configuration: unique_identifier_type (MOBILE by default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.behavioural_events import rules
from app.behavioural_events.service import record_checked
from app.behavioural_events.views import BehaviouralEventInput, CheckedEvent, EventSource
from app.imports.customer_reports import (
    QUOTED_CHARS_MAX,
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
from app.kernel.errors import ValidationError
from app.organizations.config import OrgConfig


def _attributes(row: Mapping[str, str]) -> Any:
    text = row.get("attributes", "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return RowError("INVALID_ATTRIBUTES", f"{text[:QUOTED_CHARS_MAX]!r} is not JSON", "attributes")


class BehaviouralEventsRun(ReportsRun[CheckedEvent]):
    def parse(self, row: Mapping[str, str]) -> CheckedEvent | RowError:
        customer = self.customer_cell(row)
        if isinstance(customer, RowError):
            return customer
        source = enum_cell(row, "source", EventSource)
        occurred_at = time_cell(row, "occurred_at")
        attributes = _attributes(row)
        for value in (source, occurred_at, attributes):
            if isinstance(value, RowError):
                return value
        if not isinstance(occurred_at, datetime):
            return RowError("MISSING_VALUE", "occurred_at is empty", "occurred_at")
        data = BehaviouralEventInput(
            customer=customer_lookup(self.kind, customer),
            tracking_id=row["tracking_id"],
            event_name=row["event_name"],
            occurred_at=occurred_at,
            source=source,
            account_id=row.get("account_id", "") or None,
            till_code=row.get("till_code", "") or None,
            attributes=attributes,
        )
        try:
            return rules.check_event(data, "row")
        except ValidationError as error:
            field = error.field or ""
            # An attribute's field names its path inside the JSON: the column is `attributes`.
            column = "attributes" if ".attributes" in field else column_of(error.field, self.customer_column)
            return RowError("INVALID_VALUE", error.message, column)


class BehaviouralEventsProfile(ReportsProfile):
    name = ImportProfile.BEHAVIOURAL_EVENTS
    columns = Columns(
        required=("tracking_id", "event_name", "occurred_at", "source"),
        optional=(*(CUSTOMER_COLUMNS[kind] for kind in IDENTIFIER_TYPES), "account_id", "till_code", "attributes"),
    )

    async def start(
        self, connection: AsyncConnection, org: OrgConfig, config: ReportImportConfig
    ) -> BehaviouralEventsRun:
        return BehaviouralEventsRun(org, config, record_checked)
