"""Input types of alternate currencies."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from app.currencies.service import RedemptionRequest, ReversalRequest
from app.currencies.transfers import TransferRequest
from app.graphql.customers.inputs import CustomerLookupInput


@strawberry.input(description="Redeem units of one of a program's alternate currencies.")
class RedeemAlternateCurrencyInput:
    customer: CustomerLookupInput
    currency: str = strawberry.field(description="The currency's identifier, as the organisation file declares it.")
    value: Decimal = strawberry.field(description="More than 0, no finer than the currency's decimal places.")
    idempotency_key: str = strawberry.field(
        description=(
            "Required. Sent again with the same request, the first result comes back and nothing is written; "
            "with a different request, IDEMPOTENCY_KEY_REUSED. Unique per organisation, kept at least 24 hours."
        )
    )
    program_code: str | None = strawberry.field(default=None, description="The org's default program when omitted.")

    def to_domain(self) -> RedemptionRequest:
        return RedemptionRequest(
            customer=self.customer.to_domain(),
            currency_identifier=self.currency,
            value=self.value,
            idempotency_key=self.idempotency_key,
            program_code=self.program_code,
        )


@strawberry.input(
    description="Units of an alternate currency to move from one customer to another of the same organisation."
)
class TransferAlternateCurrencyInput:
    from_: CustomerLookupInput = strawberry.field(name="from", description="The sender.")
    to: CustomerLookupInput = strawberry.field(description="The receiver.")
    currency: str = strawberry.field(description="The currency's identifier, as the organisation file declares it.")
    value: Decimal = strawberry.field(description="More than 0, no finer than the currency's decimal places.")
    idempotency_key: str = strawberry.field(
        description="Required. Sent again with the same request, the first result comes back and nothing is written."
    )
    program_code: str | None = strawberry.field(default=None, description="The org's default program when omitted.")

    def to_domain(self) -> TransferRequest:
        return TransferRequest(
            sender=self.from_.to_domain(),
            receiver=self.to.to_domain(),
            currency_identifier=self.currency,
            value=self.value,
            idempotency_key=self.idempotency_key,
            program_code=self.program_code,
        )


@strawberry.input(description="Give back all or part of an alternate currency redemption.")
class ReverseAlternateCurrencyRedemptionInput:
    event_log_id: strawberry.ID = strawberry.field(description="The redemption's eventLogId.")
    idempotency_key: str = strawberry.field(
        description="Required. Sent again with the same request, the first result comes back and nothing is written."
    )
    value: Decimal | None = strawberry.field(
        default=None, description="The units to give back; all that is left of the redemption when omitted."
    )

    def to_domain(self) -> ReversalRequest:
        return ReversalRequest(
            redemption_event_id=str(self.event_log_id), idempotency_key=self.idempotency_key, value=self.value
        )
