"""The points promotions' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.customer_promotions.mutations.award_promotion_points import AwardPromotionPointsMutation


@strawberry.type
class CustomerPromotionMutation(AwardPromotionPointsMutation):
    pass
