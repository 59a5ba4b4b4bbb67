"""Input types of points redemptions: a redemption (or its dry run) and a reversal."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.customers.types import CustomerLookupType
from app.graphql.transactions.types import TransactionSourceEnum
from app.kernel.enums import IdentifierType, TransactionSource
from app.redemptions import rules


@strawberry.input(
    description=(
        "A redemption of points. Where it draws from: programCode when given; else every program of the till's concept "
        "(a group redemption, in program order); else the till's program, else the store's, else the default program. "
        "It spends the REGULAR points that are spendable now (pending points and lots past their expiry are not)."
    )
)
class RedeemPointsInput:
    customer: CustomerLookupInput = strawberry.field(description="A merged customer is refused (CUSTOMER_MERGED).")
    points: Decimal = strawberry.field(
        description=(
            "More than 0, a multiple of the program's points precision, at least its redemption minimum (a group "
            "redemption: the strictest of its programs)."
        )
    )
    program_code: str | None = None
    store_code: str | None = None
    till_code: str | None = None
    source: TransactionSourceEnum = TransactionSource.INSTORE
    notes: str | None = None
    external_reference: str | None = strawberry.field(
        default=None, description="The client's own reference, kept as given."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> rules.RedemptionInput:
        lookup = self.customer
        return rules.RedemptionInput(
            customer_type=None if lookup.type is CustomerLookupType.USER_ID else IdentifierType(lookup.type.value),
            customer_value=lookup.value,
            points=self.points,
            program_code=self.program_code,
            store_code=self.store_code,
            till_code=self.till_code,
            source=TransactionSource(self.source),
            notes=self.notes,
            external_reference=self.external_reference,
            idempotency_key=self.idempotency_key,
        )


@strawberry.input
class ReverseRedemptionInput:
    redemption_id: strawberry.ID
    points: Decimal | None = strawberry.field(default=None, description="Empty: all that is left to reverse.")
    notes: str | None = None
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> rules.ReversalInput:
        return rules.ReversalInput(
            redemption_id=str(self.redemption_id),
            points=self.points,
            notes=self.notes,
            idempotency_key=self.idempotency_key,
        )
