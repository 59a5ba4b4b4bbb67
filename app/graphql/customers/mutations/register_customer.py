"""registerCustomer: member care registers a customer with a profile and identifiers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.customers.profile import register_on_request
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.customers.inputs import RegisterCustomerInput
from app.graphql.customers.types import Customer, CustomerRegistered

RegisterCustomerResult = Annotated[
    CustomerRegistered | InvalidInputError | ConflictError | IdempotencyKeyReusedError | NotFoundError,
    strawberry.union("RegisterCustomerResult"),
]


@strawberry.type
class RegisterCustomerMutation:
    @strawberry.mutation(
        description=(
            "Register a customer (member care): names, at least one identifier, declared customer fields. Errors: "
            "IDENTIFIER_TAKEN (another customer holds an identifier; the field names it), INVALID_IDENTIFIER, "
            "INVALID_INPUT, IDEMPOTENCY_KEY_REUSED, REFERRAL_CODE_NOT_FOUND (referralCode names no customer). With an "
            "idempotencyKey, a retry returns the customer registered "
            "first (replayed: true)."
        )
    )
    async def register_customer(self, info: Info, input: RegisterCustomerInput) -> RegisterCustomerResult:
        result = await register_on_request(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        info.context.customers.prime(result.customer.id, result.customer)
        return CustomerRegistered(customer=Customer.from_view(result.customer), replayed=result.replayed)
