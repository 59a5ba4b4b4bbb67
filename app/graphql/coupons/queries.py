"""Coupons tab queries: a customer's codes (Issued Coupons) and their redemptions (Redemptions)."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, check_page_size, decode_id_cursor, page_info_after
from app.graphql.coupons.types import (
    CouponRedemption,
    CouponRedemptionPage,
    CouponStatusEnum,
    CustomerCoupon,
    CustomerCouponPage,
    CustomerCouponRedemptionsResult,
    CustomerCouponsResult,
)
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.promotions.coupons import customer_coupon_redemptions, customer_coupons


@strawberry.type
class CouponQuery:
    @strawberry.field(
        description=(
            "Codes linked to a customer or redeemed by them, newest code first, with their promotion, validity and "
            "status now (member care's Issued Coupons); `status` keeps only codes of that status."
        )
    )
    async def customer_coupons(
        self,
        info: Info,
        customer: CustomerLookupInput,
        status: CouponStatusEnum | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerCouponsResult:
        check_page_size(first)
        after_id = decode_id_cursor("coupon", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views, has_next_page = await customer_coupons(
                connection,
                info.context.org,
                customer_id,
                now=info.context.now,
                first=first,
                after_id=after_id,
                status=status,
            )
        return CustomerCouponPage(
            customer_id=strawberry.ID(str(customer_id)),
            coupons=[CustomerCoupon.from_view(view) for view in views],
            page_info=page_info_after("coupon", [view.code_id for view in views], has_next_page),
        )

    @strawberry.field(
        description=(
            "A customer's code redemptions, newest first: the bill, the discount, the time, and whether a return "
            "reversed it (member care's coupon Redemptions)."
        )
    )
    async def customer_coupon_redemptions(
        self,
        info: Info,
        customer: CustomerLookupInput,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerCouponRedemptionsResult:
        check_page_size(first)
        after_id = decode_id_cursor("coupon-redemption", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views, has_next_page = await customer_coupon_redemptions(
                connection, info.context.org, customer_id, first=first, after_id=after_id
            )
        return CouponRedemptionPage(
            customer_id=strawberry.ID(str(customer_id)),
            redemptions=[CouponRedemption.from_view(view) for view in views],
            page_info=page_info_after("coupon-redemption", [view.id for view in views], has_next_page),
        )
