"""adjustPoints: member care credits or debits a customer's points by hand.

An adjustment is one POINTS_ADJUSTMENT ledger event with one entry on the customer's REGULAR
account in the program, and a `points_adjustments` row with its mandatory reason and note.
- A credit (POINTS_ADJUSTMENT_CREDIT) is one new lot, spendable at once and expiring by the
  program's expiry strategy counted from the adjustment (as a purchase's points would); into a
  negative balance it pays the debt first, as every credit does.
- A debit (POINTS_ADJUSTMENT_DEBIT) takes spendable lots first-expiring first (FEFO), and never
  more than the spendable points: INSUFFICIENT_POINTS otherwise, with nothing written. The check
  reads the balance under the account's lock, so concurrent debits never take it below zero.
- Both move the account's `adjusted` counter (credits add, debits subtract: a net figure), which
  the summaries show as `adjusted`; `lifetimePoints` (earned) does not move.
- Once per idempotency key (required): the same key and payload returns the first result, the
  same key with another payload is IDEMPOTENCY_KEY_REUSED.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from app.adjustments import repository
from app.adjustments.models import NOTE_LENGTH_MAX, AdjustmentReason
from app.adjustments.views import AdjustmentView
from app.customers import service as customers_service
from app.customers.service import Activity, CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.enums import PointsCategory
from app.kernel.errors import InsufficientPointsError
from app.kernel.text import check_required_text
from app.ledger import repository as ledger_repository
from app.ledger import rules as ledger_rules
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import OrgConfig, ProgramConfig
from app.outbox import events
from app.outbox import service as outbox
from app.storage.database import Database
from app.transfers.service import check_points

ZERO = Decimal(0)


@dataclass(frozen=True)
class AdjustmentRequest:
    customer: CustomerLookup
    entry_type: EntryType
    points: Decimal
    reason: AdjustmentReason
    note: str
    idempotency_key: str
    program_code: str | None = None  # the org's default program when omitted


@dataclass(frozen=True)
class AdjustmentResult:
    adjustment: AdjustmentView
    balance_after: Decimal
    replayed: bool


async def adjust_points(
    database: Database, org: OrgConfig, request: AdjustmentRequest, path: str = "input", *, now: datetime
) -> AdjustmentResult:
    """One adjustment in one write transaction (see the module doc).

    Errors, each naming its input field: INVALID_INPUT (points not above zero or finer than the
    program counts, a blank or too long note, a blank key), PROGRAM_NOT_FOUND, CUSTOMER_NOT_FOUND,
    CUSTOMER_MERGED, INSUFFICIENT_POINTS (a debit above the spendable points),
    IDEMPOTENCY_KEY_REUSED.
    """
    program = org.named_or_default_program(request.program_code, f"{path}.programCode")
    points = check_points(request.points, program, f"{path}.points")
    note = check_required_text(request.note, f"{path}.note", NOTE_LENGTH_MAX)
    key = idempotency.required_key(request.idempotency_key, f"{path}.idempotencyKey")
    payload = {
        "customer": request.customer.payload(),
        "programCode": program.code,
        "type": request.entry_type.value,
        "points": format(points.normalize(), "f"),
        "reason": request.reason.value,
        "note": note,
    }

    async def perform(connection: AsyncConnection) -> tuple[int, AdjustmentResult]:
        result = await _adjust(connection, org, request, program, points, note, now, path)
        return result.adjustment.id, result

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="adjustPoints",
        payload=payload,
        now=now,
        perform=perform,
        replay=lambda connection, adjustment_id: load_result(connection, adjustment_id),
        field=f"{path}.idempotencyKey",
        brief=True,
    )


async def _adjust(
    connection: AsyncConnection,
    org: OrgConfig,
    request: AdjustmentRequest,
    program: ProgramConfig,
    points: Decimal,
    note: str,
    now: datetime,
    path: str,
) -> AdjustmentResult:
    customer_id = await customers_service.find_customer(connection, org, request.customer, f"{path}.customer")
    # The customer, then the account: the house lock order (purchases, transfers, merges).
    await customers_service.lock_unmerged(connection, {customer_id: f"{path}.customer"})
    found = await ledger_repository.lock_regular_accounts(connection, [customer_id], program_id=program.id)
    if not found:  # registered before this program existed: it opens on first use
        await customers_service.open_missing_programs(connection, org, customer_id, Activity(None, None, None), now)
        found = await ledger_repository.lock_regular_accounts(connection, [customer_id], program_id=program.id)
    [account_row] = found
    account = ledger.AccountRef(account_row.id, customer_id, program.id, PointsCategory.REGULAR)
    if request.entry_type is EntryType.DEBIT:
        available = (await ledger.spendable_points(connection, [account.id], now))[account.id]
        if points > available:
            raise InsufficientPointsError(
                f"the customer has {format(available.normalize(), 'f')} spendable points in program {program.code}, "
                f"fewer than {format(points.normalize(), 'f')}",
                field=f"{path}.points",
                available_points=available,
                requested_points=points,
            )
        taken = await ledger.plan_consumption(connection, account.id, points, now)
        assert sum((share.points for share in taken), ZERO) == points, "spendable points are held in lots"
        posting = ledger.Posting(account, EntryType.DEBIT, EntryKind.POINTS_ADJUSTMENT_DEBIT, points, consumes=taken)
    else:
        expires_at = ledger_rules.lot_expiry(program.expiry_strategy, program.expiry_value, now, org.time_zone)
        posting = ledger.Posting(
            account,
            EntryType.CREDIT,
            EntryKind.POINTS_ADJUSTMENT_CREDIT,
            points,
            lots=(ledger.LotDraft(points, now, expires_at),),
        )
    posted = await ledger.post_event(
        connection,
        org_id=org.id,
        now=now,
        draft=ledger.EventDraft(EventType.POINTS_ADJUSTMENT, customer_id, None, None, None),
        postings=[posting],
    )
    adjustment = await repository.insert_adjustment(
        connection,
        org_id=org.id,
        customer_id=customer_id,
        program_id=program.id,
        entry_type=request.entry_type,
        points=points,
        reason=request.reason,
        note=note,
        event_id=posted.id,
        now=now,
    )
    outbox.stage(
        connection,
        org_id=org.id,
        draft=events.points_adjusted(
            customer_id=customer_id,
            adjustment_id=adjustment.id,
            program_code=program.code,
            entry_type=request.entry_type.value,
            points=points,
            balance=posted.entries[0].balance_after,
            reason=request.reason.value,
        ),
        now=now,
    )
    return AdjustmentResult(adjustment, posted.entries[0].balance_after, replayed=False)


async def load_result(connection: AsyncConnection, adjustment_id: int) -> AdjustmentResult:
    """An adjustment as first returned: the balance after is the one its entry recorded."""
    adjustment = await repository.adjustment_by_id(connection, adjustment_id)
    balance_after = await ledger_repository.balance_after_event(connection, adjustment.event_id)
    return AdjustmentResult(adjustment, balance_after, replayed=True)
