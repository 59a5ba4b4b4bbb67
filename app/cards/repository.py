"""The cards' data access: loyalty cards and subledgers.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables. Lookups by many
identifiers or codes bind the whole list as one parameter, so each statement compiles once
whatever the list's length (app.storage.database.any_of).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.cards.models import CardStatus, LoyaltyCard, Subledger
from app.storage.database import any_of, list_parameter
from app.storage.tables import table_of

cards = table_of(LoyaltyCard)
subledgers = table_of(Subledger)

_INSERT_CARD = insert(cards).returning(cards.c.id)
_SET_STATUS = update(cards).where(cards.c.id == bindparam("card_id")).values(status=bindparam("status"))
_INSERT_SUBLEDGERS = insert(subledgers).returning(subledgers.c.id, sort_by_parameter_order=True)


@lru_cache(maxsize=4)
def _cards_statement(dialect: str) -> Any:
    return text(
        f"SELECT cards.identifier, cards.status, cards.customer_id FROM {cards.name} cards "
        f"WHERE cards.org_id = :org_id AND cards.program_id = :program_id "
        f"AND cards.identifier {any_of(dialect, 'identifiers')}"
    )


@lru_cache(maxsize=4)
def _subledgers_statement(dialect: str) -> Any:
    return text(
        f"SELECT subledgers.code, subledgers.id FROM {subledgers.name} subledgers "
        f"WHERE subledgers.program_id = :program_id AND subledgers.code {any_of(dialect, 'codes')}"
    )


async def insert_card(
    connection: AsyncConnection,
    *,
    org_id: int,
    program_id: int,
    identifier: str,
    status: CardStatus,
    customer_id: int,
    now: datetime,
) -> int:
    values = {
        "org_id": org_id,
        "program_id": program_id,
        "identifier": identifier,
        "status": status.value,
        "customer_id": customer_id,
        "created_at": now,
    }
    return (await connection.execute(_INSERT_CARD, values)).scalar_one()


async def set_card_status(connection: AsyncConnection, card_id: int, status: CardStatus) -> None:
    await connection.execute(_SET_STATUS, {"card_id": card_id, "status": status.value})


async def cards_by_identifier(
    connection: AsyncConnection, *, org_id: int, program_id: int, identifiers: Sequence[str]
) -> list[Any]:
    """The program's cards with these identifiers: rows (identifier, status, customer_id); unknown
    identifiers are absent. One statement for any number of identifiers."""
    if not identifiers:
        return []
    dialect = connection.dialect.name
    parameters = {"org_id": org_id, "program_id": program_id, "identifiers": list_parameter(dialect, identifiers)}
    return list((await connection.execute(_cards_statement(dialect), parameters)).all())


async def subledger_ids(connection: AsyncConnection, *, program_id: int, codes: Sequence[str]) -> dict[str, int]:
    """The program's subledgers with these codes, by code; unknown codes are absent."""
    if not codes:
        return {}
    dialect = connection.dialect.name
    parameters = {"program_id": program_id, "codes": list_parameter(dialect, codes)}
    return {row.code: row.id for row in await connection.execute(_subledgers_statement(dialect), parameters)}


async def insert_subledgers(
    connection: AsyncConnection, *, org_id: int, program_id: int, codes: Sequence[str], now: datetime
) -> list[int]:
    """New subledgers of the program, one per code; their ids in the order of `codes`."""
    rows = [{"org_id": org_id, "program_id": program_id, "code": code, "created_at": now} for code in codes]
    return list((await connection.execute(_INSERT_SUBLEDGERS, rows)).scalars().all())
