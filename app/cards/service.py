"""Loyalty cards: issued to a customer in one program, active or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.cards.models import CardStatus, LoyaltyCard
from app.customers.rules import normalize_code
from app.kernel.errors import NotFoundError
from app.organizations.config import OrgConfig

cards = LoyaltyCard.__table__


async def issue_card(
    connection: AsyncConnection,
    org: OrgConfig,
    *,
    program_code: str,
    identifier: str,
    customer_id: int,
    now: datetime,
    status: CardStatus = CardStatus.ACTIVE,
) -> int:
    program = org.program_by_code(program_code)
    if program is None:
        raise NotFoundError(f"no program {program_code!r} in this organisation", field="programCode")
    return (
        await connection.execute(
            insert(cards)
            .returning(cards.c.id)
            .values(
                org_id=org.id,
                program_id=program.id,
                identifier=normalize_code(identifier, "identifier"),
                status=status.value,
                customer_id=customer_id,
                created_at=now,
            )
        )
    ).scalar_one()


async def set_card_status(connection: AsyncConnection, card_id: int, status: CardStatus) -> None:
    await connection.execute(update(cards).where(cards.c.id == card_id).values(status=status.value))
