"""Output types of alternate currencies (the balances are in app/graphql/customers/types.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from app.currencies.service import RedemptionResult


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
