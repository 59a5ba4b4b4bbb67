"""The customers' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.customers.mutations.change_identifier import ChangeIdentifierMutation
from app.graphql.customers.mutations.merge_customers import MergeCustomersMutation


@strawberry.type
class CustomerMutation(MergeCustomersMutation, ChangeIdentifierMutation):
    pass
