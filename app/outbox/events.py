"""The outbox's event types and their payloads: one builder per type, the only place payloads are
shaped (the README's events table documents them).

Every payload is plain JSON and carries `"version": 1` (a change a receiver could trip on is a
new version, never an edit of this one) and `"userId"`, the customer's id as the API prints it
(null for an event about no one customer). The event's own id (the outbox row's, given to the
receiver beside the payload) is stable: receivers dedupe by it. Decimals are strings exactly as
the API prints them ("106", "12.5"), times ISO 8601 in UTC, and other things are named by what
the API exposes (bill numbers, program codes, tier names, promo codes), never by internal ids
beyond the ids the API itself prints (userId, transactionId, redemptionId).

Builders take plain values, not other domains' views, so the outbox imports no domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.kernel.decimals import decimal_text
from app.outbox.service import EventDraft

VERSION = 1

TRANSACTION_ADDED = "transaction.added"
TRANSACTION_RETURNED = "transaction.returned"
POINTS_EARNED = "points.earned"
POINTS_REDEEMED = "points.redeemed"
POINTS_REVERSED = "points.reversed"
POINTS_EXPIRED = "points.expired"
POINTS_EXPIRING = "points.expiring"
POINTS_ADJUSTED = "points.adjusted"
POINTS_TRANSFERRED = "points.transferred"
TIER_CHANGED = "tier.changed"
CUSTOMERS_MERGED = "customers.merged"
IDENTIFIER_CHANGED = "identifier.changed"
PROMO_CODE_REDEEMED = "promo_code.redeemed"
PROMO_CODE_LINKED = "promo_code.linked"

# What a points.reversed event reverses: points a purchase earned, taken back by its return; or
# a redemption, its points given back.
REVERSED_EARNING = "EARNING"
REVERSED_REDEMPTION = "REDEMPTION"


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _draft(event_type: str, customer_id: int | None, body: dict[str, Any]) -> EventDraft:
    user_id = str(customer_id) if customer_id is not None else None
    return EventDraft(event_type, {"version": VERSION, "userId": user_id, **body}, customer_id)


def _bill(transaction_id: int, bill_number: str) -> dict[str, Any]:
    return {"transactionId": str(transaction_id), "billNumber": bill_number}


def transaction_added(
    *,
    customer_id: int | None,
    transaction_id: int,
    bill_number: str,
    transaction_type: str,
    store_code: str,
    amount: Decimal,
    billing_time: datetime,
    program_code: str,
    points_earned: Decimal,
) -> EventDraft:
    """A bill was added (addTransaction, a batch's bill, an exchange's purchase)."""
    return _draft(
        TRANSACTION_ADDED,
        customer_id,
        {
            **_bill(transaction_id, bill_number),
            "type": transaction_type,
            "storeCode": store_code,
            "amount": decimal_text(amount),
            "billingTime": _time(billing_time),
            "programCode": program_code,
            "pointsEarned": decimal_text(points_earned),
        },
    )


def transaction_returned(
    *,
    customer_id: int | None,
    transaction_id: int,
    bill_number: str,
    return_type: str,
    returned_amount: Decimal,
    returned_points: Decimal,
    reversed_redemption_points: Decimal,
) -> EventDraft:
    """A return was posted against a bill: `transactionId` is the return's, `billNumber` the
    returned bill's."""
    return _draft(
        TRANSACTION_RETURNED,
        customer_id,
        {
            **_bill(transaction_id, bill_number),
            "returnType": return_type,
            "returnedAmount": decimal_text(returned_amount),
            "returnedPoints": decimal_text(returned_points),
            "reversedRedemptionPoints": decimal_text(reversed_redemption_points),
        },
    )


def points_earned(
    *,
    customer_id: int,
    program_code: str,
    points: Decimal,
    balance: Decimal,
    transaction_id: int,
    bill_number: str,
    expires_at: datetime | None,
) -> EventDraft:
    """A purchase credited points (only when it credited some): `balance` is the program's
    spendable points after it."""
    return _draft(
        POINTS_EARNED,
        customer_id,
        {
            "programCode": program_code,
            "points": decimal_text(points),
            "balance": decimal_text(balance),
            **_bill(transaction_id, bill_number),
            "expiresAt": _time(expires_at),
        },
    )


def points_reversed(
    *,
    customer_id: int,
    program_code: str | None,
    points: Decimal,
    reversed_kind: str,
    transaction_id: int,
    bill_number: str,
    redemption_id: int | None = None,
) -> EventDraft:
    """A return took back points its bill earned (`reversed: EARNING`, points debited), or gave
    back the points of a redemption on it (`reversed: REDEMPTION`, points credited)."""
    return _draft(
        POINTS_REVERSED,
        customer_id,
        {
            "reversed": reversed_kind,
            "programCode": program_code,
            "points": decimal_text(points),
            **_bill(transaction_id, bill_number),
            "redemptionId": str(redemption_id) if redemption_id is not None else None,
        },
    )


