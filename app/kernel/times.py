"""Checks of times a caller reports. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

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
