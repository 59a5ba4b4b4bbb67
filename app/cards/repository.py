"""The cards' data access: loyalty cards and subledgers.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables. Lookups by many
numbers or codes bind the whole list as one parameter, so each statement compiles once whatever
the list's length (app.storage.database.any_of).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from app.cards.models import CardStatus, LoyaltyCard, Subledger
from app.storage.customer_rows import move_parameters, move_to_survivor_statement
from app.storage.database import any_of, list_parameter
from app.storage.tables import table_of

cards = table_of(LoyaltyCard)
subledgers = table_of(Subledger)

_INSERT_CARD = insert(cards).returning(cards.c.id)
_INSERT_SUBLEDGERS = insert(subledgers).returning(subledgers.c.id, sort_by_parameter_order=True)
# Guarded: a REPLACED card's status is final, so the statement never touches one.
_SET_STATUS = (
    update(cards)
    .where(
        cards.c.org_id == bindparam("card_org_id"),
        cards.c.id == bindparam("card_id"),
        cards.c.status != CardStatus.REPLACED.value,
    )
    .values(status=bindparam("new_status"), replaced_by_card_id=bindparam("replaced_by"), updated_at=bindparam("now"))
)
_CARD_BY_NUMBER = select(cards.c.id, cards.c.customer_id, cards.c.status).where(
    cards.c.org_id == bindparam("org_id"),
    cards.c.program_id == bindparam("program_id"),
    cards.c.identifier == bindparam("number"),
)
_replacement = aliased(cards, name="replacement")
_CARD_ROWS = select(
    cards.c.id,
    cards.c.customer_id,
    cards.c.program_id,
    cards.c.identifier,
    cards.c.external_id,
    cards.c.status,
    _replacement.c.identifier.label("replaced_by_number"),
    cards.c.created_at,
    cards.c.updated_at,
).outerjoin(_replacement, _replacement.c.id == cards.c.replaced_by_card_id)
_CARDS_OF_CUSTOMERS = _CARD_ROWS.where(
    cards.c.org_id == bindparam("org_id"), cards.c.customer_id.in_(bindparam("ids", expanding=True))
).order_by(cards.c.customer_id, cards.c.id)
_CARD_BY_ID = _CARD_ROWS.where(cards.c.org_id == bindparam("org_id"), cards.c.id == bindparam("card_id"))
_MOVE_CARDS = move_to_survivor_statement(cards, cards.c.id, cards.c.program_id, cards.c.identifier)


@lru_cache(maxsize=4)
def _cards_statement(dialect: str) -> Any:
    return text(
        f"SELECT cards.identifier, cards.external_id, cards.status, cards.customer_id FROM {cards.name} cards "
        f"WHERE cards.org_id = :org_id AND cards.program_id = :program_id "
        f"AND (cards.identifier {any_of(dialect, 'keys')} OR cards.external_id {any_of(dialect, 'keys')})"
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
    external_id: str | None = None,
) -> int:
    values = {
        "org_id": org_id,
        "program_id": program_id,
        "identifier": identifier,
        "external_id": external_id,
        "status": status.value,
        "customer_id": customer_id,
        "created_at": now,
    }
    return (await connection.execute(_INSERT_CARD, values)).scalar_one()


async def set_card_status(
    connection: AsyncConnection,
    *,
    org_id: int,
    card_id: int,
    status: CardStatus,
    now: datetime,
    replaced_by_card_id: int | None = None,
) -> bool:
    """Set the card's status unless it was REPLACED (then False: nothing changed)."""
    parameters = {
        "card_org_id": org_id,
        "card_id": card_id,
        "new_status": status.value,
        "replaced_by": replaced_by_card_id,
        "now": now,
    }
    return (await connection.execute(_SET_STATUS, parameters)).rowcount == 1


async def card_by_number(connection: AsyncConnection, *, org_id: int, program_id: int, number: str) -> Any:
    """The program's card with this number: a row (id, customer_id, status), None when there is none."""
    parameters = {"org_id": org_id, "program_id": program_id, "number": number}
    return (await connection.execute(_CARD_BY_NUMBER, parameters)).one_or_none()


async def taken_numbers(
    connection: AsyncConnection, *, org_id: int, program_id: int, number: str, external_id: str | None
) -> tuple[bool, bool]:
    """Whether another card of the program has this number, and this external id, as number or
    external id (a card is found by either, so neither may name two cards)."""
    keys = [number] if external_id is None else [number, external_id]
    found = await cards_by_key(connection, org_id=org_id, program_id=program_id, keys=keys)
    return number in found, external_id is not None and external_id in found


async def cards_by_key(
    connection: AsyncConnection, *, org_id: int, program_id: int, keys: Sequence[str]
) -> dict[str, Any]:
    """The program's cards these keys name, by key: a key names the card with that number, else
    the card with that external id. Rows (identifier, external_id, status, customer_id); unknown
    keys are absent. One statement for any number of keys."""
    if not keys:
        return {}
    dialect = connection.dialect.name
    parameters = {"org_id": org_id, "program_id": program_id, "keys": list_parameter(dialect, keys)}
    rows = list((await connection.execute(_cards_statement(dialect), parameters)).all())
    wanted = set(keys)
    found = {row.external_id: row for row in rows if row.external_id in wanted}
    found.update({row.identifier: row for row in rows if row.identifier in wanted})  # a number wins
    return found


async def cards_of_customers(connection: AsyncConnection, *, org_id: int, customer_ids: Sequence[int]) -> list[Any]:
    """The cards of these customers by customer and issue: rows (id, customer_id, program_id,
    identifier, external_id, status, replaced_by_number, created_at, updated_at). One statement."""
    return list((await connection.execute(_CARDS_OF_CUSTOMERS, {"org_id": org_id, "ids": list(customer_ids)})).all())


async def card_by_id(connection: AsyncConnection, *, org_id: int, card_id: int) -> Any:
    """One card as `cards_of_customers` reads it."""
    return (await connection.execute(_CARD_BY_ID, {"org_id": org_id, "card_id": card_id})).one()


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


async def move_cards(connection: AsyncConnection, *, org_id: int, survivor_id: int, victim_id: int) -> list[Any]:
    """A merge: the victim's cards become the survivor's. The moved cards (id, program_id,
    identifier), in the order they were issued."""
    parameters = move_parameters(org_id=org_id, survivor_id=survivor_id, victim_id=victim_id)
    return sorted((await connection.execute(_MOVE_CARDS, parameters)).all(), key=lambda row: row.id)


async def subledger_ids_by_code(
    connection: AsyncConnection, *, org_id: int, codes: Sequence[str]
) -> dict[str, list[int]]:
    """The organisation's subledgers with these codes, in any program: ids by code (a code may
    name a subledger in several programs); unknown codes are absent. One statement."""
    if not codes:
        return {}
    rows = await connection.execute(
        select(subledgers.c.code, subledgers.c.id)
        .where(subledgers.c.org_id == org_id, subledgers.c.code.in_(list(codes)))
        .order_by(subledgers.c.id)
    )
    found: dict[str, list[int]] = {}
    for row in rows:
        found.setdefault(row.code, []).append(row.id)
    return found


async def subledger_codes(connection: AsyncConnection, *, org_id: int, ids: Sequence[int]) -> dict[int, str]:
    """The codes of these subledgers of the organisation, by id. One statement."""
    if not ids:
        return {}
    rows = await connection.execute(
        select(subledgers.c.id, subledgers.c.code).where(subledgers.c.org_id == org_id, subledgers.c.id.in_(list(ids)))
    )
    return {row.id: row.code for row in rows}
