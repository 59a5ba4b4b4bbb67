"""Typed errors of trackers and tracked values."""

from app.kernel.errors import ConflictError, NotFoundError


class TrackerNotFoundError(NotFoundError):
    code = "TRACKER_NOT_FOUND"


class TrackerLevelChangeError(ConflictError):
    """A tracker's level is fixed once defined: its values are per bill or per line, not both."""

    code = "TRACKER_LEVEL_CHANGE"


class BillNotFoundError(NotFoundError):
    """No bill of this customer (or of a member of this group) matches the bill given."""

    code = "BILL_NOT_FOUND"


class LineItemNotFoundError(NotFoundError):
    """The bill has no line with this serial."""

    code = "LINE_ITEM_NOT_FOUND"
