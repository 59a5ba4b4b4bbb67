"""linkPromoCode: a physical code becomes a customer's digital code (the seed's /v1/promotions/code/link)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PromoCodeExpiredError,
    PromoCodeUnknownError,
)
from app.graphql.promotions.inputs import (
    LinkPromoCodeInput,
)
from app.graphql.promotions.types import (
    PromoCodeLink,
    PromoCodeLinked,
)
from app.promotions import service as promotions_service
from app.promotions.models import LinkMode

LinkPromoCodeResult = Annotated[
    PromoCodeLinked | PromoCodeUnknownError | PromoCodeExpiredError | InvalidInputError | NotFoundError | ConflictError,
    strawberry.union("LinkPromoCodeResult"),
]


@strawberry.type
class LinkPromoCodeMutation:
    @strawberry.mutation(
        description=(
            "Link a physical code to a customer (the seed's /v1/promotions/code/link): it becomes their digital code, "
            "applied on their qualifying checkouts without being named, never on another customer's."
        )
    )
    async def link_promo_code(self, info: Info, input: LinkPromoCodeInput) -> LinkPromoCodeResult:
        view, replayed = await promotions_service.link_code(
            info.context.database,
            info.context.org,
            input.code,
            input.customer.to_domain(),
            LinkMode(input.mode),
            now=info.context.now,
        )
        return PromoCodeLinked(link=PromoCodeLink.from_view(view), replayed=replayed)
