"""Input types of manual points adjustments."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from app.adjustments.service import AdjustmentRequest
from app.graphql.adjustments.types import AdjustmentReasonEnum
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.ledger.types import EntryTypeEnum


@strawberry.input(description="A manual credit or debit of a customer's points by member care.")
class AdjustPointsInput:
    customer: CustomerLookupInput
    type: EntryTypeEnum = strawberry.field(description="CREDIT adds points; DEBIT takes spendable points.")
    points: Decimal = strawberry.field(description="More than 0, no finer than the program counts points.")
    reason: AdjustmentReasonEnum
    note: str = strawberry.field(description="Why, in words: required, at most 1,000 characters.")
    idempotency_key: str = strawberry.field(
        description=(
            "Required. Sent again with the same request, the first result comes back and nothing is written; "
            "with a different request, IDEMPOTENCY_KEY_REUSED. Unique per organisation, kept at least 24 hours."
        )
    )
    program_code: str | None = strawberry.field(default=None, description="The org's default program when omitted.")

    def to_domain(self) -> AdjustmentRequest:
        return AdjustmentRequest(
            customer=self.customer.to_domain(),
            entry_type=self.type,
            points=self.points,
            reason=self.reason,
            note=self.note,
            idempotency_key=self.idempotency_key,
            program_code=self.program_code,
        )
