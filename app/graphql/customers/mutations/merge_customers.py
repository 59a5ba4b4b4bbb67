"""mergeCustomers: member care merges one customer into another (any API key of the organisation)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.customers.service import MergeResult, merge_on_request
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.customers.inputs import MergeCustomersInput
from app.graphql.customers.types import Customer, CustomersMerged

MergeCustomersResult = Annotated[
    CustomersMerged | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("MergeCustomersResult"),
]


def _merged(info: Info, result: MergeResult) -> CustomersMerged:
    info.context.customers.prime(result.survivor.id, result.survivor)
    return CustomersMerged(
        survivor=Customer.from_view(result.survivor),
        victim_user_id=strawberry.ID(str(result.victim_id)),
        replayed=result.replayed,
    )


@strawberry.type
class MergeCustomersMutation:
    @strawberry.mutation(
        description=(
            "Merge two customers of the organisation (member care). The victim's balances move to the survivor in "
            "one MERGE_CUSTOMER event whose debit is the victim's last ledger entry; errors: SAME_CUSTOMER, "
            "CUSTOMER_MERGED, CUSTOMER_NOT_FOUND."
        )
    )
    async def merge_customers(self, info: Info, input: MergeCustomersInput) -> MergeCustomersResult:
        result = await merge_on_request(
            info.context.database,
            info.context.org,
            survivor=input.survivor.to_domain(),
            victim=input.victim.to_domain(),
            idempotency_key=input.idempotency_key,
            now=info.context.now,
        )
        return _merged(info, result)
