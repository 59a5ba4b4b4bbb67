"""Pure rules of webhooks: which URLs and addresses an endpoint may have, the retry schedule, and
when an endpoint that keeps failing is disabled. No I/O."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from app.webhooks.models import URL_LENGTH_MAX

# What the outbox emits (issue 15's list; the events engineer's contract names them).
EVENT_TYPES = frozenset(
    {
        "transaction.added",
        "transaction.returned",
        "points.earned",
        "points.redeemed",
        "points.reversed",
        "points.expired",
        "points.expiring",
        "points.adjusted",
        "points.transferred",
        "tier.changed",
        "customers.merged",
        "identifier.changed",
        "promo_code.redeemed",
        "promo_code.linked",
        "coupon.resend_requested",
        "import_job.finished",
        "referral.awarded",
        "referral.reversed",
        "alternate_currency.earned",
        "alternate_currency.returned",
        "alternate_currency.redeemed",
        "alternate_currency.reversed",
        "alternate_currency.transferred",
        "alternate_currency.expired",
    }
)
EVENT_TYPES_MAX = len(EVENT_TYPES)

# Delays before the 2nd, 3rd, ... attempt (Svix's schedule, which Standard Webhooks' authors run);
# past the last, every retry waits as long as the last. A delivery is tried until RETRY_WINDOW
# after it was made, then marked failed.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
RETRY_WINDOW = timedelta(days=3)
# Each delay is shortened by up to this share at random, so that the retries of many deliveries
# that failed together (an endpoint down) do not all come back in the same second.
JITTER_SHARE = 0.2
# An endpoint whose every attempt failed for this long (no success in between) is disabled.
FAILING_ENDPOINT_DISABLED_AFTER = timedelta(days=5)


def next_attempt_at(*, attempts: int, created_at: datetime, now: datetime, jitter_fraction: float) -> datetime | None:
    """When to try again after `attempts` failed attempts (`jitter_fraction` in [0, 1) shortens the
    delay by up to JITTER_SHARE); None when that would be past the retry window: the delivery fails."""
    assert attempts >= 1
    assert 0 <= jitter_fraction < 1
    delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1] * (1 - JITTER_SHARE * jitter_fraction)
    due = now + delay
    return due if due <= created_at + RETRY_WINDOW else None


def endpoint_gives_up(*, failing_since: datetime, now: datetime) -> bool:
    return now - failing_since >= FAILING_ENDPOINT_DISABLED_AFTER


def url_refusal(url: str) -> str | None:
    """Why `url` cannot be an endpoint's (a message for the `url` field), None when it can: an
    absolute http(s) URL with a host, no credentials, no fragment."""
    if len(url) > URL_LENGTH_MAX:
        return f"must be at most {URL_LENGTH_MAX} characters"
    if not url.isprintable() or " " in url:
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in {"http", "https"}:
        return "must be an http or https URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (the signature authenticates deliveries)"
    if parts.fragment:
        return "must not have a fragment"
    if port == 0:
        return "must not use port 0"
    return None


def address_refusal(address: str) -> str | None:
    """Why a host resolving to `address` may not be sent to unless the organisation allows private
    addresses (server-side request forgery): None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone index names a link, not an address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return f"resolves to a loopback address ({ip})"
    if ip.is_link_local:
        return f"resolves to a link-local address ({ip})"
    if ip.is_unspecified:
        return f"resolves to an unspecified address ({ip})"
    if ip.is_private or ip.is_reserved or ip.is_multicast or not ip.is_global:
        return f"resolves to a private or reserved address ({ip})"
    return None
