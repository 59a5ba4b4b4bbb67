"""changeIdentifier: member care adds, replaces or removes a customer's mobile, email, external id
or card number."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.customers.identifiers import change_identifier
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.customers.inputs import ChangeIdentifierInput
from app.graphql.customers.types import Customer, IdentifierChanged

ChangeIdentifierResult = Annotated[
    IdentifierChanged | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("ChangeIdentifierResult"),
]


@strawberry.type
class ChangeIdentifierMutation:
    @strawberry.mutation(
        description=(
            "Add, replace or remove one identifier of a customer (member care); every change is in identifierHistory. "
            "Errors: IDENTIFIER_TAKEN (another customer owns the value; send merge: true to merge them into this "
            "one), IDENTIFIER_NOT_HELD, NO_IDENTIFIER_CHANGE, INVALID_IDENTIFIER, CUSTOMER_NOT_FOUND, CUSTOMER_MERGED."
        )
    )
    async def change_identifier(self, info: Info, input: ChangeIdentifierInput) -> ChangeIdentifierResult:
        result = await change_identifier(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        info.context.customers.prime(result.customer.id, result.customer)
        return IdentifierChanged(
            customer=Customer.from_view(result.customer),
            merged_user_id=strawberry.ID(str(result.merged_customer_id)) if result.merged_customer_id else None,
            replayed=result.replayed,
        )
