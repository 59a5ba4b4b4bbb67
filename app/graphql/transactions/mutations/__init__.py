"""The bills' mutations, one module each, composed into the domain's Mutation mixins.

Returns are a mixin of their own: the published schema lists returnTransaction after the
redemption mutations, so the schema places it there.
"""

from __future__ import annotations

import strawberry

from app.graphql.transactions.mutations.add_transaction import AddTransactionMutation
from app.graphql.transactions.mutations.add_transactions import AddTransactionsMutation
from app.graphql.transactions.mutations.return_transaction import ReturnTransactionMutation

__all__ = ["ReturnTransactionMutation", "TransactionMutation"]


@strawberry.type
class TransactionMutation(AddTransactionMutation, AddTransactionsMutation):
    pass
