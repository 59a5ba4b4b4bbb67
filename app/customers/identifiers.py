"""Member care changes a customer's identifiers: add, replace or remove a mobile, email, external id
or card number (seed 004, "Change Identifier History").

A value another customer owns is refused (IDENTIFIER_TAKEN) unless the request asks to merge:
then that customer is merged into this one (`service.merge_customers`, as mergeCustomers does),
which brings the value along. Every change writes the history with the request's source and
account, marked as requested, so the seed's identifier history lists it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import repository
from app.customers.errors import IdentifierNotHeldError, IdentifierTakenError, NoIdentifierChangeError
from app.customers.models import HistoryAction
from app.customers.rules import normalize_identifier
from app.customers.service import (
    Activity,
    CustomerLookup,
    CustomerView,
    HistoryRequest,
    find_customer,
    identifier_lock_keys,
    load_customers,
    lock_customers_to_change,
    merge_customers,
)
from app.idempotency import service as idempotency
from app.kernel.enums import IdentifierType
from app.kernel.text import check_code
from app.organizations.config import OrgConfig
from app.outbox import events
from app.outbox import service as outbox
from app.storage.database import Database, lock_keys

ACCOUNT_LENGTH_MAX = 64


def check_account(account: str | None, field: str) -> str | None:
    """A request's source account (the identifier history's Account): a code of at most 64."""
    return check_code(account, field, ACCOUNT_LENGTH_MAX)


@dataclass(frozen=True)
class IdentifierChange:
    """Add `add`, remove `remove`, or both (a replace) of one identifier type; `merge` takes an
    added value from the customer who owns it by merging that customer into this one."""

    customer: CustomerLookup
    kind: IdentifierType
    add: str | None
    remove: str | None
    source: str
    account: str | None
    merge: bool
    idempotency_key: str | None


@dataclass(frozen=True)
class IdentifierChangeResult:
    customer: CustomerView
    merged_customer_id: int | None
    replayed: bool


async def change_identifier(
    database: Database, org: OrgConfig, change: IdentifierChange, *, now: datetime, path: str = "input"
) -> IdentifierChangeResult:
    """One write transaction: the customer and the added value's owner are locked (the value's
    advisory lock first, as purchases naming it take it), then the removal, then the addition or
    merge. Adding a value the customer already holds changes nothing and writes no history."""
    key = idempotency.check_key(change.idempotency_key, f"{path}.idempotencyKey")
    if change.add is None and change.remove is None:
        raise NoIdentifierChangeError("name a value to add, to remove, or both to replace", field=f"{path}.add")
    added = normalize_identifier(change.kind, change.add, org.base_country, f"{path}.add") if change.add else None
    removed = (
        normalize_identifier(change.kind, change.remove, org.base_country, f"{path}.remove") if change.remove else None
    )
    account = check_account(change.account, f"{path}.account")
    request = HistoryRequest(source=change.source, account=account, identifier_type=change.kind)

    async def perform(connection: AsyncConnection) -> tuple[int, IdentifierChangeResult]:
        if added is not None:
            await lock_keys(connection, identifier_lock_keys(org.id, {change.kind: added}))
        customer_id = await find_customer(connection, org, change.customer, f"{path}.customer")
        owner_id = (
            await repository.customer_id_by_identifier(connection, org_id=org.id, kind=change.kind, value=added)
            if added is not None
            else None
        )
        if owner_id is not None and owner_id != customer_id and not change.merge:
            raise IdentifierTakenError(
                f"customer {owner_id} owns {change.kind.value} {added!r}; ask to merge to take it", field=f"{path}.add"
            )
        fields = {customer_id: f"{path}.customer"}
        if owner_id is not None and owner_id != customer_id:
            fields[owner_id] = f"{path}.add"
        await lock_customers_to_change(connection, org, fields)

        if removed is not None and removed != added:
            taken = await repository.delete_identifier(
                connection, org_id=org.id, customer_id=customer_id, kind=change.kind, value=removed
            )
            if taken == 0:
                raise IdentifierNotHeldError(
                    f"the customer has no {change.kind.value} {removed!r}", field=f"{path}.remove"
                )
            await _record(connection, org, customer_id, now, HistoryAction.IDENTIFIER_REMOVED, request, removed)
        merged_customer_id = None
        if added is not None and owner_id is None:
            await repository.insert_identifiers(
                connection, org_id=org.id, customer_id=customer_id, given={change.kind: added}, now=now
            )
            await _record(connection, org, customer_id, now, HistoryAction.IDENTIFIER_ADDED, request, added)
        elif added is not None and owner_id != customer_id:
            assert owner_id is not None
            activity = Activity(change.source, None, None)
            merge_request = replace(request, identifier_value=added)
            await merge_customers(connection, org, customer_id, owner_id, activity, now, request=merge_request)
            merged_customer_id = owner_id
        view = (await load_customers(connection, org, [customer_id]))[customer_id]
        return customer_id, IdentifierChangeResult(view, merged_customer_id, replayed=False)

    async def replay(connection: AsyncConnection, customer_id: int) -> IdentifierChangeResult:
        view = (await load_customers(connection, org, [customer_id]))[customer_id]
        return IdentifierChangeResult(view, None, replayed=True)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="changeIdentifier",
        now=now,
        perform=perform,
        replay=replay,
        payload={
            "customer": change.customer.payload(),
            "type": change.kind.value,
            "add": added,
            "remove": removed,
            "source": change.source,
            "account": account,
            "merge": change.merge,
        },
        field=f"{path}.idempotencyKey",
    )


async def _record(
    connection: AsyncConnection,
    org: OrgConfig,
    customer_id: int,
    now: datetime,
    action: HistoryAction,
    request: HistoryRequest,
    value: str,
) -> None:
    """One change of the customer's identifiers: marked updated, the history row, the event."""
    assert request.identifier_type is not None
    await repository.update_customer(connection, customer_id, {}, now=now)
    change = events.IDENTIFIER_ADDED if action is HistoryAction.IDENTIFIER_ADDED else events.IDENTIFIER_REMOVED
    outbox.stage(
        connection,
        org_id=org.id,
        draft=events.identifier_changed(
            customer_id=customer_id,
            identifier_type=request.identifier_type.value,
            change=change,
            value=value,
            source=request.source,
        ),
        now=now,
    )
    row = {"action": action.value, **replace(request, identifier_value=value).columns()}
    await repository.insert_history(connection, org_id=org.id, customer_id=customer_id, now=now, rows=[row])


