"""What the behavioural events' service, rules and repository hand each other and the layers
above: the sources, an event as reported and as stored. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from app.customers.service import CustomerLookup


class EventSource(StrEnum):
    INSTORE = "INSTORE"
    WEBENGAGE = "WEBENGAGE"
    WECHAT = "WECHAT"
    ECOMMERCE = "ECOMMERCE"
    MOBILE_APP = "MOBILE_APP"
    WEBSITE = "WEBSITE"
    SURVEY = "SURVEY"
    OTHERS = "OTHERS"


@dataclass(frozen=True)
class BehaviouralEventInput:
    """One event as an integration reports it. `till_code` is the integration's (the till its
    webhook is tagged with); an event's own `tillCode` attribute wins over it (seed 004)."""

    customer: CustomerLookup
    tracking_id: str
    event_name: str
    occurred_at: datetime
    source: EventSource
    account_id: str | None = None
    till_code: str | None = None
    attributes: dict[str, Any] | None = None


@dataclass(frozen=True)
class CheckedEvent:
    """A report that passed its checks: the time in UTC and the till code that won."""

    source: BehaviouralEventInput
    path: str
    occurred_at: datetime
    till_code: str | None


@dataclass(frozen=True, slots=True)
class BehaviouralEventView:
    id: int
    customer_id: int
    tracking_id: str
    event_name: str
    occurred_at: datetime
    source: EventSource
    account_id: str | None
    till_code: str | None
    integration_till_code: str | None
    attributes: dict[str, Any] | None
    recorded_at: datetime


@dataclass(frozen=True)
class EventRecorded:
    event: BehaviouralEventView
    replayed: bool  # the tracking id was recorded before with this payload: nothing was written


@dataclass(frozen=True)
class EventFilter:
    """Member care's filters: an event name, a source, days in the organisation's time zone."""

    event_name: str | None = None
    source: EventSource | None = None
    start_date: date | None = None
    end_date: date | None = None
