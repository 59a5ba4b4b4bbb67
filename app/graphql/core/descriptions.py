"""Schema descriptions that several domains give the same field (one text, so they cannot drift apart)."""

from __future__ import annotations

IDEMPOTENCY_KEY_DESCRIPTION = (
    "Optional. Sent again with the same request, the first result comes back and nothing is written; "
    "with a different request, IDEMPOTENCY_KEY_REUSED. Unique per organisation, kept at least 24 hours."
)