@dataclass(frozen=True)
class CardNumberChange:
    """A loyalty card issued (`number`), or replaced (`replaced_number` gives way to `number`),
    with the request's source and checked account (`check_account`) for the identifier history."""

    number: str
    replaced_number: str | None
    source: str
    account: str | None


def card_number_lock_keys(org: OrgConfig, numbers: list[str]) -> list[str]:
    """The identifier locks of a card's numbers: taken before the holder's lock, as purchases naming
    the numbers take them."""
    return [key for number in numbers for key in identifier_lock_keys(org.id, {IdentifierType.CARD_NUMBER: number})]


async def hold_card_number(
    connection: AsyncConnection,
    org: OrgConfig,
    customer_id: int,
    change: CardNumberChange,
    *,
    now: datetime,
    field: str,
) -> None:
    """A card's number becomes its holder's CARD_NUMBER identifier, so a lookup, a bill or an
    import by that number finds the holder; a replaced card's number stops being one. Each change
    is an identifier history row with the request's source and account, as changeIdentifier writes
    them. A number another customer holds is refused (IDENTIFIER_TAKEN on `field`); one the holder
    holds already changes nothing. The caller holds the numbers' identifier locks
    (`card_number_lock_keys`) and the holder's lock, inside its write transaction."""
    kind = IdentifierType.CARD_NUMBER
    owner_id = await repository.customer_id_by_identifier(connection, org_id=org.id, kind=kind, value=change.number)
    if owner_id is not None and owner_id != customer_id:
        raise IdentifierTakenError(f"customer {owner_id} holds {kind.value} {change.number!r}", field=field)
    request = HistoryRequest(source=change.source, account=change.account, identifier_type=kind)
    if change.replaced_number is not None:
        removed = await repository.delete_identifier(
            connection, org_id=org.id, customer_id=customer_id, kind=kind, value=change.replaced_number
        )
        if removed:
            await _record(
                connection, org, customer_id, now, HistoryAction.IDENTIFIER_REMOVED, request, change.replaced_number
            )
    if owner_id is None:
        await repository.insert_identifiers(
            connection, org_id=org.id, customer_id=customer_id, given={kind: change.number}, now=now
        )
        await _record(connection, org, customer_id, now, HistoryAction.IDENTIFIER_ADDED, request, change.number)
