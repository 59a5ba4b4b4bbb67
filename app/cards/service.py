"""Loyalty cards: issued to a customer in one program; ACTIVE, BLOCKED, LOST, or REPLACED by a new
card that carries the balance link (same holder, same program, so the same accounts). The
statements are the repository's (app/cards/repository.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.cards import repository
from app.cards.errors import CardNotFoundError, CardReplacedError, CardTakenError, ReplacementNumberError
from app.cards.models import CardStatus
from app.customers.identifiers import CardNumberChange, card_number_lock_keys, check_account, hold_card_number
from app.customers.rules import normalize_code
from app.customers.service import CustomerLookup, find_customer, lock_customers_to_change
from app.idempotency import service as idempotency
from app.kernel.errors import NotFoundError, ValidationError
from app.organizations.config import OrgConfig, ProgramConfig
from app.storage.database import Database, lock_keys


@dataclass(frozen=True)
class CardView:
    id: int
    customer_id: int
    program_id: int
    number: str
    external_id: str | None
    status: str
    replaced_by_number: str | None
    issued_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class CardIssue:
    customer: CustomerLookup
    program_code: str
    number: str
    external_id: str | None
    idempotency_key: str | None
    source: str = "INSTORE"  # the request's, for the identifier history
    account: str | None = None


@dataclass(frozen=True)
class CardStatusChange:
    program_code: str
    number: str
    status: CardStatus
    new_number: str | None  # REPLACED: the new card's number
    new_external_id: str | None
    source: str = "INSTORE"  # the request's, for the identifier history (a replacement's numbers)
    account: str | None = None
    idempotency_key: str | None = None


def _program(org: OrgConfig, program_code: str, field: str) -> ProgramConfig:
    program = org.program_by_code(program_code)
    if program is None:
        raise NotFoundError(f"no program {program_code!r} in this organisation", field=field)
    return program


def _card_lock_keys(org_id: int, program_id: int, keys: Sequence[str]) -> list[str]:
    return [f"card:{org_id}:{program_id}:{key}" for key in keys]


async def issue_card(
    connection: AsyncConnection,
    org: OrgConfig,
    *,
    program_code: str,
    identifier: str,
    customer_id: int,
    now: datetime,
    status: CardStatus = CardStatus.ACTIVE,
    external_id: str | None = None,
    number_field: str = "input.number",
    external_id_field: str = "input.externalId",
) -> int:
    """A new card of the program for the customer, inside the caller's write transaction; a number
    or external id another card of the program answers to is refused (CARD_TAKEN)."""
    program = _program(org, program_code, "input.programCode")
    number = normalize_code(identifier, number_field)
    external = normalize_code(external_id, external_id_field) if external_id is not None else None
    await lock_keys(
        connection, _card_lock_keys(org.id, program.id, [number] if external is None else [number, external])
    )
    number_taken, external_taken = await repository.taken_numbers(
        connection, org_id=org.id, program_id=program.id, number=number, external_id=external
    )
    if number_taken or number == external:
        raise CardTakenError(f"a card of {program.code} answers to {number!r} already", field=number_field)
    if external_taken:
        raise CardTakenError(f"a card of {program.code} answers to {external!r} already", field=external_id_field)
    return await repository.insert_card(
        connection,
        org_id=org.id,
        program_id=program.id,
        identifier=number,
        external_id=external,
        status=status,
        customer_id=customer_id,
        now=now,
    )


async def issue_on_request(
    database: Database, org: OrgConfig, request: CardIssue, *, now: datetime, path: str = "input"
) -> tuple[CardView, bool]:
    """issueCard: a new ACTIVE card for a customer (not merged, not a user group's account), whose
    number becomes the customer's CARD_NUMBER identifier (IDENTIFIER_TAKEN when another customer
    holds it); with an idempotency key, a replay returns the card as it is now. Returns (card,
    replayed)."""
    key = idempotency.check_key(request.idempotency_key, f"{path}.idempotencyKey")
    number = normalize_code(request.number, f"{path}.number")
    account = check_account(request.account, f"{path}.account")

    async def perform(connection: AsyncConnection) -> tuple[int, tuple[CardView, bool]]:
        await lock_keys(connection, card_number_lock_keys(org, [number]))
        customer_id = await find_customer(connection, org, request.customer, f"{path}.customer")
        await lock_customers_to_change(connection, org, {customer_id: f"{path}.customer"})
        card_id = await issue_card(
            connection,
            org,
            program_code=request.program_code,
            identifier=number,
            external_id=request.external_id,
            customer_id=customer_id,
            now=now,
            number_field=f"{path}.number",
            external_id_field=f"{path}.externalId",
        )
        identifier = CardNumberChange(number, None, request.source, account)
        await hold_card_number(connection, org, customer_id, identifier, now=now, field=f"{path}.number")
        return card_id, (await card(connection, org, card_id), False)

    async def replay(connection: AsyncConnection, card_id: int) -> tuple[CardView, bool]:
        return await card(connection, org, card_id), True

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="issueCard",
        now=now,
        perform=perform,
        replay=replay,
        payload=[
            request.customer.payload(),
            request.program_code,
            number,
            request.external_id,
            request.source,
            account,
        ],
        field=f"{path}.idempotencyKey",
    )


@dataclass(frozen=True)
class CardStatusResult:
    card: CardView
    replacement: CardView | None  # the new card of a replacement
    replayed: bool


async def set_status_on_request(
    database: Database, org: OrgConfig, change: CardStatusChange, *, now: datetime, path: str = "input"
) -> CardStatusResult:
    """setCardStatus: ACTIVE, BLOCKED or LOST; or REPLACED with the new card's number, which issues
    that card (ACTIVE) to the same holder in the same program and points the old one at it. A
    REPLACED card's status is final (CARD_REPLACED). Setting the status a card has changes
    nothing. With an idempotency key, a retry returns the card (and its replacement) as they are
    now, without changing anything again (`replayed`)."""
    key = idempotency.check_key(change.idempotency_key, f"{path}.idempotencyKey")
    program = _program(org, change.program_code, f"{path}.programCode")
    number = normalize_code(change.number, f"{path}.number")
    if (change.status is CardStatus.REPLACED) != (change.new_number is not None):
        raise ReplacementNumberError("REPLACED needs newNumber, and only REPLACED takes one", field=f"{path}.newNumber")
    if change.new_external_id is not None and change.new_number is None:
        raise ReplacementNumberError("newExternalId goes with newNumber", field=f"{path}.newExternalId")
    new_number = normalize_code(change.new_number, f"{path}.newNumber") if change.new_number is not None else None
    account = check_account(change.account, f"{path}.account")

    async def perform(connection: AsyncConnection) -> tuple[int, CardStatusResult]:
        if new_number is not None:
            await lock_keys(connection, card_number_lock_keys(org, [number, new_number]))
        found = await repository.card_by_number(connection, org_id=org.id, program_id=program.id, number=number)
        if found is None:
            raise CardNotFoundError(f"no loyalty card {number!r} in program {program.code}", field=f"{path}.number")
        # The holder's row first (as merges lock it), so no merge moves the holder meanwhile; every
        # status change locks it too, so the card read again now is the one to change.
        await lock_customers_to_change(connection, org, {found.customer_id: f"{path}.number"})
        found = await repository.card_by_number(connection, org_id=org.id, program_id=program.id, number=number)
        replacement_id = None
        if new_number is not None:
            replacement_id = await issue_card(
                connection,
                org,
                program_code=program.code,
                identifier=new_number,
                external_id=change.new_external_id,
                customer_id=found.customer_id,
                now=now,
                number_field=f"{path}.newNumber",
                external_id_field=f"{path}.newExternalId",
            )
        if found.status != change.status.value or replacement_id is not None:
            changed = await repository.set_card_status(
                connection,
                org_id=org.id,
                card_id=found.id,
                status=change.status,
                now=now,
                replaced_by_card_id=replacement_id,
            )
            if not changed:
                raise CardReplacedError(f"loyalty card {number!r} was replaced", field=f"{path}.number")
        if new_number is not None:
            # The new number takes the old one's place among the holder's identifiers.
            identifier = CardNumberChange(new_number, number, change.source, account)
            await hold_card_number(connection, org, found.customer_id, identifier, now=now, field=f"{path}.newNumber")
        replacement = await card(connection, org, replacement_id) if replacement_id is not None else None
        return found.id, CardStatusResult(await card(connection, org, found.id), replacement, replayed=False)

    async def replay(connection: AsyncConnection, card_id: int) -> CardStatusResult:
        replacement = None
        if new_number is not None:
            issued = await repository.card_by_number(
                connection, org_id=org.id, program_id=program.id, number=new_number
            )
            assert issued is not None, "a replacement card stays: cards are never deleted"
            replacement = await card(connection, org, issued.id)
        return CardStatusResult(await card(connection, org, card_id), replacement, replayed=True)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="setCardStatus",
        now=now,
        perform=perform,
        replay=replay,
        payload={
            "programCode": program.code,
            "number": number,
            "status": change.status.value,
            "newNumber": new_number,
            "newExternalId": change.new_external_id,
            "source": change.source,
            "account": account,
        },
        field=f"{path}.idempotencyKey",
    )


def _view(row: Any) -> CardView:
    return CardView(*row)  # the rows' columns are the view's fields, in order


async def card(connection: AsyncConnection, org: OrgConfig, card_id: int) -> CardView:
    return _view(await repository.card_by_id(connection, org_id=org.id, card_id=card_id))


async def cards_of_customers(
    connection: AsyncConnection, org: OrgConfig, customer_ids: Sequence[int]
) -> dict[int, list[CardView]]:
    """Each customer's cards in the order they were issued, in one statement for all of them."""
    found: dict[int, list[CardView]] = defaultdict(list)
    for row in await repository.cards_of_customers(connection, org_id=org.id, customer_ids=customer_ids):
        found[row.customer_id].append(_view(row))
    return found


async def subledger_ids_for_codes(
    connection: AsyncConnection, org_id: int, codes: Sequence[str], field: str
) -> tuple[int, ...]:
    """The ids of the organisation's subledgers with these codes (in any of its programs);
    INVALID_INPUT naming `field`[index] for a code no subledger has."""
    found = await repository.subledger_ids_by_code(connection, org_id=org_id, codes=codes)
    for index, code in enumerate(codes):
        if code not in found:
            raise ValidationError(f"no subledger with code {code[:100]!r}", field=f"{field}[{index}]")
    return tuple(subledger_id for code in dict.fromkeys(codes) for subledger_id in found[code])


async def subledger_codes(connection: AsyncConnection, org_id: int, ids: Sequence[int]) -> dict[int, str]:
    """The codes of these subledgers, by id (one statement)."""
    return await repository.subledger_codes(connection, org_id=org_id, ids=list(dict.fromkeys(ids)))
