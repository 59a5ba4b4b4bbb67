"""setCardStatus: member care blocks, reactivates, reports lost or replaces a loyalty card."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.cards.service import set_status_on_request
from app.graphql.cards.inputs import SetCardStatusInput
from app.graphql.cards.types import CardStatusSet, LoyaltyCard
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, InvalidInputError, NotFoundError

SetCardStatusResult = Annotated[
    CardStatusSet | InvalidInputError | NotFoundError | ConflictError, strawberry.union("SetCardStatusResult")
]


@strawberry.type
class SetCardStatusMutation:
    @strawberry.mutation(
        description=(
            "Set a card's status: ACTIVE, BLOCKED, LOST, or REPLACED with newNumber (a new ACTIVE card for the same "
            "holder and program, so the same points; the old card is kept, REPLACED). Setting the status a card has "
            "changes nothing. A replacement's new number takes the old one's place among the holder's CARD_NUMBER "
            "identifiers (identifier history: REMOVE and ADD with the request's source and account). Errors: "
            "CARD_NOT_FOUND, CARD_REPLACED, CARD_TAKEN, IDENTIFIER_TAKEN (another customer holds the new number), "
            "REPLACEMENT_NUMBER."
        )
    )
    async def set_card_status(self, info: Info, input: SetCardStatusInput) -> SetCardStatusResult:
        org = info.context.org
        card, replacement = await set_status_on_request(
            info.context.database, org, input.to_domain(), now=info.context.now
        )
        return CardStatusSet(
            card=LoyaltyCard.from_view(card, org),
            replacement=LoyaltyCard.from_view(replacement, org) if replacement else None,
        )
