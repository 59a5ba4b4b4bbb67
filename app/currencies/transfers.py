"""Transfers of an alternate currency between two customers of one organisation and program
(transferAlternateCurrency), as points transfers move points (app/transfers).

A transfer is one ALTERNATE_CURRENCY_TRANSFER event: a POINTS_TRANSFER debit on the sender's
account of the currency and a credit on the receiver's (opened at zero on first use, in the same
event). The debit takes spendable lots first-expiring first; the credit makes the receiver lots
with the same active-from and expiry, so transferred units expire when they would have for the
sender. A merged customer is refused (CUSTOMER_MERGED), as transferPoints refuses it. Once per idempotency key; the
event id is the transfer's id (eventLogId). Each side gets an `alternate_currency.transferred`
outbox event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from app.currencies.service import find_currency_for_value, locked_account
from app.customers import service as customers_service
from app.customers.service import CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.errors import InsufficientPointsError
from app.ledger import repository as ledger_repository
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import AlternateCurrencyConfig, OrgConfig, ProgramConfig
from app.outbox import events
from app.outbox import service as outbox
from app.storage.database import Database

ZERO = Decimal(0)


@dataclass(frozen=True)
class TransferRequest:
    sender: CustomerLookup
    receiver: CustomerLookup
    currency_identifier: str
    value: Decimal
    idempotency_key: str
    program_code: str | None = None  # the org's default program when omitted


@dataclass(frozen=True)
class TransferResult:
    event_id: int
    program_code: str
    currency_identifier: str
    value: Decimal
    sender_id: int
    receiver_id: int
    sender_balance_after: Decimal
    receiver_balance_after: Decimal
    transferred_at: datetime
    replayed: bool


async def transfer(
    database: Database, org: OrgConfig, request: TransferRequest, path: str = "input", *, now: datetime
) -> TransferResult:
    """Move `value` units of a currency from the sender to the receiver (see the module doc).

    Errors, each naming its input field: PROGRAM_NOT_FOUND, ALTERNATE_CURRENCY_NOT_FOUND,
    INVALID_INPUT (a value not above zero or finer than the currency counts, a blank key),
    CUSTOMER_NOT_FOUND (also another org's customer), SAME_CUSTOMER, CUSTOMER_MERGED,
    INSUFFICIENT_POINTS (fewer units spendable), IDEMPOTENCY_KEY_REUSED."""
    program, currency = find_currency_for_value(
        org, request.program_code, request.currency_identifier, request.value, path
    )
    payload = {
        "from": request.sender.payload(),
        "to": request.receiver.payload(),
        "programCode": program.code,
        "currency": currency.identifier,
        "value": format(request.value.normalize(), "f"),
    }

    async def perform(connection: AsyncConnection) -> tuple[int, TransferResult]:
        result = await _transfer(connection, org, request, program, currency, now, path)
        return result.event_id, result

    async def replay(connection: AsyncConnection, event_id: int) -> TransferResult:
        summary = await ledger_repository.event_summary(connection, event_id)
        debit = (await ledger_repository.event_debits(connection, event_id))[0]
        balances = await ledger_repository.balances_after_event(connection, event_id)
        receiver_id = next(customer_id for customer_id in balances if customer_id != debit.customer_id)
        return TransferResult(
            event_id,
            program.code,
            currency.identifier,
            debit.points,
            debit.customer_id,
            receiver_id,
            balances[debit.customer_id],
            balances[receiver_id],
            summary.created_at,
            True,
        )

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=idempotency.required_key(request.idempotency_key, f"{path}.idempotencyKey"),
        operation="transferAlternateCurrency",
        payload=payload,
        now=now,
        perform=perform,
        replay=replay,
        field=f"{path}.idempotencyKey",
        brief=True,
    )


async def _transfer(
    connection: AsyncConnection,
    org: OrgConfig,
    request: TransferRequest,
    program: ProgramConfig,
    currency: AlternateCurrencyConfig,
    now: datetime,
    path: str,
) -> TransferResult:
    # The customers locked in id order (see lock_transfer_parties; a merged one is refused, as by
    # transferPoints: its ledger ended with the merge), then their accounts: the spendable units
    # are read under the sender's locks, so two transfers at once never overdraw.
    sender_id, receiver_id = await customers_service.lock_transfer_parties(
        connection, org, request.sender, request.receiver, path, "units"
    )
    row = await ledger_repository.lock_account_of(
        connection, customer_id=sender_id, program_id=program.id, category=currency.category
    )
    available = (await ledger.spendable_points(connection, [row.id], now))[row.id] if row is not None else ZERO
    if row is None or request.value > available:
        raise InsufficientPointsError(
            f"the sender has {format(available.normalize(), 'f')} spendable {currency.name} in program "
            f"{program.code}, fewer than {format(request.value.normalize(), 'f')}",
            field=f"{path}.value",
            available_points=available,
            requested_points=request.value,
        )
    sender_account = ledger.AccountRef(row.id, sender_id, program.id, currency.category)
    receiver_account, opening = await locked_account(connection, org, program, receiver_id, currency, now)
    taken = await ledger.plan_consumption(connection, sender_account.id, request.value, now)
    assert sum((share.points for share in taken), ZERO) == request.value, "spendable units are held in lots"
    posted = await ledger.post_event(
        connection,
        org_id=org.id,
        now=now,
        draft=ledger.EventDraft(EventType.ALTERNATE_CURRENCY_TRANSFER, sender_id, None, None, None),
        postings=[
            *opening,
            ledger.Posting(sender_account, EntryType.DEBIT, EntryKind.POINTS_TRANSFER, request.value, consumes=taken),
            ledger.Posting(
                receiver_account,
                EntryType.CREDIT,
                EntryKind.POINTS_TRANSFER,
                request.value,
                lots=tuple(share.as_draft() for share in taken),
            ),
        ],
    )
    debit, credit = posted.entries[-2:]
    for draft in events.both_sides(
        events.alternate_currency_transferred,
        sender_id=sender_id,
        receiver_id=receiver_id,
        balances=(debit.balance_after, credit.balance_after),
        event_log_id=posted.id,
        program_code=program.code,
        currency_identifier=currency.identifier,
        currency_name=currency.name,
        value=request.value,
    ):
        outbox.stage(connection, org_id=org.id, draft=draft, now=now)
    return TransferResult(
        posted.id,
        program.code,
        currency.identifier,
        request.value,
        sender_id,
        receiver_id,
        debit.balance_after,
        credit.balance_after,
        now,
        False,
    )
