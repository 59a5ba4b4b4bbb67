"""Typed errors of behavioural events."""

from app.kernel.errors import ConflictError


class TrackingIdConflictError(ConflictError):
    """The tracking id was recorded before with another event (customer, name, time, source,
    account, till code or attributes): an event is recorded once. Nothing was written for this item."""

    code = "TRACKING_ID_CONFLICT"
