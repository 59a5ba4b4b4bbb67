"""Member care's coupons tab (seed 004): a customer's codes with their status, their redemptions
(and whether a return reversed them), and resending a linked code to the customer.

A customer's codes are those linked to them (linkPromoCode) and those they redeemed by naming
them on a bill. Each carries a CouponStatus at `now` (app/promotions/models.py says how it is
derived). A redemption is reversed only by a return that takes back the whole bill (FULL, or
line items and amounts that add up to it): `release_for_return` marks it, pointing at the return.

resendCoupon records the request and appends a `coupon.resend_requested` event to the outbox in
the same write transaction: the brand's messaging system sends the code (this product sends no
SMS or email), through the webhook delivery a later issue builds on the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import service as customers_service
from app.customers.service import CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.enums import IdentifierType
from app.ledger.views import READ_PAGE_SIZE_MAX
from app.organizations.config import OrgConfig
from app.outbox import service as outbox
from app.outbox.service import OutboxEventView
from app.promotions import repository, rules
from app.promotions.errors import (
    CouponNotLinkedToCustomerError,
    CouponRedeemedError,
    PromoCodeExpiredError,
    PromoCodeNotFoundError,
)
from app.promotions.models import CouponStatus, LinkMode
from app.storage.database import Database

RESEND_EVENT_TYPE = "coupon.resend_requested"


@dataclass(frozen=True)
class CustomerCouponView:
    code_id: int
    code: str
    source: str
    promotion_id: int
    promotion_name: str
    valid_from: datetime
    valid_until: datetime  # exclusive
    link_id: int | None  # None: redeemed by naming it, never linked to this customer
    link_mode: LinkMode | None
    linked_at: datetime | None
    redemptions_count: int  # the customer's redemptions of the code not reversed by a return
    status: CouponStatus


def _coupon_view(row: Any) -> CustomerCouponView:
    return CustomerCouponView(
        code_id=row.code_id,
        code=row.code,
        source=row.source,
        promotion_id=row.promotion_id,
        promotion_name=row.promotion_name,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        link_id=row.link_id,
        link_mode=LinkMode(row.link_mode) if row.link_mode else None,
        linked_at=row.linked_at,
        redemptions_count=row.redemptions_count,
        status=CouponStatus(row.status),
    )


async def customer_coupons(
    connection: AsyncConnection,
    org: OrgConfig,
    customer_id: int,
    *,
    now: datetime,
    first: int,
    after_id: int | None,
    status: CouponStatus | None,
) -> tuple[list[CustomerCouponView], bool]:
    """The customer's codes, newest code first, keyset-paginated by code id, of `status` when
    given (the status at `now`). One statement; one more than a page is read."""
    assert 1 <= first <= READ_PAGE_SIZE_MAX
    rows = await repository.customer_coupons(
        connection, org_id=org.id, customer_id=customer_id, now=now, limit=first + 1, before_id=after_id, status=status
    )
    return [_coupon_view(row) for row in rows[:first]], len(rows) > first


@dataclass(frozen=True)
class CouponRedemptionView:
    id: int
    code: str
    promotion_id: int
    promotion_name: str
    transaction_id: int  # the bill
    discount: Decimal
    linked: bool  # applied from the customer's linked codes, not named on the bill
    redeemed_at: datetime
    reversed_at: datetime | None
    reversal_transaction_id: int | None  # the return that reversed it


async def customer_coupon_redemptions(
    connection: AsyncConnection, org: OrgConfig, customer_id: int, *, first: int, after_id: int | None
) -> tuple[list[CouponRedemptionView], bool]:
    """The customer's code redemptions, newest first, keyset-paginated by redemption id."""
    assert 1 <= first <= READ_PAGE_SIZE_MAX
    rows = await repository.customer_redemptions(
        connection, org_id=org.id, customer_id=customer_id, limit=first + 1, before_id=after_id
    )
    views = [CouponRedemptionView(*row) for row in rows[:first]]
    return views, len(rows) > first


@dataclass(frozen=True)
class ResendRequest:
    customer: CustomerLookup
    code: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class CouponResent:
    resend_id: int
    customer_id: int
    requested_at: datetime
    # Its status at the request's time; a replay judges the window at that time too (redemptions as they are now).
    coupon: CustomerCouponView
    event: OutboxEventView
    replayed: bool


