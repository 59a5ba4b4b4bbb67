"""Output types of points promotions: a promotion with its totals, and the payload of an award."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from app.customer_promotions import service
from app.customer_promotions.service import PromotionTotals, PromotionView
from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.customers.types import Customer
from app.graphql.organization.types import ExpiryStrategyEnum
from app.organizations.config import OrgConfig


@strawberry.type(description="A points promotion (the seed's Customer Promotion).")
class CustomerPromotion:
    identifier: str
    name: str
    program_code: str
    expiry_strategy: ExpiryStrategyEnum
    expiry_value: int | None
    created_at: datetime
    points_awarded: Decimal | None = strawberry.field(
        default=None, description="Sum of its awards (customerPromotion query only)."
    )
    awards_count: int | None = strawberry.field(
        default=None, description="Number of awards (customerPromotion query only)."
    )
    holders_count: int | None = strawberry.field(
        default=None, description="Customers and groups awarded (customerPromotion query only)."
    )

    @classmethod
    def from_view(cls, view: PromotionView, org: OrgConfig, totals: PromotionTotals | None = None) -> CustomerPromotion:
        return cls(
            identifier=view.identifier,
            name=view.name,
            program_code=org.program(view.program_id).code,
            expiry_strategy=view.expiry_strategy,
            expiry_value=view.expiry_value,
            created_at=view.created_at,
            points_awarded=totals.points_awarded if totals else None,
            awards_count=totals.awards_count if totals else None,
            holders_count=totals.holders_count if totals else None,
        )


@strawberry.type(description="Points awarded (or, sent again with the same idempotency key, had been).")
class PromotionPointsAwarded:
    promotion: CustomerPromotion
    user_id: strawberry.ID = strawberry.field(description="The account credited: the customer's, or the group's.")
    user_group_id: strawberry.ID | None
    points: Decimal
    event_log_id: strawberry.ID = strawberry.field(description="The CUSTOMER_PROMOTION ledger event.")
    balance_after: Decimal = strawberry.field(description="The account's REGULAR balance in the program right after.")
    created_at: datetime
    replayed: bool

    @strawberry.field(description="The account holder credited.")
    async def customer(self, info: Info) -> Customer | None:
        view = await info.context.customers.load(int(self.user_id))
        return Customer.from_view(view) if view is not None else None

    @classmethod
    def from_award(cls, result: service.AwardResult, org: OrgConfig) -> PromotionPointsAwarded:
        return cls(
            promotion=CustomerPromotion.from_view(result.promotion, org),
            user_id=strawberry.ID(str(result.holder_id)),
            user_group_id=strawberry.ID(str(result.user_group_id)) if result.user_group_id else None,
            points=result.points,
            event_log_id=strawberry.ID(str(result.event_id)),
            balance_after=result.balance_after,
            created_at=result.created_at,
            replayed=result.replayed,
        )


CustomerPromotionResult = Annotated[
    CustomerPromotion | NotFoundError | InvalidInputError, strawberry.union("CustomerPromotionResult")
]
