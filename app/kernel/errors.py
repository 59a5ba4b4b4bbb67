"""Typed domain errors. Domain code raises them; the GraphQL layer maps them to schema types."""

from __future__ import annotations

from decimal import Decimal


class DomainError(Exception):
    """An expected failure with a stable code, a message for people and, where it applies, the field."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    code = "INVALID_INPUT"


class NotFoundError(DomainError):
    code = "NOT_FOUND"


class ConflictError(DomainError):
    code = "CONFLICT"


class ForbiddenError(DomainError):
    code = "FORBIDDEN"


class RateLimitedError(DomainError):
    """The organisation's keys of this role made as many requests this minute as its rate limit
    allows (the organisation file's [rate_limits]); `retry_after_seconds` says when to retry."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_seconds: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after_seconds = retry_after_seconds
        # What a response's error carries beside the message (graphql-core copies an original
        # error's `extensions` into the GraphQL error).
        self.extensions = {"code": self.code, "retryAfterSeconds": retry_after_seconds}


class InsufficientPointsError(ConflictError):
    code = "INSUFFICIENT_POINTS"

    def __init__(
        self, message: str, *, field: str | None, available_points: Decimal, requested_points: Decimal
    ) -> None:
        super().__init__(message, field=field)
        self.available_points = available_points
        self.requested_points = requested_points


class IdempotencyKeyReusedError(ConflictError):
    code = "IDEMPOTENCY_KEY_REUSED"


class InternalError(DomainError):
    """An unexpected failure reported in place of one item of a batch (the detail is logged),
    so the items already written keep their results."""

    code = "INTERNAL_ERROR"

    def __init__(self, *, field: str | None = None) -> None:
        super().__init__("Unexpected error.", field=field)
