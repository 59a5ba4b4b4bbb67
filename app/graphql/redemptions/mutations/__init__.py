"""The redemptions' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.redemptions.mutations.redeem_points import RedeemPointsMutation
from app.graphql.redemptions.mutations.reverse_redemption import ReverseRedemptionMutation


@strawberry.type
class RedemptionMutation(RedeemPointsMutation, ReverseRedemptionMutation):
    pass
