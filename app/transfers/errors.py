"""Typed errors of points transfers (insufficient points, same and merged customers are shared:
app.kernel.errors.InsufficientPointsError, app.customers.errors)."""

from app.kernel.errors import ValidationError


class ProgramNotTransferableError(ValidationError):
    """The program does not allow transfers between customers (points_transferable = false)."""

    code = "PROGRAM_NOT_TRANSFERABLE"
