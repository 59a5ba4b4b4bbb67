"""The coupons tab's mutations, one module each, composed into the Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.coupons.mutations.resend_coupon import ResendCouponMutation


@strawberry.type
class CouponMutation(ResendCouponMutation):
    pass
