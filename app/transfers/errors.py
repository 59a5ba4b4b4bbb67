"""Typed errors of points transfers (insufficient points, same and merged customers are shared:
app.errors.InsufficientPointsError, app.customers.errors)."""

from app.errors import NotFoundError, ValidationError


class ProgramNotFoundError(NotFoundError):
    code = "PROGRAM_NOT_FOUND"


class ProgramNotTransferableError(ValidationError):
    """The program does not allow transfers between customers (points_transferable = false)."""

    code = "PROGRAM_NOT_TRANSFERABLE"