def points_redeemed(
    *, customer_id: int, redemption_id: int, program_code: str, points: Decimal, bill_number: str | None
) -> EventDraft:
    return _draft(
        POINTS_REDEEMED,
        customer_id,
        {
            "redemptionId": str(redemption_id),
            "programCode": program_code,
            "points": decimal_text(points),
            "billNumber": bill_number,
        },
    )


def points_adjusted(
    *, customer_id: int, program_code: str, points: Decimal, balance: Decimal, reason: str | None
) -> EventDraft:
    """Member care added (positive `points`) or deducted (negative) points by hand."""
    return _draft(
        POINTS_ADJUSTED,
        customer_id,
        {
            "programCode": program_code,
            "points": decimal_text(points),
            "balance": decimal_text(balance),
            "reason": reason,
        },
    )


def points_transferred(
    *, customer_id: int, other_customer_id: int, direction: str, program_code: str, points: Decimal
) -> EventDraft:
    """One side of a transfer (each side has its own event on its own customer's stream):
    `direction` OUT for the giver, IN for the receiver."""
    return _draft(
        POINTS_TRANSFERRED,
        customer_id,
        {
            "direction": direction,
            "otherUserId": str(other_customer_id),
            "programCode": program_code,
            "points": decimal_text(points),
        },
    )


def points_expired(*, customer_id: int, program_code: str, points: Decimal, expired_at: datetime) -> EventDraft:
    """The expiry run took a customer's expired points in a program (one event per customer and
    program per run, all its lots together)."""
    return _draft(
        POINTS_EXPIRED,
        customer_id,
        {"programCode": program_code, "points": decimal_text(points), "expiredAt": _time(expired_at)},
    )


def points_expiring(*, customer_id: int, program_code: str, points: Decimal, expires_at: datetime) -> EventDraft:
    """A lot's points still unspent will expire at `expires_at`, within the organisation's notice
    window (once per lot)."""
    return _draft(
        POINTS_EXPIRING,
        customer_id,
        {"programCode": program_code, "points": decimal_text(points), "expiresAt": _time(expires_at)},
    )


def tier_changed(
    *,
    customer_id: int,
    program_code: str,
    kind: str,
    cause: str,
    tier_before: str,
    tier_after: str,
    tier_expires_at: datetime | None,
) -> EventDraft:
    """A customer's tier (slab) in a program changed: `kind` UPGRADE / DOWNGRADE / EXPIRY,
    `cause` PURCHASE / RETURN / MERGE / TIER_EXPIRY (the slab history's values)."""
    return _draft(
        TIER_CHANGED,
        customer_id,
        {
            "programCode": program_code,
            "kind": kind,
            "cause": cause,
            "tierBefore": tier_before,
            "tierAfter": tier_after,
            "tierExpiresAt": _time(tier_expires_at),
        },
    )


def customers_merged(*, survivor_id: int, merged_ids: Sequence[int]) -> EventDraft:
    """Customers were merged into `userId` (the survivor): their identifiers and points moved there."""
    return _draft(CUSTOMERS_MERGED, survivor_id, {"mergedUserIds": [str(merged) for merged in merged_ids]})


def identifier_changed(
    *, customer_id: int, identifier_type: str, old_value: str | None, new_value: str | None
) -> EventDraft:
    """A customer's identifier (MOBILE, EMAIL, EXTERNAL_ID, CARD_NUMBER, ...) was set, changed or
    removed (`oldValue` / `newValue` null for none)."""
    return _draft(
        IDENTIFIER_CHANGED,
        customer_id,
        {"identifierType": identifier_type, "oldValue": old_value, "newValue": new_value},
    )


def promo_code_redeemed(
    *,
    customer_id: int | None,
    code: str,
    promotion_name: str,
    discount: Decimal,
    transaction_id: int,
    bill_number: str,
    linked: bool,
) -> EventDraft:
    """A promo code was redeemed on a bill (`linked`: applied from the customer's linked codes)."""
    return _draft(
        PROMO_CODE_REDEEMED,
        customer_id,
        {
            "code": code,
            "promotionName": promotion_name,
            "discount": decimal_text(discount),
            **_bill(transaction_id, bill_number),
            "linked": linked,
        },
    )


def promo_code_linked(*, customer_id: int, code: str, promotion_name: str) -> EventDraft:
    """A promo code (a physical coupon, say) was linked to a customer, to apply on its next bills."""
    return _draft(PROMO_CODE_LINKED, customer_id, {"code": code, "promotionName": promotion_name})
