"""The transfers' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.transfers.mutations.transfer_points import TransferPointsMutation


@strawberry.type
class TransferMutation(TransferPointsMutation):
    pass
