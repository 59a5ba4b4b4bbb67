"""Promotion queries: validate a code against a cart, promotions, a customer's linked codes, and member
care's view of a code."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.pagination import (
    PAGE_SIZE_DEFAULT,
    check_page_size,
    decode_id_cursor,
    page_info_after,
)
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.promotions.inputs import ValidatePromoCodeInput, parse_promotion_id
from app.graphql.promotions.types import (
    CartPromotion,
    CartPromotionConnection,
    LinkedPromoCodes,
    LinkedPromoCodesResult,
    PromoCodeLink,
    PromoCodeStatus,
    PromoCodeStatusResult,
    PromoCodeValidated,
    PromotionResult,
    ValidatePromoCodeResult,
)
from app.promotions import service as promotions_service


@strawberry.type
class PromotionQuery:
    @strawberry.field(
        description=(
            "Would this code apply to this cart now? The discount, or the typed reason it does not (unknown, expired, "
            "not yet active, limit reached, customer limit reached, conditions not met). Nothing is written or held."
        )
    )
    async def validate_promo_code(self, info: Info, input: ValidatePromoCodeInput) -> ValidatePromoCodeResult:
        cart = input.cart.to_domain("input.cart")
        result = await promotions_service.validate_code(
            info.context.database,
            info.context.org,
            input.code,
            input.customer.to_domain() if input.customer else None,
            cart,
            now=info.context.now,
        )
        return PromoCodeValidated.from_validation(result)

    @strawberry.field
    async def cart_promotion(self, info: Info, id: strawberry.ID) -> PromotionResult:
        async with info.context.database.read() as connection:
            view = await promotions_service.load_promotion(
                connection, info.context.org, parse_promotion_id(id, "id"), "id"
            )
        return CartPromotion.from_view(view)

    @strawberry.field(description="The organisation's cart promotions, newest first, keyset pages.")
    async def cart_promotions(
        self, info: Info, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> CartPromotionConnection:
        check_page_size(first)
        after_id = decode_id_cursor("promotion", after)
        async with info.context.database.read() as connection:
            views, has_next_page = await promotions_service.list_promotions(
                connection, info.context.org, first, after_id
            )
        return CartPromotionConnection(
            nodes=[CartPromotion.from_view(view) for view in views],
            page_info=page_info_after("promotion", [row.id for row in views[-1:]], has_next_page),
        )

    @strawberry.field(description="A customer's linked promo codes (linkPromoCode), newest first.")
    async def linked_promo_codes(self, info: Info, customer: CustomerLookupInput) -> LinkedPromoCodesResult:
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views = await promotions_service.customer_links(connection, info.context.org, customer_id)
        return LinkedPromoCodes(
            customer_id=strawberry.ID(str(customer_id)), links=[PromoCodeLink.from_view(view) for view in views]
        )

    @strawberry.field(description="Member care: a code's promotion, counters, limits and redemptions.")
    async def promo_code_status(
        self, info: Info, code: str, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> PromoCodeStatusResult:
        check_page_size(first)
        after_id = decode_id_cursor("promo-redemption", after)
        async with info.context.database.read() as connection:
            status = await promotions_service.code_status(connection, info.context.org, code, first, after_id)
        return PromoCodeStatus.from_status(status)
