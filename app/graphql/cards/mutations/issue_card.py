"""issueCard: member care issues a loyalty card of a program to a customer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.cards.service import issue_on_request
from app.graphql.cards.inputs import IssueCardInput
from app.graphql.cards.types import CardIssued, LoyaltyCard
from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError

IssueCardResult = Annotated[
    CardIssued | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("IssueCardResult"),
]


@strawberry.type
class IssueCardMutation:
    @strawberry.mutation(
        description=(
            "Issue an ACTIVE loyalty card of a program to a customer: points imported onto it go to the holder's "
            "account in that program. Its number becomes the customer's CARD_NUMBER identifier (in the identifier "
            "history with the request's source and account). Errors: CARD_TAKEN, IDENTIFIER_TAKEN (another "
            "customer holds the number), CUSTOMER_NOT_FOUND, CUSTOMER_MERGED, NOT_A_CUSTOMER."
        )
    )
    async def issue_card(self, info: Info, input: IssueCardInput) -> IssueCardResult:
        card, replayed = await issue_on_request(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        return CardIssued(card=LoyaltyCard.from_view(card, info.context.org), replayed=replayed)
