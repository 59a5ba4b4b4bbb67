from __future__ import annotations

from app.kernel.errors import NotFoundError


class AlternateCurrencyNotFoundError(NotFoundError):
    """The program declares no alternate currency with this identifier."""

    code = "ALTERNATE_CURRENCY_NOT_FOUND"
