"""Input types of points transfers."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.transfers.service import TransferRequest


@strawberry.input(description="Points to move from one customer to another of the same organisation and program.")
class TransferPointsInput:
    from_: CustomerLookupInput = strawberry.field(name="from", description="The sender.")
    to: CustomerLookupInput = strawberry.field(description="The receiver.")
    points: Decimal = strawberry.field(description="More than 0, no finer than the program counts points.")
    program_code: str | None = strawberry.field(default=None, description="The org's default program when omitted.")
    notes: str | None = strawberry.field(default=None, description="At most 1,000 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> TransferRequest:
        return TransferRequest(
            sender=self.from_.to_domain(),
            receiver=self.to.to_domain(),
            points=self.points,
            program_code=self.program_code,
            notes=self.notes,
            idempotency_key=self.idempotency_key,
        )
