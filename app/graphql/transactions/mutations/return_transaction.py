"""returnTransaction: post a return or an exchange of a bill (seed 001, Return Transaction)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    DuplicateBillNumberError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    ReturnExceedsBillError,
)
from app.graphql.transactions.inputs import TransactionReturnInput
from app.graphql.transactions.types import ItemStatus, Transaction, TransactionReturned
from app.transactions.returns import RETURNED_CODE, ReturnResult, return_transaction

ReturnTransactionResult = Annotated[
    TransactionReturned
    | InvalidInputError
    | NotFoundError
    | ReturnExceedsBillError
    | DuplicateBillNumberError
    | ConflictError
    | IdempotencyKeyReusedError,
    strawberry.union("ReturnTransactionResult"),
]


def _returned(info: Info, result: ReturnResult) -> TransactionReturned:
    org = info.context.org
    if result.customer is not None:
        info.context.customers.prime(result.customer.id, result.customer)
    if result.line_items is not None:
        info.context.line_items.prime(result.transaction.id, result.line_items)
    return TransactionReturned(
        transaction=Transaction.from_view(result.transaction, org),
        returned_transaction=Transaction.from_view(result.returned_transaction, org),
        exchange_purchase=Transaction.from_view(result.purchase, org) if result.purchase is not None else None,
        item_status=ItemStatus(success=True, code=RETURNED_CODE, message=result.item_status_message),
        replayed=result.replayed,
        points_returned=result.points_returned,
        points_not_recovered=result.points_not_recovered,
        redemption_points_reversed=result.transaction.reversed_redemption_points,
    )


@strawberry.type
class ReturnTransactionMutation:
    @strawberry.mutation(
        description=(
            "Post a return (RETURN, NOT_INTERESTED_RETURN) or an exchange (MIXED) of a bill: take back the points "
            "earned on what came back, reverse redemptions on it, lower purchases and apply the tier downgrade rule."
        )
    )
    async def return_transaction(self, info: Info, input: TransactionReturnInput) -> ReturnTransactionResult:
        return _returned(
            info,
            await return_transaction(info.context.database, info.context.org, input.to_domain(), now=info.context.now),
        )
