"""The adjustments' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.adjustments.mutations.adjust_points import AdjustPointsMutation


@strawberry.type
class AdjustmentMutation(AdjustPointsMutation):
    pass
