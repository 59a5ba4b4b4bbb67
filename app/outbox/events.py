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

from collections.abc import Callable, Sequence
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
REFERRAL_AWARDED = "referral.awarded"
REFERRAL_REVERSED = "referral.reversed"
ALTERNATE_CURRENCY_EARNED = "alternate_currency.earned"
ALTERNATE_CURRENCY_RETURNED = "alternate_currency.returned"
ALTERNATE_CURRENCY_REDEEMED = "alternate_currency.redeemed"
ALTERNATE_CURRENCY_REVERSED = "alternate_currency.reversed"
ALTERNATE_CURRENCY_TRANSFERRED = "alternate_currency.transferred"
ALTERNATE_CURRENCY_EXPIRED = "alternate_currency.expired"

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
    reversed_kind: str,
    program_code: str | None,
    points: Decimal,
    transaction_id: int | None,
    bill_number: str | None,
    redemption_id: int | None = None,
) -> EventDraft:
    """A return took back points its bill earned (`reversed: EARNING`, points debited from the
    program `programCode`), or a redemption's points were given back (`reversed: REDEMPTION`,
    credited to the lots it drew from, in whatever programs: `programCode` null) by a return
    (`transactionId` the return's, `billNumber` the bill's) or by reverseRedemption (both null)."""
    return _draft(
        POINTS_REVERSED,
        customer_id,
        {
            "reversed": reversed_kind,
            "programCode": program_code,
            "points": decimal_text(points),
            "transactionId": str(transaction_id) if transaction_id is not None else None,
            "billNumber": bill_number,
            "redemptionId": str(redemption_id) if redemption_id is not None else None,
        },
    )


def points_redeemed(
    *,
    customer_id: int,
    redemption_id: int,
    points: Decimal,
    shares: Sequence[tuple[str, Decimal]],
    external_reference: str | None,
) -> EventDraft:
    """A customer redeemed points (redeemPoints): `shares` says how many came from each program."""
    return _draft(
        POINTS_REDEEMED,
        customer_id,
        {
            "redemptionId": str(redemption_id),
            "points": decimal_text(points),
            "shares": [{"programCode": code, "points": decimal_text(share)} for code, share in shares],
            "externalReference": external_reference,
        },
    )


def points_adjusted(
    *,
    customer_id: int,
    adjustment_id: int,
    program_code: str,
    entry_type: str,
    points: Decimal,
    balance: Decimal,
    reason: str,
) -> EventDraft:
    """Member care added (`entryType` CREDIT) or deducted (DEBIT) points by hand (adjustPoints);
    `balance` is the program's points after it. The staff's note stays in the console."""
    return _draft(
        POINTS_ADJUSTED,
        customer_id,
        {
            "adjustmentId": str(adjustment_id),
            "programCode": program_code,
            "entryType": entry_type,
            "points": decimal_text(points),
            "balance": decimal_text(balance),
            "reason": reason,
        },
    )


TRANSFER_OUT = "OUT"
TRANSFER_IN = "IN"


def both_sides(
    build: Callable[..., EventDraft],
    *,
    sender_id: int,
    receiver_id: int,
    balances: tuple[Decimal, Decimal],
    **fields: Any,
) -> tuple[EventDraft, EventDraft]:
    """A transfer's two events (points.transferred, alternate_currency.transferred), each on its
    own customer's stream, the sender's first: `balances` are the sender's and the receiver's after it."""
    sender_balance, receiver_balance = balances
    return (
        build(
            customer_id=sender_id,
            other_customer_id=receiver_id,
            direction=TRANSFER_OUT,
            balance=sender_balance,
            **fields,
        ),
        build(
            customer_id=receiver_id,
            other_customer_id=sender_id,
            direction=TRANSFER_IN,
            balance=receiver_balance,
            **fields,
        ),
    )


def points_transferred(
    *,
    customer_id: int,
    other_customer_id: int,
    direction: str,
    transfer_id: int,
    program_code: str,
    points: Decimal,
    balance: Decimal,
) -> EventDraft:
    """One side of a transfer (transferPoints), on its own customer's stream: `direction` OUT for
    the sender, IN for the receiver; `balance` is this customer's program points after it."""
    return _draft(
        POINTS_TRANSFERRED,
        customer_id,
        {
            "transferId": str(transfer_id),
            "direction": direction,
            "otherUserId": str(other_customer_id),
            "programCode": program_code,
            "points": decimal_text(points),
            "balance": decimal_text(balance),
        },
    )


