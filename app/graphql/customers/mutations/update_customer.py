"""updateCustomer: member care changes a customer's names and declared customer fields."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.customers.profile import update_on_request
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.graphql.customers.inputs import UpdateCustomerInput
from app.graphql.customers.types import Customer, CustomerUpdated

UpdateCustomerResult = Annotated[
    CustomerUpdated | InvalidInputError | NotFoundError | ConflictError, strawberry.union("UpdateCustomerResult")
]


@strawberry.type
class UpdateCustomerMutation:
    @strawberry.mutation(
        description=(
            "Change a customer's profile (member care): only the fields given. Errors: CUSTOMER_NOT_FOUND, "
            "CUSTOMER_MERGED, INVALID_INPUT (a field the organisation does not declare, a value not of its type, a "
            "required field removed)."
        )
    )
    async def update_customer(self, info: Info, input: UpdateCustomerInput) -> UpdateCustomerResult:
        result = await update_on_request(
            info.context.database,
            info.context.org,
            input.customer.to_domain(),
            input.to_domain(),
            now=info.context.now,
        )
        info.context.customers.prime(result.customer.id, result.customer)
        return CustomerUpdated(customer=Customer.from_view(result.customer), changed=result.changed)
