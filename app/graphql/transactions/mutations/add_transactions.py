"""addTransactions: post a batch of purchases, each added on its own with its own result."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import to_graphql_error
from app.graphql.core.rate_limits import refusal
from app.graphql.transactions.inputs import TransactionAddInput
from app.graphql.transactions.mutations.add_transaction import transaction_added
from app.graphql.transactions.types import AddTransactionResult
from app.kernel.errors import DomainError
from app.transactions.service import BATCH_SIZE_MAX, TransactionResult, add_transactions


@strawberry.type
class AddTransactionsMutation:
    @strawberry.mutation(description="Post up to 100 purchases; each is added on its own and has its own result.")
    async def add_transactions(self, info: Info, input: list[TransactionAddInput]) -> list[AddTransactionResult]:
        # Each item counts against the rate limit (the first with the call): those past it are
        # not added, and answered RATE_LIMITED in their place.
        granted, refused = 0, None
        if len(input) <= BATCH_SIZE_MAX:  # a larger batch is refused whole, counting nothing more
            granted, refused = await info.context.rate_limits.count_items("addTransactions", len(input) - 1)
        admitted = input[: 1 + granted] if refused is not None else input
        try:
            results = await add_transactions(
                info.context.database, info.context.org, [item.to_domain() for item in admitted], now=info.context.now
            )
        except DomainError as error:  # the batch as a whole is refused: one result says why
            info.context.error_codes.append(error.code)
            return [to_graphql_error(error)]
        if refused is not None:
            results += [
                refusal(refused, "addTransactions", field=f"input[{index}]")
                for index in range(len(admitted), len(input))
            ]
        info.context.error_codes.extend(result.code for result in results if isinstance(result, DomainError))
        return [
            transaction_added(info, result) if isinstance(result, TransactionResult) else to_graphql_error(result)
            for result in results
        ]
