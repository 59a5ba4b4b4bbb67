"""addTransaction: post a purchase (seed 001, Add Transaction)."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.transactions.inputs import TransactionAddInput
from app.graphql.transactions.types import AddTransactionResult, ItemStatus, Transaction, TransactionAdded
from app.transactions.service import ADDED_CODE, TransactionResult, add_transaction


def transaction_added(info: Info, result: TransactionResult) -> TransactionAdded:
    # The service already holds the customer and line items it wrote: no second query for them.
    if result.customer is not None:
        info.context.customers.prime(result.customer.id, result.customer)
    if result.line_items is not None:
        info.context.line_items.prime(result.transaction.id, result.line_items)
    return TransactionAdded(
        transaction=Transaction.from_view(result.transaction, info.context.org),
        item_status=ItemStatus(success=True, code=ADDED_CODE, message=result.item_status_message),
        replayed=result.replayed,
    )


@strawberry.type
class AddTransactionMutation:
    @strawberry.mutation(description="Post a purchase: find or register the customer, earn points, move the tier.")
    async def add_transaction(self, info: Info, input: TransactionAddInput) -> AddTransactionResult:
        result = await add_transaction(info.context.database, info.context.org, input.to_domain(), now=info.context.now)
        return transaction_added(info, result)
