"""Input types of points promotions: the promotion named by an award, and the award."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from app.customer_promotions import service
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.organization.types import ExpiryStrategyEnum
from app.graphql.user_groups.inputs import UserGroupLookupInput
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
