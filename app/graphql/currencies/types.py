"""Output types of alternate currencies (the balances are in app/graphql/customers/types.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from app.currencies.service import RedemptionResult, ReversalResult
from app.currencies.transfers import TransferResult


@strawberry.type(
    description="Units of an alternate currency redeemed (one ALTERNATE_CURRENCY_REDEMPTION ledger event)."
)
class AlternateCurrencyRedeemed:
    event_log_id: strawberry.ID
    program_code: str
    alternate_currency: str = strawberry.field(description="The currency's identifier.")
    value: Decimal
    balance_after: Decimal = strawberry.field(description="The customer's balance in the currency after it.")
    redeemed_at: datetime
    replayed: bool = strawberry.field(description="An earlier request with the same idempotency key answered this.")

    @classmethod
    def from_result(cls, result: RedemptionResult) -> AlternateCurrencyRedeemed:
        return cls(
            event_log_id=strawberry.ID(str(result.event_id)),
            program_code=result.program_code,
            alternate_currency=result.currency_identifier,
            value=result.value,
            balance_after=result.balance_after,
            redeemed_at=result.redeemed_at,
            replayed=result.replayed,
        )


@strawberry.type(
    description="Units of an alternate currency redemption given back (one REDEMPTION_REVERSAL ledger event "
    "correcting it)."
)
class AlternateCurrencyRedemptionReversed:
    event_log_id: strawberry.ID
    redemption_event_log_id: strawberry.ID
    program_code: str
    alternate_currency: str = strawberry.field(description="The currency's identifier.")
    value: Decimal
    value_left: Decimal = strawberry.field(description="What is left of the redemption to give back after this.")
    balance_after: Decimal = strawberry.field(
        description="The balance the units went back to (a merged customer's survivor's)."
    )
    reversed_at: datetime
    replayed: bool = strawberry.field(description="An earlier request with the same idempotency key answered this.")

    @classmethod
    def from_result(cls, result: ReversalResult) -> AlternateCurrencyRedemptionReversed:
        return cls(
            event_log_id=strawberry.ID(str(result.event_id)),
            redemption_event_log_id=strawberry.ID(str(result.redemption_event_id)),
            program_code=result.program_code,
            alternate_currency=result.currency_identifier,
            value=result.value,
            value_left=result.value_left,
            balance_after=result.balance_after,
            reversed_at=result.reversed_at,
            replayed=result.replayed,
        )


@strawberry.type(
    description="Units of an alternate currency moved between two customers (one ALTERNATE_CURRENCY_TRANSFER "
    "ledger event: a debit of the sender, a credit of the receiver)."
)
class AlternateCurrencyTransferred:
    event_log_id: strawberry.ID
    program_code: str
    alternate_currency: str = strawberry.field(description="The currency's identifier.")
    value: Decimal
    from_user_id: strawberry.ID = strawberry.field(description="The sender.")
    to_user_id: strawberry.ID = strawberry.field(description="The receiver.")
    from_balance_after: Decimal = strawberry.field(description="The sender's balance in the currency after it.")
    to_balance_after: Decimal = strawberry.field(description="The receiver's balance in the currency after it.")
    transferred_at: datetime
    replayed: bool = strawberry.field(description="An earlier request with the same idempotency key answered this.")

    @classmethod
    def from_result(cls, result: TransferResult) -> AlternateCurrencyTransferred:
        return cls(
            event_log_id=strawberry.ID(str(result.event_id)),
            program_code=result.program_code,
            alternate_currency=result.currency_identifier,
            value=result.value,
            from_user_id=strawberry.ID(str(result.sender_id)),
            to_user_id=strawberry.ID(str(result.receiver_id)),
            from_balance_after=result.sender_balance_after,
            to_balance_after=result.receiver_balance_after,
            transferred_at=result.transferred_at,
            replayed=result.replayed,
        )
