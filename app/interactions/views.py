"""What the interactions' service, rules and repository hand each other and the layers above: the
channels, directions and statuses, a reported message, and a message as stored. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.customers.service import CustomerLookup


class Channel(StrEnum):
    SMS = "SMS"
    EMAIL = "EMAIL"
    WECHAT = "WECHAT"
    WEBENGAGE = "WEBENGAGE"
    SURVEY = "SURVEY"


class Direction(StrEnum):
    OUTBOUND = "OUTBOUND"  # the brand to the customer
    INBOUND = "INBOUND"  # the customer to the brand (a reply, a survey answer)


class InteractionStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    OPENED = "OPENED"
    CLICKED = "CLICKED"
    READ = "READ"
    RECEIVED = "RECEIVED"  # an inbound message arrived
    RESPONDED = "RESPONDED"  # a survey was answered
    FAILED = "FAILED"
    BOUNCED = "BOUNCED"
    UNSUBSCRIBED = "UNSUBSCRIBED"


class Outcome(StrEnum):
    RECORDED = "RECORDED"  # a message not seen before
    STATUS_CHANGED = "STATUS_CHANGED"  # a known message with a status (or delivery time) it did not have
    UNCHANGED = "UNCHANGED"  # a repeat of what is stored: nothing was written


@dataclass(frozen=True)
class InteractionInput:
    """One message as a sender reports it (times timezone-aware; `status_at` defaults to now)."""

    customer: CustomerLookup
    message_id: str
    channel: Channel
    direction: Direction
    status: InteractionStatus
    status_at: datetime | None = None
    account: str | None = None
    template: str | None = None
    subject: str | None = None
    body_preview: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class CheckedInteraction:
    """A report that passed its checks: times in UTC, text as sent."""

    source: InteractionInput
    path: str
    status_at: datetime
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class StatusChangeView:
    status: InteractionStatus
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class InteractionView:
    id: int
    customer_id: int
    channel: Channel
    message_id: str
    account: str | None
    direction: Direction
    status: InteractionStatus
    status_at: datetime
    template: str | None
    subject: str | None
    body_preview: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    occurred_at: datetime
    recorded_at: datetime
    status_history: tuple[StatusChangeView, ...] = ()  # oldest first


@dataclass(frozen=True)
class InteractionRecorded:
    outcome: Outcome
    interaction: InteractionView
