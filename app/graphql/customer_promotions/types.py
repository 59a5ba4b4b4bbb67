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
from app.graphql.core.pagination import PageInfo
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


@strawberry.type(description="Points a customer was issued through a points promotion (member care's Promotions tab).")
class PromotionAward:
    event_log_id: strawberry.ID = strawberry.field(description="The CUSTOMER_PROMOTION ledger event.")
    promotion: CustomerPromotion
    program_code: str
    points: Decimal
    store_code: str | None
    till_code: str | None
    import_job_id: strawberry.ID | None = strawberry.field(description="The import that issued it; empty: the API.")
    awarded_at: datetime

    @classmethod
    def from_record(cls, record: service.PromotionAwardRecord, org: OrgConfig) -> PromotionAward:
        store = org.store(record.store_id) if record.store_id is not None else None
        return cls(
            event_log_id=strawberry.ID(str(record.event_id)),
            promotion=CustomerPromotion.from_view(record.promotion, org),
            program_code=org.program(record.program_id).code,
            points=record.points,
            store_code=store.code if store is not None else None,
            till_code=org.till(record.till_id).code if record.till_id is not None else None,
            import_job_id=strawberry.ID(str(record.import_job_id)) if record.import_job_id is not None else None,
            awarded_at=record.created_at,
        )


@strawberry.type
class PromotionAwardPage:
    customer_id: strawberry.ID
    records: list[PromotionAward]
    page_info: PageInfo


CustomerPromotionHistoryResult = Annotated[
    PromotionAwardPage | InvalidInputError | NotFoundError, strawberry.union("CustomerPromotionHistoryResult")
]
