"""The ledger's mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.ledger.mutations.convert_trigger_based_points import ConvertTriggerBasedPointsMutation


@strawberry.type
class LedgerMutation(ConvertTriggerBasedPointsMutation):
    pass
