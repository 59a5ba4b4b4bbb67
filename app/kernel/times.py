"""Times a caller reports, and local days as instants. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import overload
from zoneinfo import ZoneInfo

from app.kernel.errors import ValidationError


@overload
def utc_time(value: datetime, field: str) -> datetime: ...
@overload
def utc_time(value: datetime | None, field: str) -> datetime | None: ...
def utc_time(value: datetime | None, field: str) -> datetime | None:
    """A reported time in UTC (None passes); one without a time zone offset is refused (it would
    mean different moments to the sender and to us)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError("must include a time zone offset", field=field)
    try:
        return value.astimezone(UTC)
    except OverflowError as error:  # e.g. 9999-12-31T23:59:59-05:00
        raise ValidationError("is out of range", field=field) from error


def start_of_local_day(day: date, time_zone: ZoneInfo) -> datetime:
    """The moment `day` begins in `time_zone`, in UTC (a local day's bounds: an expiry run "as of"
    a date, a filter or a return window of calendar days)."""
    return datetime.combine(day, time(0), tzinfo=time_zone).astimezone(UTC)


@overload
def local_iso(moment: datetime, time_zone: ZoneInfo) -> str: ...
@overload
def local_iso(moment: datetime | None, time_zone: ZoneInfo) -> str | None: ...
def local_iso(moment: datetime | None, time_zone: ZoneInfo) -> str | None:
    """A moment as member care shows it beside UTC: ISO 8601 in the organisation's time zone, with
    its offset ("2026-11-25T12:00:00+05:30"); None passes."""
    return moment.astimezone(time_zone).isoformat() if moment is not None else None


def local_day(moment: datetime, time_zone: ZoneInfo) -> date:
    """The calendar day a moment falls on in the time zone (seed 004's Date columns)."""
    return moment.astimezone(time_zone).date()
