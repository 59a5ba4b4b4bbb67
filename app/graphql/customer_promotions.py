"""Points promotions: awardPromotionPoints and the customerPromotion query."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from app.customer_promotions import service
from app.customer_promotions.service import PromotionTotals, PromotionView
from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.customers.types import Customer
from app.graphql.organization.types import ExpiryStrategyEnum
from app.graphql.user_groups.inputs import UserGroupLookupInput
from app.organizations.config import OrgConfig
from app.organizations.models import ExpiryStrategy


@strawberry.input(
    description=(
        "The promotion points are awarded under. A new identifier creates it; an existing one awards under it and "
        "must come with the same name (PROMOTION_NAME_MISMATCH) and, when given, program and expiry "
        "(PROMOTION_SETTINGS_MISMATCH)."
    )
)
class CustomerPromotionInput:
    identifier: str | None = strawberry.field(
        default=None, description="User-defined; generated (CP-...) when omitted."
    )
    name: str = strawberry.field(description="1 to 200 characters, stored as given.")
    program_code: str | None = strawberry.field(
        default=None, description="A new promotion: the org's default program when omitted."
    )
    expiry_strategy: ExpiryStrategyEnum | None = strawberry.field(
        default=None, description="A new promotion: the program's expiry when omitted."
    )
    expiry_value: int | None = strawberry.field(
        default=None, description="Days or months, with a strategy other than NEVER."
    )


@strawberry.input(description="Points for one customer, or one user group, under a points promotion.")
class AwardPromotionPointsInput:
    customer: CustomerLookupInput | None = strawberry.field(
        default=None, description="Exactly one of customer and userGroup."
    )
    user_group: UserGroupLookupInput | None = None
    points: Decimal = strawberry.field(description="More than 0, no finer than the program counts points.")
    store_code: str | None = strawberry.field(default=None, description="The store awarding; or give tillCode.")
    till_code: str | None = None
    promotion: CustomerPromotionInput
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> service.AwardRequest:
        return service.AwardRequest(
            customer=self.customer.to_domain() if self.customer else None,
            user_group=self.user_group.to_domain() if self.user_group else None,
            points=self.points,
            store_code=self.store_code,
            till_code=self.till_code,
            promotion_identifier=self.promotion.identifier,
            promotion_name=self.promotion.name,
            program_code=self.promotion.program_code,
            expiry_strategy=ExpiryStrategy(self.promotion.expiry_strategy) if self.promotion.expiry_strategy else None,
            expiry_value=self.promotion.expiry_value,
            idempotency_key=self.idempotency_key,
        )


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


AwardPromotionPointsResult = Annotated[
    PromotionPointsAwarded | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("AwardPromotionPointsResult"),
]
CustomerPromotionResult = Annotated[
    CustomerPromotion | NotFoundError | InvalidInputError, strawberry.union("CustomerPromotionResult")
]


@strawberry.type
class CustomerPromotionMutation:
    @strawberry.mutation(
        description=(
            "Award points under a points promotion to one customer or user group: a CUSTOMER_PROMOTION ledger credit "
            "into the REGULAR account, as a lot expiring by the promotion's strategy."
        )
    )
    async def award_promotion_points(self, info: Info, input: AwardPromotionPointsInput) -> AwardPromotionPointsResult:
        org = info.context.org
        result = await service.award_promotion_points(
            info.context.database, org, input.to_domain(), now=info.context.now
        )
        return PromotionPointsAwarded(
            promotion=CustomerPromotion.from_view(result.promotion, org),
            user_id=strawberry.ID(str(result.holder_id)),
            user_group_id=strawberry.ID(str(result.user_group_id)) if result.user_group_id else None,
            points=result.points,
            event_log_id=strawberry.ID(str(result.event_id)),
            balance_after=result.balance_after,
            created_at=result.created_at,
            replayed=result.replayed,
        )


@strawberry.type
class CustomerPromotionQuery:
    @strawberry.field(description="A points promotion by identifier, with its totals.")
    async def customer_promotion(self, info: Info, identifier: str) -> CustomerPromotionResult:
        async with info.context.database.read() as connection:
            view = await service.find_promotion(connection, info.context.org, identifier)
            totals = (await service.promotion_totals(connection, [view.id]))[view.id]
        return CustomerPromotion.from_view(view, info.context.org, totals)
