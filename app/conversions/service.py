"""Promised and trigger-based points becoming regular (spendable) points.

Both conversions are one event whose entries net to zero (the seed: points_on_event is 0): a
debit on the PROMISED or TRIGGER_BASED account consuming its lots, and a credit on the REGULAR
account of the same program making new lots with the same expiry dates.

- PROMISED (earned with a return window of `promised_days`): the conversion run moves every
  PROMISED lot whose active_from has come, once, in batches like the expiry run: one
  PROMISED_POINTS_CONVERSION event per account. A promised lot already past its expiry date is
  not converted: the expiry run expires it where it is (maintenance runs the expiry first).
- TRIGGER_BASED (earned on a bill, held until something happens, e.g. delivery confirmed): a
  client fires the trigger for a customer, optionally one program or one bill; one
  TRIGGER_BASED_POINTS_CONVERSION event covers every program converted.

The new REGULAR lots are active from the conversion (a trigger-based lot with a later start
keeps it). A credit into a negative REGULAR balance pays the debt first, as every credit does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import service as customers_service
from app.customers.service import CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.decimals import ID_MAX, read_whole_number
from app.kernel.enums import PointsCategory
from app.ledger import repository as ledger_repository
from app.ledger import service as ledger
from app.ledger.errors import NoPointsToConvertError
from app.ledger.expiry import (
    BATCH_ACCOUNTS,
    CANDIDATES_PER_ACCOUNT,
    RunReport,
    account_ref,
    first_accounts,
    lock_accounts,
    open_lots,
    run_for_each_org,
)
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import OrgConfig
from app.organizations.errors import ProgramNotFoundError
from app.storage.database import Database
from app.transactions import repository as transactions_repository
from app.transactions.errors import TransactionNotFoundError

ZERO = Decimal(0)


def _regular_lots(
    shares: Sequence[ledger.LotShare], now: datetime, *, keep_later_start: bool
) -> tuple[ledger.LotDraft, ...]:
    """The REGULAR lots a conversion makes: one per (start, expiry), active from now (or the
    lot's own later start when `keep_later_start`)."""
    grouped: dict[tuple[datetime, datetime | None], Decimal] = defaultdict(Decimal)
    for share in shares:
        active_from = max(share.active_from, now) if keep_later_start else now
        grouped[(active_from, share.expires_at)] += share.points
    return tuple(
        ledger.LotDraft(points, active_from, expires_at)
        for (active_from, expires_at), points in sorted(grouped.items(), key=lambda item: (item[0][1] is None, item[0]))
    )


def _conversion_postings(
    held: ledger.AccountRef,
    regular: ledger.AccountRef,
    shares: Sequence[ledger.LotShare],
    kind: EntryKind,
    now: datetime,
    *,
    keep_later_start: bool,
) -> list[ledger.Posting]:
    points = sum((share.points for share in shares), ZERO)
    return [
        ledger.Posting(held, EntryType.DEBIT, kind, points, consumes=tuple(shares)),
        ledger.Posting(
            regular, EntryType.CREDIT, kind, points, lots=_regular_lots(shares, now, keep_later_start=keep_later_start)
        ),
    ]


# --- PROMISED: the conversion run ------------------------------------------------------------


async def convert_promised_points(
    database: Database,
    as_of: datetime,
    org_id: int | None = None,
    *,
    now: datetime,
    batch_accounts: int = BATCH_ACCOUNTS,
) -> RunReport:
    """Convert every PROMISED lot whose active_from is at or before `as_of` (all orgs, or one)."""
    return await run_for_each_org(database, org_id, _convert_batch, as_of=as_of, now=now, batch_accounts=batch_accounts)


async def _convert_batch(
    connection: AsyncConnection, org_id: int, as_of: datetime, now: datetime, batch_accounts: int
) -> tuple[tuple[int, ...], RunReport] | None:
    candidates = await ledger_repository.promised_lots_due(
        connection, org_id=org_id, as_of=as_of, limit=batch_accounts * CANDIDATES_PER_ACCOUNT
    )
    promised_ids = first_accounts(candidates, batch_accounts)
    if not promised_ids:
        return None
    # Each promised account with its program's REGULAR account, locked together in id order.
    pair_ids = await ledger_repository.promised_and_regular_account_ids(connection, promised_ids)
    locked = await lock_accounts(connection, pair_ids)
    regular = {(row.customer_id, row.program_id): row for row in locked if row.category == PointsCategory.REGULAR.value}
    due = await open_lots(connection, promised_ids, convertible_at=as_of)
    report = RunReport()
    for account in locked:
        shares = due.get(account.id) if account.category == PointsCategory.PROMISED.value else None
        if not shares:
            continue
        target = regular[(account.customer_id, account.program_id)]
        posted = await ledger.post_event(
            connection,
            org_id=org_id,
            now=now,
            draft=ledger.EventDraft(EventType.PROMISED_POINTS_CONVERSION, account.customer_id, None, None, None),
            postings=_conversion_postings(
                account_ref(account),
                account_ref(target),
                shares,
                EntryKind.PROMISED_POINTS_CONVERSION,
                now,
                keep_later_start=False,
            ),
        )
        assert posted.points_on_event == 0
        report += RunReport(1, len(shares), posted.entries[0].points)
    return tuple(row.id for row in candidates), report


# --- TRIGGER_BASED: on a client's trigger -----------------------------------------------------


@dataclass(frozen=True)
class TriggerConversion:
    event_id: int
    customer_id: int
    points: Decimal
    points_by_program: tuple[tuple[int, Decimal], ...]  # (program id, points), in program order
    replayed: bool


def parse_transaction_id(value: str) -> int | None:
    """A bill id as clients send it: ASCII digits naming a possible id (None when it cannot be one)."""
    return read_whole_number(value.strip(), ID_MAX)


async def convert_trigger_based_points(
    database: Database,
    org: OrgConfig,
    *,
    now: datetime,
    customer: CustomerLookup,
    program_code: str | None = None,
    transaction_id: str | None = None,
    idempotency_key: str | None = None,
    path: str = "input",
) -> TriggerConversion:
    """Convert the customer's TRIGGER_BASED points into REGULAR ones: all of them, one
    program's (`program_code`), or only those a bill earned (`transaction_id`). Lots past
    their expiry date are left for the expiry run. Nothing to convert is a typed error
    (NO_POINTS_TO_CONVERT), so a trigger fired twice says so the second time."""
    key = idempotency.check_key(idempotency_key, f"{path}.idempotencyKey")
    program = None
    if program_code is not None:
        program = org.program_by_code(program_code)
        if program is None:
            raise ProgramNotFoundError(f"no program with code {program_code!r}", field=f"{path}.programCode")
    bill_id = None
    if transaction_id is not None:
        bill_id = parse_transaction_id(transaction_id)
        if bill_id is None:
            raise TransactionNotFoundError(f"no bill with id {transaction_id!r}", field=f"{path}.transactionId")

    async def perform(connection: AsyncConnection) -> tuple[int, TriggerConversion]:
        customer_id = await customers_service.find_customer(connection, org, customer, f"{path}.customer")
        await customers_service.lock_unmerged(connection, {customer_id: f"{path}.customer"})
        if bill_id is not None:
            await _check_bill(connection, org, bill_id, customer_id, f"{path}.transactionId")
        held = await ledger.customer_accounts(connection, [customer_id], lock=True)
        regular = {row.program_id: row for row in held if row.category == PointsCategory.REGULAR.value}
        trigger_accounts = [
            row
            for row in held
            if row.category == PointsCategory.TRIGGER_BASED.value and (program is None or row.program_id == program.id)
        ]
        found = await open_lots(
            connection, [row.id for row in trigger_accounts], convertible_at=now, transaction_id=bill_id
        )
        postings: list[ledger.Posting] = []
        for account in trigger_accounts:
            if found.get(account.id):
                postings.extend(
                    _conversion_postings(
                        account_ref(account),
                        account_ref(regular[account.program_id]),
                        found[account.id],
                        EntryKind.TRIGGER_BASED_POINTS_CONVERSION,
                        now,
                        keep_later_start=True,
                    )
                )
        if not postings:
            raise NoPointsToConvertError(
                "the customer holds no trigger-based points to convert"
                + (" from this bill" if bill_id is not None else ""),
                field=path,
            )
        posted = await ledger.post_event(
            connection,
            org_id=org.id,
            now=now,
            postings=postings,
            draft=ledger.EventDraft(EventType.TRIGGER_BASED_POINTS_CONVERSION, customer_id, None, None, None),
        )
        assert posted.points_on_event == 0
        return posted.id, await _load_conversion(connection, posted.id, replayed=False)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="convertTriggerBasedPoints",
        now=now,
        perform=perform,
        replay=lambda connection, event_id: _load_conversion(connection, event_id, replayed=True),
        payload={"customer": customer.payload(), "programCode": program_code, "transactionId": transaction_id},
        field=f"{path}.idempotencyKey",
    )


async def _check_bill(connection: AsyncConnection, org: OrgConfig, bill_id: int, customer_id: int, field: str) -> None:
    if not await transactions_repository.is_customers_bill(
        connection, org_id=org.id, customer_id=customer_id, transaction_id=bill_id
    ):
        raise TransactionNotFoundError(f"the customer has no bill with id {bill_id}", field=field)


async def _load_conversion(connection: AsyncConnection, event_id: int, *, replayed: bool) -> TriggerConversion:
    rows = await ledger_repository.debits_by_program(connection, event_id)
    by_program = tuple((row.program_id, row.points) for row in rows)
    return TriggerConversion(
        event_id=event_id,
        customer_id=rows[0].customer_id,
        points=sum((points for _, points in by_program), ZERO),
        points_by_program=by_program,
        replayed=replayed,
    )
