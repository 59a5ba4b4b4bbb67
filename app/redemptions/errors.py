"""Typed errors of points redemptions (insufficient points, merged customers and reused
idempotency keys are shared: app.kernel.errors, app.customers.errors)."""

from __future__ import annotations

from decimal import Decimal

from app.kernel.errors import ConflictError, NotFoundError, ValidationError


class RedemptionNotFoundError(NotFoundError):
    """No redemption with this id in the caller's organisation (another org's is not found either)."""

    code = "REDEMPTION_NOT_FOUND"


class BelowRedemptionMinimumError(ValidationError):
    """Fewer points than the program's redemption minimum."""

    code = "BELOW_REDEMPTION_MINIMUM"


class ReversalLimitError(ConflictError):
    """A reversal would give back more than the redemption has left; `points_left` says what it has."""

    code = "REVERSAL_EXCEEDS_REDEMPTION"

    def __init__(self, message: str, *, field: str | None, points_redeemed: Decimal, points_reversed: Decimal) -> None:
        super().__init__(message, field=field)
        self.points_redeemed = points_redeemed
        self.points_reversed = points_reversed

    @property
    def points_left(self) -> Decimal:
        return self.points_redeemed - self.points_reversed


class AlreadyReversedError(ReversalLimitError):
    """Every point of the redemption was given back already: nothing is left to reverse."""

    code = "ALREADY_REVERSED"


class RedemptionOfAnotherCustomerError(ConflictError):
    """A bill carries only redemptions of its own customer (or of customers merged into it)."""

    code = "REDEMPTION_OF_ANOTHER_CUSTOMER"


class RedemptionReversedError(ConflictError):
    """Points of the redemption were given back: it can no longer pay for a bill."""

    code = "REDEMPTION_REVERSED"


class RedemptionAlreadyAppliedError(ConflictError):
    """The redemption pays for another bill already."""

    code = "REDEMPTION_ALREADY_APPLIED"
