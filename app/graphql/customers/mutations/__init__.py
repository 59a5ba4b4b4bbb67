"""The customers' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.customers.mutations.change_identifier import ChangeIdentifierMutation
from app.graphql.customers.mutations.merge_customers import MergeCustomersMutation
from app.graphql.customers.mutations.register_customer import RegisterCustomerMutation
from app.graphql.customers.mutations.update_customer import UpdateCustomerMutation


@strawberry.type
class CustomerMutation(
    MergeCustomersMutation, ChangeIdentifierMutation, RegisterCustomerMutation, UpdateCustomerMutation
):
    pass