async def resend_coupon(
    database: Database, org: OrgConfig, request: ResendRequest, path: str = "input", *, now: datetime
) -> CouponResent:
    """Record a request to send a customer's linked code again, and emit it to the outbox, in one
    write transaction. Idempotent by `idempotency_key` (the same request replays the first
    result; without a key every call is a new request).

    Errors, each naming its input field: INVALID_INPUT (a malformed code or key),
    PROMO_CODE_UNKNOWN, CUSTOMER_NOT_FOUND, COUPON_NOT_LINKED_TO_CUSTOMER (the code is not linked
    to this customer), COUPON_REDEEMED, PROMO_CODE_EXPIRED (the promotion ended).
    """
    code = rules.check_code(request.code, f"{path}.code")
    key = idempotency.check_key(request.idempotency_key, f"{path}.idempotencyKey")
    payload = {"customer": request.customer.payload(), "code": code}

    async def perform(connection: AsyncConnection) -> tuple[int, CouponResent]:
        result = await _resend(connection, org, request.customer, code, now, path)
        return result.resend_id, result

    async def replay(connection: AsyncConnection, resend_id: int) -> CouponResent:
        row = await repository.resend(connection, org_id=org.id, resend_id=resend_id)
        coupon = await _coupon(connection, org, row.customer_id, row.code_id, row.requested_at)
        event = await outbox.load_event(connection, org_id=org.id, event_id=row.outbox_event_id)
        assert coupon is not None
        return CouponResent(row.id, row.customer_id, row.requested_at, coupon, event, replayed=True)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="resendCoupon",
        payload=payload,
        now=now,
        perform=perform,
        replay=replay,
        field=f"{path}.idempotencyKey",
    )


async def _coupon(
    connection: AsyncConnection, org: OrgConfig, customer_id: int, code_id: int, now: datetime
) -> CustomerCouponView | None:
    rows = await repository.customer_coupons(
        connection, org_id=org.id, customer_id=customer_id, now=now, limit=1, code_id=code_id
    )
    return _coupon_view(rows[0]) if rows else None


async def _resend(
    connection: AsyncConnection, org: OrgConfig, lookup: CustomerLookup, code: str, now: datetime, path: str
) -> CouponResent:
    found = await repository.code(connection, org_id=org.id, code=code)
    if found is None:
        raise PromoCodeNotFoundError(f"no promo code {code!r}", field=f"{path}.code")
    customer_id = await customers_service.find_customer(connection, org, lookup, f"{path}.customer")
    coupon = await _coupon(connection, org, customer_id, found.id, now)
    if coupon is None or coupon.link_id is None:
        raise CouponNotLinkedToCustomerError(
            f"promo code {code!r} is not linked to this customer", field=f"{path}.code"
        )
    if coupon.status is CouponStatus.REDEEMED:
        raise CouponRedeemedError(f"the customer has redeemed promo code {code!r}", field=f"{path}.code")
    if coupon.status is CouponStatus.EXPIRED:
        raise PromoCodeExpiredError(f"the promotion ended at {coupon.valid_until.isoformat()}", field=f"{path}.code")
    customer = (await customers_service.load_customers(connection, org, [customer_id]))[customer_id]
    event = await outbox.emit(
        connection,
        org_id=org.id,
        event_type=RESEND_EVENT_TYPE,
        payload=resend_event_payload(
            coupon,
            user_id=customer_id,
            mobile=customer.identifier(IdentifierType.MOBILE),
            email=customer.identifier(IdentifierType.EMAIL),
            requested_at=now,
        ),
        now=now,
        customer_id=customer_id,
    )
    resend_id = await repository.insert_resend(
        connection,
        org_id=org.id,
        customer_id=customer_id,
        code_id=found.id,
        link_id=coupon.link_id,
        outbox_event_id=event.id,
        now=now,
    )
    return CouponResent(resend_id, customer_id, now, coupon, event, replayed=False)


def resend_event_payload(
    coupon: CustomerCouponView, *, user_id: int, mobile: str | None, email: str | None, requested_at: datetime
) -> dict[str, Any]:
    """What the brand's messaging system receives: whom to send which code, valid when. Plain JSON
    (ids as strings like the API's, times in ISO 8601 UTC)."""
    return {
        "version": 1,
        "userId": str(user_id),
        "mobile": mobile,
        "email": email,
        "code": coupon.code,
        "promotion": {"id": str(coupon.promotion_id), "name": coupon.promotion_name},
        "validFrom": coupon.valid_from.isoformat(),
        "validUntil": coupon.valid_until.isoformat(),
        "requestedAt": requested_at.isoformat(),
    }
