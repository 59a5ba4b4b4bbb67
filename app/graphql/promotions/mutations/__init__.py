"""The promotions' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.promotions.mutations.create_promotion import CreatePromotionMutation
from app.graphql.promotions.mutations.end_promotion import EndPromotionMutation
from app.graphql.promotions.mutations.generate_promo_codes import GeneratePromoCodesMutation
from app.graphql.promotions.mutations.link_promo_code import LinkPromoCodeMutation
from app.graphql.promotions.mutations.upload_promo_codes import UploadPromoCodesMutation


@strawberry.type
class PromotionMutation(
    CreatePromotionMutation,
    EndPromotionMutation,
    GeneratePromoCodesMutation,
    UploadPromoCodesMutation,
    LinkPromoCodeMutation,
):
    pass
