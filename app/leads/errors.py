"""Typed errors of leads."""

from app.kernel.errors import NotFoundError


class LeadNotFoundError(NotFoundError):
    """No lead of this organisation has this lead id."""

    code = "LEAD_NOT_FOUND"
