"""Input types of member care's coupons tab."""

from __future__ import annotations

import strawberry

from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.promotions.coupons import ResendRequest


@strawberry.input(description="Send a customer's linked code to them again (through the brand's messaging system).")
class ResendCouponInput:
    customer: CustomerLookupInput
    code: str = strawberry.field(description="A code linked to this customer, neither redeemed nor expired.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> ResendRequest:
        return ResendRequest(customer=self.customer.to_domain(), code=self.code, idempotency_key=self.idempotency_key)
