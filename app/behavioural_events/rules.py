"""The checks of a reported behavioural event, the till code that wins, and what makes a repeat
the same event. Pure: no I/O."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.behavioural_events.errors import TrackingIdConflictError
from app.behavioural_events.views import BehaviouralEventInput, BehaviouralEventView, CheckedEvent, EventFilter
from app.kernel.errors import ValidationError
from app.kernel.text import check_code, check_required_code, check_text
from app.kernel.times import start_of_local_day, utc_time

BATCH_SIZE_MAX = 1000
TRACKING_ID_LENGTH_MAX = 200
EVENT_NAME_LENGTH_MAX = 100
ACCOUNT_ID_LENGTH_MAX = 100
TILL_CODE_LENGTH_MAX = 100
ATTRIBUTES_KEYS_MAX = 50
ATTRIBUTES_LENGTH_MAX = 4000  # characters of the attributes as compact JSON
ATTRIBUTES_DEPTH_MAX = 4
ATTRIBUTE_KEY_LENGTH_MAX = 100
TILL_CODE_ATTRIBUTE = "tillCode"


def _check_value(value: Any, field: str, depth: int) -> None:
    """A JSON value of the attributes: text free of control characters, finite numbers, and
    objects and lists nested no deeper than ATTRIBUTES_DEPTH_MAX (the attributes themselves: 1)."""
    if isinstance(value, (dict, list)) and depth > ATTRIBUTES_DEPTH_MAX:
        raise ValidationError(f"must not nest deeper than {ATTRIBUTES_DEPTH_MAX} levels", field=field)
    if isinstance(value, str):
        check_text(value, field, ATTRIBUTES_LENGTH_MAX)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("must be a finite number", field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_required_code(key, f"{field}.{key}" if key.strip() else field, ATTRIBUTE_KEY_LENGTH_MAX)
            _check_value(item, f"{field}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{field}[{index}]", depth + 1)
    elif value is not None and not isinstance(value, (bool, int, float)):
        raise ValidationError("must be JSON", field=field)


def check_attributes(attributes: Any, field: str) -> dict[str, Any] | None:
    """A JSON object of at most 50 keys and 4,000 characters (as compact JSON)."""
    if attributes is None:
        return None
    if not isinstance(attributes, dict):
        raise ValidationError("must be a JSON object", field=field)
    if len(attributes) > ATTRIBUTES_KEYS_MAX:
        raise ValidationError(f"must have at most {ATTRIBUTES_KEYS_MAX} keys", field=field)
    _check_value(attributes, field, 1)
    if len(json.dumps(attributes, separators=(",", ":"), ensure_ascii=False)) > ATTRIBUTES_LENGTH_MAX:
        raise ValidationError(f"must be at most {ATTRIBUTES_LENGTH_MAX} characters as JSON", field=field)
    return attributes


def winning_till_code(data: BehaviouralEventInput, path: str) -> str | None:
    """The event's own `tillCode` attribute when it has one, else the integration's (seed 004: the
    till code tagged in the webhook or other integration is not considered then)."""
    integration = check_code(data.till_code, f"{path}.tillCode", TILL_CODE_LENGTH_MAX)
    if data.attributes is None or TILL_CODE_ATTRIBUTE not in data.attributes:
        return integration
    own = data.attributes[TILL_CODE_ATTRIBUTE]
    field = f"{path}.attributes.{TILL_CODE_ATTRIBUTE}"
    if not isinstance(own, str):
        raise ValidationError("must be text", field=field)
    return check_required_code(own, field, TILL_CODE_LENGTH_MAX)


def check_event(data: BehaviouralEventInput, path: str) -> CheckedEvent:
    """The report with its time in UTC and its winning till code; INVALID_INPUT naming the first
    field at fault."""
    tracking_id = check_required_code(data.tracking_id, f"{path}.trackingId", TRACKING_ID_LENGTH_MAX)
    event_name = check_required_code(data.event_name, f"{path}.eventName", EVENT_NAME_LENGTH_MAX)
    occurred_at = utc_time(data.occurred_at, f"{path}.occurredAt")
    check_code(data.account_id, f"{path}.accountId", ACCOUNT_ID_LENGTH_MAX)
    check_attributes(data.attributes, f"{path}.attributes")
    till_code = winning_till_code(data, path)
    source = replace(data, tracking_id=tracking_id, event_name=event_name)
    return CheckedEvent(source=source, path=path, occurred_at=occurred_at, till_code=till_code)


def check_repeat(stored: BehaviouralEventView, checked: CheckedEvent, customer_id: int) -> None:
    """A repeat of a stored tracking id must be the same event: TRACKING_ID_CONFLICT naming the
    first field that differs otherwise."""
    data, path = checked.source, checked.path
    differences = (
        ("customer", stored.customer_id != customer_id),
        ("eventName", stored.event_name != data.event_name),
        ("occurredAt", stored.occurred_at != checked.occurred_at),
        ("source", stored.source != data.source),
        ("accountId", stored.account_id != data.account_id),
        ("tillCode", stored.integration_till_code != data.till_code),
        ("attributes", stored.attributes != data.attributes),
    )
    for field, differs in differences:
        if differs:
            raise TrackingIdConflictError(
                f"tracking id {data.tracking_id!r} was recorded with another {field}", field=f"{path}.{field}"
            )


def time_range(event_filter: EventFilter, time_zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The filter's days (inclusive, in the organisation's time zone) as [start, end) in UTC;
    INVALID_INPUT when the end comes before the start or the event name is not a code."""
    check_code(event_filter.event_name, "filter.eventName", EVENT_NAME_LENGTH_MAX)
    start, end = event_filter.start_date, event_filter.end_date
    if start is not None and end is not None and end < start:
        raise ValidationError("must not be before startDate", field="filter.endDate")
    return _start_of_day(start, time_zone, days_later=0), _start_of_day(end, time_zone, days_later=1)


def _start_of_day(day: date | None, time_zone: ZoneInfo, *, days_later: int) -> datetime | None:
    """The start of the day `days_later` days after `day`, in UTC; None (no bound) past the calendar."""
    if day is None:
        return None
    try:
        return start_of_local_day(day + timedelta(days=days_later), time_zone)
    except OverflowError:
        return None


def new_view(event_id: int, customer_id: int, checked: CheckedEvent, now: datetime) -> BehaviouralEventView:
    """A new event as it is stored."""
    data = checked.source
    return BehaviouralEventView(
        id=event_id,
        customer_id=customer_id,
        tracking_id=data.tracking_id,
        event_name=data.event_name,
        occurred_at=checked.occurred_at,
        source=data.source,
        account_id=data.account_id,
        till_code=checked.till_code,
        integration_till_code=data.till_code,
        attributes=data.attributes,
        recorded_at=now,
    )
