"""Points transfers between two customers of one organisation and program, and member care's
list of a customer's transfers.

A transfer is one POINTS_TRANSFER event: a debit on the sender's REGULAR account and a credit on
the receiver's. The debit takes spendable lots first-expiring first; the credit creates lots
for the receiver with the same active-from and expiry dates, so transferred points expire when
they would have for the sender. Only spendable points move: pending points (a future start
date), points past their expiry date, and a negative balance's debt stay where they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import service as customers_service
from app.customers.service import Activity, CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.currencies import CurrencyCategory, account_category
from app.kernel.decimals import POINTS, check_decimal
from app.kernel.enums import PointsCategory
from app.kernel.errors import InsufficientPointsError, ValidationError
from app.kernel.text import check_text
from app.ledger import repository as ledger_repository
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.ledger.views import TransferCategories, TransferEntryView
from app.organizations.config import OrgConfig, ProgramConfig
from app.outbox import events
from app.outbox import service as outbox
from app.storage.database import Database
from app.transfers import repository
from app.transfers.errors import ProgramNotTransferableError
from app.transfers.views import TransferView

ZERO = Decimal(0)
POINTS_MAX = Decimal(10) ** 12  # far above any real balance, well inside the scaled 64-bit column
NOTES_LENGTH_MAX = 1000


@dataclass(frozen=True)
class TransferRequest:
    sender: CustomerLookup
    receiver: CustomerLookup
    points: Decimal
    program_code: str | None = None  # the org's default program when omitted
    notes: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class TransferResult:
    transfer: TransferView
    from_balance_after: Decimal
    to_balance_after: Decimal
    replayed: bool


def transfer_program(org: OrgConfig, program_code: str | None, field: str) -> ProgramConfig:
    """The program points move in: the one named, else the default; it must allow transfers."""
    program = org.named_or_default_program(program_code, field)
    if not program.points_transferable:
        raise ProgramNotTransferableError(f"program {program.code} does not allow points transfers", field=field)
    return program


def check_points(points: Decimal, program: ProgramConfig, field: str) -> Decimal:
    """More than zero, in the kernel's POINTS range, and no finer than the program's points precision."""
    check_decimal(points, field, POINTS, positive=True)
    if points != points.quantize(Decimal(1).scaleb(-program.points_decimal_places)):
        raise ValidationError(
            f"program {program.code} counts points to {program.points_decimal_places} decimal places", field=field
        )
    return points


def check_notes(notes: str | None, field: str) -> str | None:
    return check_text(notes, field, NOTES_LENGTH_MAX)


async def transfer_points(
    database: Database, org: OrgConfig, request: TransferRequest, path: str = "input", *, now: datetime
) -> TransferResult:
    """Move `points` from the sender to the receiver in one write transaction (see the module doc).

    Errors, each naming its input field: CUSTOMER_NOT_FOUND (also for another org's customer),
    SAME_CUSTOMER, CUSTOMER_MERGED (a merged customer's ledger ends with the merge),
    PROGRAM_NOT_FOUND, PROGRAM_NOT_TRANSFERABLE, INVALID_INPUT (points not above zero, or finer
    than the program counts), INSUFFICIENT_POINTS (fewer spendable points than asked for).
    """
    program = transfer_program(org, request.program_code, f"{path}.programCode")
    points = check_points(request.points, program, f"{path}.points")
    notes = check_notes(request.notes, f"{path}.notes")
    key = idempotency.check_key(request.idempotency_key, f"{path}.idempotencyKey")
    payload = {
        "from": request.sender.payload(),
        "to": request.receiver.payload(),
        "programCode": program.code,
        "points": format(points.normalize(), "f"),
        "notes": notes,
    }

    async def perform(connection: AsyncConnection) -> tuple[int, TransferResult]:
        result = await _transfer(connection, org, request, program, points, notes, now, path)
        return result.transfer.id, result

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="transferPoints",
        payload=payload,
        now=now,
        perform=perform,
        replay=lambda connection, transfer_id: load_result(connection, transfer_id, replayed=True),
        field=f"{path}.idempotencyKey",
        brief=True,
    )


async def _transfer(
    connection: AsyncConnection,
    org: OrgConfig,
    request: TransferRequest,
    program: ProgramConfig,
    points: Decimal,
    notes: str | None,
    now: datetime,
    path: str,
) -> TransferResult:
    # Customers, then their accounts, each in id order (see lock_transfer_parties).
    sender_id, receiver_id = await customers_service.lock_transfer_parties(
        connection, org, request.sender, request.receiver, path, "points"
    )
    found = await _lock_accounts(connection, program, [sender_id, receiver_id])
    if receiver_id not in found:  # registered before this program existed: it opens on first use
        await customers_service.open_missing_programs(connection, org, receiver_id, Activity(None, None, None), now)
        found = await _lock_accounts(connection, program, [sender_id, receiver_id])
    sender_account = found.get(sender_id)
    available = (
        (await ledger.spendable_points(connection, [sender_account.id], now))[sender_account.id]
        if sender_account
        else ZERO
    )
    if points > available:
        raise InsufficientPointsError(
            f"the sender has {available} spendable points in program {program.code}, fewer than {points}",
            field=f"{path}.points",
            available_points=available,
            requested_points=points,
        )
    assert sender_account is not None
    receiver_account = found[receiver_id]

    taken = await ledger.plan_consumption(connection, sender_account.id, points, now)
    assert sum((share.points for share in taken), ZERO) == points, "spendable points are held in lots"
    posted = await ledger.post_event(
        connection,
        org_id=org.id,
        now=now,
        draft=ledger.EventDraft(EventType.POINTS_TRANSFER, sender_id, None, None, None),
        postings=[
            ledger.Posting(
                ledger.AccountRef(sender_account.id, sender_id, program.id, PointsCategory.REGULAR),
                EntryType.DEBIT,
                EntryKind.POINTS_TRANSFER,
                points,
                consumes=taken,
            ),
            ledger.Posting(
                ledger.AccountRef(receiver_account.id, receiver_id, program.id, PointsCategory.REGULAR),
                EntryType.CREDIT,
                EntryKind.POINTS_TRANSFER,
                points,
                lots=tuple(share.as_draft() for share in taken),
            ),
        ],
    )
    transfer = await repository.insert_transfer(
        connection,
        org_id=org.id,
        from_customer_id=sender_id,
        to_customer_id=receiver_id,
        program_id=program.id,
        points=points,
        event_id=posted.id,
        notes=notes,
        now=now,
    )
    debit, credit = posted.entries
    for draft in events.both_sides(
        events.points_transferred,
        sender_id=sender_id,
        receiver_id=receiver_id,
        balances=(debit.balance_after, credit.balance_after),
        transfer_id=transfer.id,
        program_code=program.code,
        points=points,
    ):
        outbox.stage(connection, org_id=org.id, draft=draft, now=now)
    return TransferResult(
        transfer=transfer,
        from_balance_after=debit.balance_after,
        to_balance_after=credit.balance_after,
        replayed=False,
    )


async def _lock_accounts(
    connection: AsyncConnection, program: ProgramConfig, customer_ids: Sequence[int]
) -> dict[int, Any]:
    rows = await ledger_repository.lock_regular_accounts(connection, customer_ids, program_id=program.id)
    return {row.customer_id: row for row in rows}


async def load_result(connection: AsyncConnection, transfer_id: int, *, replayed: bool) -> TransferResult:
    """A transfer as first returned: the balances after are those its two entries recorded."""
    view = await repository.transfer_by_id(connection, transfer_id)
    balances = await ledger_repository.balances_after_event(connection, view.event_id)
    return TransferResult(
        transfer=view,
        from_balance_after=balances[view.from_customer_id],
        to_balance_after=balances[view.to_customer_id],
        replayed=replayed,
    )


async def customer_transfers(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    first: int,
    after_event_id: int | None,
    shown: TransferCategories,
) -> tuple[list[TransferView], bool]:
    """The transfers a customer sent or received, of points and of alternate currencies (`shown`),
    newest first, keyset-paginated by ledger event id: both kinds are ledger events, so one
    cursor orders them together. A merged customer's list is its own: what it sent and received
    before the merge (the survivor's list does not take it over).

    Two statements whatever the page's size: the ledger's walk of the customer's transfer
    entries (one more than a page: whether another follows), then the page's points transfers.
    """
    assert 1 <= first <= ledger.READ_PAGE_SIZE_MAX
    found = await ledger_repository.customer_transfer_entries(
        connection,
        org_id=org_id,
        customer_id=customer_id,
        categories=shown,
        limit=first + 1,
        before_event_id=after_event_id,
    )
    page = found[:first]
    points_transfers = await repository.transfers_of_events(
        connection,
        org_id=org_id,
        event_ids=[entry.event_id for entry in page if entry.category == PointsCategory.REGULAR.value],
    )
    views = [points_transfers.get(entry.event_id) or _currency_transfer(entry, customer_id) for entry in page]
    return views, len(found) > first


def _currency_transfer(entry: TransferEntryView, customer_id: int) -> TransferView:
    """An alternate currency transfer as the list shows it: its id is its event's (as
    transferAlternateCurrency answers it), it has no notes."""
    category = account_category(entry.category)
    assert isinstance(category, CurrencyCategory), f"event {entry.event_id}: a points transfer without its row"
    sent = entry.entry_type == EntryType.DEBIT.value
    return TransferView(
        id=entry.event_id,
        from_customer_id=customer_id if sent else entry.other_customer_id,
        to_customer_id=entry.other_customer_id if sent else customer_id,
        program_id=entry.program_id,
        points=entry.points,
        notes=None,
        event_id=entry.event_id,
        created_at=entry.created_at,
        alternate_currency=category.identifier,
    )
