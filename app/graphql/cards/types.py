"""Output types of loyalty cards."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import strawberry

from app.cards.models import CardStatus
from app.cards.service import CardView
from app.organizations.config import OrgConfig

strawberry.enum(
    CardStatus,
    name="CardStatus",
    description="ACTIVE takes points; BLOCKED and LOST take none and may become ACTIVE again; REPLACED is final.",
)  # registers the domain enum itself: the class is the schema's enum
CardStatusEnum: TypeAlias = CardStatus


@strawberry.type(description="A loyalty card of one program, held by one customer.")
class LoyaltyCard:
    number: str
    external_id: str | None
    program_code: str
    status: CardStatusEnum
    replaced_by_number: str | None = strawberry.field(
        description="The card that replaced this one (status REPLACED): same holder, same program, same points."
    )
    user_id: strawberry.ID = strawberry.field(description="The holder.")
    issued_at: datetime
    updated_at: datetime | None = strawberry.field(description="When the status last changed.")

    @classmethod
    def from_view(cls, view: CardView, org: OrgConfig) -> LoyaltyCard:
        return cls(
            number=view.number,
            external_id=view.external_id,
            program_code=org.program(view.program_id).code,
            status=CardStatus(view.status),
            replaced_by_number=view.replaced_by_number,
            user_id=strawberry.ID(str(view.customer_id)),
            issued_at=view.issued_at,
            updated_at=view.updated_at,
        )


@strawberry.type(description="A card was issued (or, sent again with the same idempotency key, had been).")
class CardIssued:
    card: LoyaltyCard
    replayed: bool


@strawberry.type(description="The card's status is set; a replacement is the new card.")
class CardStatusSet:
    card: LoyaltyCard
    replacement: LoyaltyCard | None
    replayed: bool
