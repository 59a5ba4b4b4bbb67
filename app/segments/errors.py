"""Typed errors of segments."""

from app.kernel.errors import ConflictError, NotFoundError


class SegmentNotFoundError(NotFoundError):
    """No segment of this organisation has this code."""

    code = "SEGMENT_NOT_FOUND"


class SegmentExistsError(ConflictError):
    """A segment with this code exists already in this organisation."""

    code = "SEGMENT_EXISTS"
