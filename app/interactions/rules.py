"""The checks of a reported message and how a repeat of a known message id is told apart from a
status change and from a conflict. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from app.interactions.errors import InteractionConflictError
from app.interactions.views import CheckedInteraction, InteractionInput, InteractionView, StatusChangeView
from app.kernel.errors import ValidationError
from app.kernel.text import check_code, check_required_code, check_text
from app.kernel.times import utc_time

BATCH_SIZE_MAX = 1000
MESSAGE_ID_LENGTH_MAX = 200
ACCOUNT_LENGTH_MAX = 100
TEMPLATE_LENGTH_MAX = 200
SUBJECT_LENGTH_MAX = 500
BODY_PREVIEW_LENGTH_MAX = 500


def check_interaction(data: InteractionInput, path: str, now: datetime) -> CheckedInteraction:
    """The report with its times in UTC; INVALID_INPUT naming the first field at fault."""
    message_id = check_required_code(data.message_id, f"{path}.messageId", MESSAGE_ID_LENGTH_MAX)
    check_code(data.account, f"{path}.account", ACCOUNT_LENGTH_MAX)
    check_text(data.template, f"{path}.template", TEMPLATE_LENGTH_MAX)
    check_text(data.subject, f"{path}.subject", SUBJECT_LENGTH_MAX)
    # A preview is shown on one line of a member-care screen: printable characters only.
    check_code(data.body_preview, f"{path}.bodyPreview", BODY_PREVIEW_LENGTH_MAX)
    status_at = utc_time(data.status_at, f"{path}.statusAt") or now
    sent_at = utc_time(data.sent_at, f"{path}.sentAt")
    delivered_at = utc_time(data.delivered_at, f"{path}.deliveredAt")
    if sent_at is not None and delivered_at is not None and delivered_at < sent_at:
        raise ValidationError("must not be before sentAt", field=f"{path}.deliveredAt")
    source = replace(data, message_id=message_id, status_at=status_at, sent_at=sent_at, delivered_at=delivered_at)
    return CheckedInteraction(source=source, path=path, status_at=status_at, occurred_at=sent_at or status_at)


@dataclass(frozen=True)
class StatusUpdate:
    """What a repeat of a known message adds: a status change not in its history yet, a delivery
    time it lacked, and the current status after both."""

    new_change: StatusChangeView | None
    delivered_at: datetime | None
    current: StatusChangeView

    @property
    def changes_anything(self) -> bool:
        return self.new_change is not None or self.delivered_at is not None


def status_update(stored: InteractionView, checked: CheckedInteraction, customer_id: int) -> StatusUpdate:
    """A repeat of a stored message: every detail but the status must be as stored (a delivery
    time may be added once), else INTERACTION_CONFLICT naming the first field that differs.

    The status change (status, time) joins the history unless it is there already; the current
    status is the one with the latest time (on a tie, the one reported last): a DELIVERED that
    arrives before its SENT stays current.
    """
    data, path = checked.source, checked.path
    differences = (
        ("customer", stored.customer_id != customer_id),
        ("direction", stored.direction != data.direction),
        ("account", stored.account != data.account),
        ("template", stored.template != data.template),
        ("subject", stored.subject != data.subject),
        ("bodyPreview", stored.body_preview != data.body_preview),
        ("sentAt", stored.sent_at != data.sent_at),
        (
            "deliveredAt",
            None not in (stored.delivered_at, data.delivered_at) and stored.delivered_at != data.delivered_at,
        ),
    )
    for field, differs in differences:
        if differs:
            raise InteractionConflictError(
                f"message {data.message_id!r} of channel {data.channel.value} was recorded with another {field}",
                field=f"{path}.{field}",
            )
    change = StatusChangeView(data.status, checked.status_at)
    new_change = None if change in stored.status_history else change
    current = StatusChangeView(stored.status, stored.status_at)
    if new_change is not None and new_change.changed_at >= current.changed_at:
        current = new_change
    delivered_at = data.delivered_at if stored.delivered_at is None else None
    return StatusUpdate(new_change=new_change, delivered_at=delivered_at, current=current)


def updated_view(stored: InteractionView, update: StatusUpdate) -> InteractionView:
    history = stored.status_history
    if update.new_change is not None:
        history = tuple(sorted((*history, update.new_change), key=lambda change: change.changed_at))
    return replace(
        stored,
        status=update.current.status,
        status_at=update.current.changed_at,
        delivered_at=update.delivered_at or stored.delivered_at,
        status_history=history,
    )


def new_view(interaction_id: int, customer_id: int, checked: CheckedInteraction, now: datetime) -> InteractionView:
    """A new message as it is stored: its first status is its history."""
    data = checked.source
    return InteractionView(
        id=interaction_id,
        customer_id=customer_id,
        channel=data.channel,
        message_id=data.message_id,
        account=data.account,
        direction=data.direction,
        status=data.status,
        status_at=checked.status_at,
        template=data.template,
        subject=data.subject,
        body_preview=data.body_preview,
        sent_at=data.sent_at,
        delivered_at=data.delivered_at,
        occurred_at=checked.occurred_at,
        recorded_at=now,
        status_history=(StatusChangeView(data.status, checked.status_at),),
    )
