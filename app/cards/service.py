"""Loyalty cards: issued to a customer in one program, active or not. The statements are the
repository's (app/cards/repository.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.cards import repository
from app.cards.models import CardStatus
from app.customers.rules import normalize_code
from app.kernel.errors import NotFoundError
from app.organizations.config import OrgConfig


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
    return await repository.insert_card(
        connection,
        org_id=org.id,
        program_id=program.id,
        identifier=normalize_code(identifier, "identifier"),
        status=status,
        customer_id=customer_id,
        now=now,
    )


async def set_card_status(connection: AsyncConnection, card_id: int, status: CardStatus) -> None:
    await repository.set_card_status(connection, card_id, status)
