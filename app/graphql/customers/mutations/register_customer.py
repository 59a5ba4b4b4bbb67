"""registerCustomer: member care registers a customer with a profile and identifiers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.customers.profile import register_on_request
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, InvalidInputError
from app.graphql.customers.inputs import RegisterCustomerInput
from app.graphql.customers.types import Customer, CustomerRegistered

RegisterCustomerResult = Annotated[
    CustomerRegistered | InvalidInputError | ConflictError, strawberry.union("RegisterCustomerResult")
]


@strawberry.type
class RegisterCustomerMutation:
    @strawberry.mutation(
        description=(
            "Register a customer (member care): names, at least one identifier, declared customer fields. Errors: "
            "IDENTIFIER_TAKEN (another customer holds an identifier; the field names it), INVALID_IDENTIFIER, "
            "INVALID_INPUT."
        )
    )
    async def register_customer(self, info: Info, input: RegisterCustomerInput) -> RegisterCustomerResult:
        view = await register_on_request(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        info.context.customers.prime(view.id, view)
        return CustomerRegistered(customer=Customer.from_view(view))
