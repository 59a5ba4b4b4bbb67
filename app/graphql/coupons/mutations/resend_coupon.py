"""resendCoupon: record a request to send a customer's linked code again, emitted to the outbox."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    PromoCodeExpiredError,
    PromoCodeUnknownError,
)
from app.graphql.coupons.inputs import ResendCouponInput
from app.graphql.coupons.types import CouponResendRequested
from app.promotions.coupons import resend_coupon

ResendCouponResult = Annotated[
    CouponResendRequested
    | PromoCodeUnknownError
    | PromoCodeExpiredError
    | InvalidInputError
    | NotFoundError
    | ConflictError
    | IdempotencyKeyReusedError,
    strawberry.union("ResendCouponResult"),
]


@strawberry.type
class ResendCouponMutation:
    @strawberry.mutation(
        description=(
            "Send a customer's linked code to them again: the request is recorded and a coupon.resend_requested "
            "event is appended to the outbox for the brand's messaging system, in one transaction. Refused for an "
            "unknown code (PROMO_CODE_UNKNOWN), a code not linked to the customer (COUPON_NOT_LINKED_TO_CUSTOMER), "
            "a redeemed one (COUPON_REDEEMED) and an expired one (PROMO_CODE_EXPIRED)."
        )
    )
    async def resend_coupon(self, info: Info, input: ResendCouponInput) -> ResendCouponResult:
        result = await resend_coupon(info.context.database, info.context.org, input.to_domain(), now=info.context.now)
        return CouponResendRequested.from_result(result)