def points_expired(
    *, customer_id: int, program_code: str, category: str, points: Decimal, expired_at: datetime
) -> EventDraft:
    """The expiry run took a customer's expired points from one account (a program and points
    category: REGULAR, PROMISED, ...), all its lots due together; `expiredAt` is when it ran."""
    return _draft(
        POINTS_EXPIRED,
        customer_id,
        {
            "programCode": program_code,
            "category": category,
            "points": decimal_text(points),
            "expiredAt": _time(expired_at),
        },
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


def customers_merged(
    *,
    survivor_id: int,
    merged_id: int,
    identifiers: Sequence[tuple[str, str]],
    transaction_id: int | None,
) -> EventDraft:
    """A customer was merged into `userId` (the survivor): its identifiers (type, value) and
    points moved there. `transactionId`: the bill whose identifiers joined them, null when member
    care merged them on request."""
    return _draft(
        CUSTOMERS_MERGED,
        survivor_id,
        {
            "mergedUserId": str(merged_id),
            "movedIdentifiers": [{"type": kind, "value": value} for kind, value in identifiers],
            "transactionId": str(transaction_id) if transaction_id is not None else None,
        },
    )


IDENTIFIER_ADDED = "ADDED"
IDENTIFIER_REMOVED = "REMOVED"


def identifier_changed(
    *, customer_id: int, identifier_type: str, change: str, value: str, source: str | None
) -> EventDraft:
    """Member care (changeIdentifier) or a card (issued, replaced) ADDED or REMOVED one of a
    customer's identifiers (MOBILE, EMAIL, EXTERNAL_ID, CARD_NUMBER); a replace is a REMOVED and
    an ADDED event. An identifier that arrives by a merge is in customers.merged instead."""
    return _draft(
        IDENTIFIER_CHANGED,
        customer_id,
        {"identifierType": identifier_type, "change": change, "value": value, "source": source},
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


def promo_code_linked(*, customer_id: int, code: str, promotion_name: str, mode: str) -> EventDraft:
    """A promo code (a physical coupon, say) was linked to a customer (linkPromoCode), to apply on
    its bills as `mode` says. Linking it again to the same customer is no new event."""
    return _draft(PROMO_CODE_LINKED, customer_id, {"code": code, "promotionName": promotion_name, "mode": mode})


def _referral(
    event_type: str,
    customer_id: int,
    program_code: str,
    points: Decimal,
    is_referrer: bool,
    people: tuple[int, int],
    bill: tuple[int, str],
) -> EventDraft:
    referee_id, referrer_id = people
    return _draft(
        event_type,
        customer_id,
        {
            "programCode": program_code,
            "points": decimal_text(points),
            "isReferrer": is_referrer,
            "refereeUserId": str(referee_id),
            "referrerUserId": str(referrer_id),
            **_bill(*bill),
        },
    )


def referral_awarded(
    *,
    customer_id: int,
    program_code: str,
    points: Decimal,
    is_referrer: bool,
    referee_id: int,
    referrer_id: int,
    transaction_id: int,
    bill_number: str,
) -> EventDraft:
    """The referee's qualifying bill (`transactionId`, `billNumber`) credited `points` to one of
    the two, the referrer (`isReferrer`) or the referee: one event per customer credited (a
    referrer past the program's limits gets none)."""
    people, bill = (referee_id, referrer_id), (transaction_id, bill_number)
    return _referral(REFERRAL_AWARDED, customer_id, program_code, points, is_referrer, people, bill)


def referral_reversed(
    *,
    customer_id: int,
    program_code: str,
    points: Decimal,
    is_referrer: bool,
    referee_id: int,
    referrer_id: int,
    transaction_id: int,
    bill_number: str,
) -> EventDraft:
    """A return of the qualifying bill (`transactionId`, `billNumber`: the bill's, as in
    referral.awarded) took a referral award back: `points` is what was debited (less than the
    award when the customer had spent it and the program keeps balances from going negative)."""
    people, bill = (referee_id, referrer_id), (transaction_id, bill_number)
    return _referral(REFERRAL_REVERSED, customer_id, program_code, points, is_referrer, people, bill)


def _currency(program_code: str, identifier: str, name: str, value: Decimal) -> dict[str, Any]:
    return {
        "programCode": program_code,
        "currencyIdentifier": identifier,
        "currencyName": name,
        "value": decimal_text(value),
    }


def alternate_currency_earned(
    *,
    customer_id: int,
    program_code: str,
    currency_identifier: str,
    currency_name: str,
    value: Decimal,
    transaction_id: int,
    bill_number: str,
) -> EventDraft:
    """A bill credited `value` units of one of its program's alternate currencies (one event per
    currency earned)."""
    return _draft(
        ALTERNATE_CURRENCY_EARNED,
        customer_id,
        {**_currency(program_code, currency_identifier, currency_name, value), **_bill(transaction_id, bill_number)},
    )


def alternate_currency_returned(
    *,
    customer_id: int,
    program_code: str,
    currency_identifier: str,
    currency_name: str,
    value: Decimal,
    value_not_recovered: Decimal,
    transaction_id: int,
    bill_number: str,
) -> EventDraft:
    """A return took back `value` units a bill earned in one currency (`transactionId` the
    return's, `billNumber` the bill's); `valueNotRecovered`: what was due back but already spent
    (a program that keeps balances from going negative)."""
    return _draft(
        ALTERNATE_CURRENCY_RETURNED,
        customer_id,
        {
            **_currency(program_code, currency_identifier, currency_name, value),
            "valueNotRecovered": decimal_text(value_not_recovered),
            **_bill(transaction_id, bill_number),
        },
    )


def alternate_currency_redeemed(
    *,
    customer_id: int,
    program_code: str,
    currency_identifier: str,
    currency_name: str,
    value: Decimal,
    event_log_id: int,
) -> EventDraft:
    """A customer redeemed `value` units of a currency (redeemAlternateCurrency); `eventLogId` is
    the id the mutation answered with."""
    return _draft(
        ALTERNATE_CURRENCY_REDEEMED,
        customer_id,
        {**_currency(program_code, currency_identifier, currency_name, value), "eventLogId": str(event_log_id)},
    )


def alternate_currency_reversed(
    *,
    customer_id: int,
    program_code: str,
    currency_identifier: str,
    currency_name: str,
    value: Decimal,
    value_left: Decimal,
    event_log_id: int,
    redemption_event_log_id: int,
) -> EventDraft:
    """reverseAlternateCurrencyRedemption gave back `value` units of a redemption
    (`redemptionEventLogId`) to `userId` (the survivor, for a merged customer); `eventLogId` is
    the reversal's, `valueLeft` what of the redemption is still to give back."""
    return _draft(
        ALTERNATE_CURRENCY_REVERSED,
        customer_id,
        {
            **_currency(program_code, currency_identifier, currency_name, value),
            "valueLeft": decimal_text(value_left),
            "eventLogId": str(event_log_id),
            "redemptionEventLogId": str(redemption_event_log_id),
        },
    )


def alternate_currency_transferred(
    *,
    customer_id: int,
    other_customer_id: int,
    direction: str,
    event_log_id: int,
    program_code: str,
    currency_identifier: str,
    currency_name: str,
    value: Decimal,
    balance: Decimal,
) -> EventDraft:
    """One side of a currency transfer (transferAlternateCurrency), on its own customer's stream:
    `direction` OUT for the sender, IN for the receiver; `balance` is this customer's units of the
    currency after it; `eventLogId` the transfer's (the same on both sides)."""
    return _draft(
        ALTERNATE_CURRENCY_TRANSFERRED,
        customer_id,
        {
            **_currency(program_code, currency_identifier, currency_name, value),
            "direction": direction,
            "otherUserId": str(other_customer_id),
            "balance": decimal_text(balance),
            "eventLogId": str(event_log_id),
        },
    )


def alternate_currency_expired(
    *,
    customer_id: int,
    program_code: str,
    currency_identifier: str,
    currency_name: str,
    value: Decimal,
    expired_at: datetime,
) -> EventDraft:
    """The expiry run took a customer's expired units of one currency (all its lots due
    together); `expiredAt` is when it ran."""
    return _draft(
        ALTERNATE_CURRENCY_EXPIRED,
        customer_id,
        {**_currency(program_code, currency_identifier, currency_name, value), "expiredAt": _time(expired_at)},
    )
