"""setCardStatus: member care blocks, reactivates, reports lost or replaces a loyalty card."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.cards.service import set_status_on_request
from app.graphql.cards.inputs import SetCardStatusInput
from app.graphql.cards.types import CardStatusSet, LoyaltyCard
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError

SetCardStatusResult = Annotated[
    CardStatusSet | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("SetCardStatusResult"),
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
            "REPLACEMENT_NUMBER, IDEMPOTENCY_KEY_REUSED. With an idempotencyKey, a retry returns the card (and its "
            "replacement) as they are now (replayed: true)."
        )
    )
    async def set_card_status(self, info: Info, input: SetCardStatusInput) -> SetCardStatusResult:
        org = info.context.org
        result = await set_status_on_request(info.context.database, org, input.to_domain(), now=info.context.now)
        return CardStatusSet(
            card=LoyaltyCard.from_view(result.card, org),
            replacement=LoyaltyCard.from_view(result.replacement, org) if result.replacement else None,
            replayed=result.replayed,
        )
