"""Output types of member care's coupons tab: a customer's codes with their status, their
redemptions, and what resendCoupon returns."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeAlias

import strawberry
from strawberry.scalars import JSON

from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo
from app.graphql.promotions.types import LinkModeEnum, PromoCodeSourceEnum
from app.promotions.coupons import CouponRedemptionView, CouponResent, CustomerCouponView
from app.promotions.models import CouponStatus, PromoCodeSource

strawberry.enum(
    CouponStatus,
    name="CouponStatus",
    description=(
        "A code as one customer holds it, now. REDEEMED: used up by this customer (a redemption not reversed by a "
        "return, of a code not linked to them or linked for NEXT_CHECKOUT, or their per-customer limit of the code "
        "reached). Otherwise EXPIRED (the promotion ended), NOT_YET_ACTIVE (it has not started) or ACTIVE."
    ),
)  # registers the domain enum itself: the class is the schema's enum
CouponStatusEnum: TypeAlias = CouponStatus


@strawberry.type(description="A promotion as the coupons tab names it.")
class CouponPromotion:
    id: strawberry.ID
    name: str


@strawberry.type(description="A code linked to the customer or redeemed by them (member care's Issued Coupons).")
class CustomerCoupon:
    code: str
    source: PromoCodeSourceEnum
    promotion: CouponPromotion
    status: CouponStatusEnum
    valid_from: datetime
    valid_until: datetime = strawberry.field(description="Exclusive: the code stops working at this instant.")
    link_mode: LinkModeEnum | None = strawberry.field(
        description="How it is linked to the customer; empty when they named it on a bill without a link."
    )
    linked_at: datetime | None
    redemptions_count: int = strawberry.field(
        description="This customer's redemptions of the code, those reversed by a return excluded."
    )

    @classmethod
    def from_view(cls, view: CustomerCouponView) -> CustomerCoupon:
        return cls(
            code=view.code,
            source=PromoCodeSource(view.source),
            promotion=CouponPromotion(id=strawberry.ID(str(view.promotion_id)), name=view.promotion_name),
            status=view.status,
            valid_from=view.valid_from,
            valid_until=view.valid_until,
            link_mode=view.link_mode,
            linked_at=view.linked_at,
            redemptions_count=view.redemptions_count,
        )


@strawberry.type
class CustomerCouponPage:
    customer_id: strawberry.ID
    coupons: list[CustomerCoupon] = strawberry.field(description="Newest code first.")
    page_info: PageInfo


CustomerCouponsResult = Annotated[
    CustomerCouponPage | NotFoundError | InvalidInputError, strawberry.union("CustomerCouponsResult")
]


async def _bill_number(root: CouponRedemption, info: Info) -> str:
    return await info.context.bill_numbers.load(int(root.transaction_id))


async def _return_number(root: CouponRedemption, info: Info) -> str | None:
    if root.reversal_transaction_id is None:
        return None
    return await info.context.bill_numbers.load(int(root.reversal_transaction_id))


@strawberry.type(description="A code applied to one of the customer's bills (member care's coupon Redemptions).")
class CouponRedemption:
    id: strawberry.ID
    code: str
    promotion: CouponPromotion
    transaction_id: strawberry.ID = strawberry.field(description="The bill.")
    transaction_number: str = strawberry.field(resolver=_bill_number, description="The bill's number.")
    discount: Decimal
    linked: bool = strawberry.field(description="Applied from the customer's linked codes, not named on the bill.")
    redeemed_at: datetime
    reversed: bool = strawberry.field(
        description="A return gave the code back (a return that takes back the whole bill does)."
    )
    reversed_at: datetime | None
    reversal_transaction_id: strawberry.ID | None = strawberry.field(description="The return that reversed it.")
    reversal_transaction_number: str | None = strawberry.field(resolver=_return_number, description="Its number.")

    @classmethod
    def from_view(cls, view: CouponRedemptionView) -> CouponRedemption:
        return cls(
            id=strawberry.ID(str(view.id)),
            code=view.code,
            promotion=CouponPromotion(id=strawberry.ID(str(view.promotion_id)), name=view.promotion_name),
            transaction_id=strawberry.ID(str(view.transaction_id)),
            discount=view.discount,
            linked=view.linked,
            redeemed_at=view.redeemed_at,
            reversed=view.reversed_at is not None,
            reversed_at=view.reversed_at,
            reversal_transaction_id=(
                strawberry.ID(str(view.reversal_transaction_id)) if view.reversal_transaction_id else None
            ),
        )


@strawberry.type
class CouponRedemptionPage:
    customer_id: strawberry.ID
    redemptions: list[CouponRedemption] = strawberry.field(description="Newest first.")
    page_info: PageInfo


CustomerCouponRedemptionsResult = Annotated[
    CouponRedemptionPage | NotFoundError | InvalidInputError, strawberry.union("CustomerCouponRedemptionsResult")
]


@strawberry.type(description="An event in the outbox, for the brand's systems (delivered by webhook).")
class OutboxEvent:
    id: strawberry.ID = strawberry.field(description="Receivers deduplicate deliveries by it.")
    type: str
    payload: JSON
    created_at: datetime


@strawberry.type(
    description="The resend is recorded and its event is in the outbox (or, sent again with the same key, was)."
)
class CouponResendRequested:
    resend_id: strawberry.ID
    user_id: strawberry.ID
    requested_at: datetime
    coupon: CustomerCoupon = strawberry.field(
        description=(
            "The code and its status at the request's time (a replay judges the window at that time too, and counts "
            "the customer's redemptions as they are now)."
        )
    )
    event: OutboxEvent
    replayed: bool = strawberry.field(
        description="True when this is the first result of an earlier request: nothing was written."
    )

    @classmethod
    def from_result(cls, result: CouponResent) -> CouponResendRequested:
        payload: Any = result.event.payload
        return cls(
            resend_id=strawberry.ID(str(result.resend_id)),
            user_id=strawberry.ID(str(result.customer_id)),
            requested_at=result.requested_at,
            coupon=CustomerCoupon.from_view(result.coupon),
            event=OutboxEvent(
                id=strawberry.ID(str(result.event.id)),
                type=result.event.type,
                payload=payload,
                created_at=result.event.created_at,
            ),
            replayed=result.replayed,
        )
