"""Typed errors of webhook endpoints."""

from __future__ import annotations

from app.kernel.errors import ConflictError, NotFoundError, ValidationError


class WebhookEndpointNotFoundError(NotFoundError):
    """No webhook endpoint of this organisation has this id."""

    code = "WEBHOOK_ENDPOINT_NOT_FOUND"


class InvalidWebhookUrlError(ValidationError):
    """The endpoint's URL is not an absolute http(s) URL with a host (the message says why)."""

    code = "INVALID_WEBHOOK_URL"


class WebhookAddressNotAllowedError(ValidationError):
    """The endpoint's host resolves to a loopback, link-local, private or unspecified address (or
    does not resolve), and the organisation file does not allow private addresses ([webhooks])."""

    code = "WEBHOOK_ADDRESS_NOT_ALLOWED"


class UnknownEventTypeError(ValidationError):
    """An event type the outbox never emits."""

    code = "UNKNOWN_EVENT_TYPE"


class WebhookEndpointsLimitReachedError(ConflictError):
    """The organisation has as many webhook endpoints as it may have."""

    code = "WEBHOOK_ENDPOINTS_LIMIT_REACHED"
