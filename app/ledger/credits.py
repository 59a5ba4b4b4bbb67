"""Many point credits posted at once: the bulk path of awards (points promotions, tracker
points, imports), one event per credit.

`post_credits` does what `service.post_event` does for a one-credit event, for any number of
credits with a fixed number of statements: the accounts are locked once (in id order), the
balances after each entry are worked out from the locked balances in the order given, and the
events, entries, lots, lot movements and account counters are each written in one executemany.
A credit into a negative balance pays the debt first out of its own lot, as `post_event` does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.bulk_insert import add_to_rows, insert_rows
from app.id_blocks import reserve_ids
from app.ledger.models import EntryKind, EntryType, EventType
from app.ledger.service import COUNTER_BY_KIND, ZERO, AccountRef, LotDraft, accounts, entries, events, lots, movements

LOCK_CHUNK = 1000  # account ids per locking statement (well under every driver's parameter limit)

_LOCK_ACCOUNTS = (
    select(accounts.c.id, accounts.c.balance).where(accounts.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(accounts.c.id).with_for_update()
)
# Events, entries and lots go in with ids reserved first (app.id_blocks: RETURNING many rows in
# order runs one row per statement on SQLite) and straight to the driver (app.bulk_insert).
_EVENT_COLUMNS = ("id", "org_id", "event_type", "customer_id", "source", "store_id", "till_id", "transaction_id",
                  "transaction_number", "corrects_event_id", "points_on_event", "created_at", "customer_promotion_id",
                  "tracker_value_id", "import_job_id", "reason")
_ENTRY_COLUMNS = ("id", "org_id", "event_id", "account_id", "customer_id", "program_id", "category", "event_type",
                  "source", "store_id", "till_id", "entry_type", "entry_kind", "points", "balance_after",
                  "corrects_entry_id", "created_at")
_LOT_COLUMNS = ("id", "org_id", "account_id", "category", "entry_id", "points", "points_remaining", "active_from",
                "expires_at", "created_at", "subledger_id")


@dataclass(frozen=True, slots=True)
class CreditDraft:
    """One credit of `points` (> 0) to `account`, in its own event, making one lot."""

    account: AccountRef
    points: Decimal
    lot: LotDraft
    event_type: EventType
    entry_kind: EntryKind = EntryKind.POINTS_ALLOCATION
    source: str | None = None
    store_id: int | None = None
    till_id: int | None = None
    transaction_id: int | None = None
    transaction_number: str | None = None
    customer_promotion_id: int | None = None
    tracker_value_id: int | None = None
    import_job_id: int | None = None  # POINTS_IMPORT: the job, the row's reason, the lot's subledger
    reason: str | None = None
    subledger_id: int | None = None

    def __post_init__(self) -> None:
        assert self.points > 0, "a credit moves points"
        assert self.lot.points == self.points, "a credit's lot holds the credit"


@dataclass(frozen=True, slots=True)
class PostedCredit:
    event_id: int
    entry_id: int
    balance_after: Decimal


async def post_credits(connection: AsyncConnection, *, org_id: int, credits: Sequence[CreditDraft],
                       now: datetime) -> list[PostedCredit]:
    """Post `credits` in the caller's write transaction; returns one PostedCredit per credit, in order.

    The caller has checked the accounts belong to `org_id` and their holders are not merged. The
    accounts are locked here (SELECT ... FOR UPDATE in id order on PostgreSQL; SQLite's single
    writer excludes everyone), so concurrent posts to the same accounts serialize.
    """
    if not credits:
        return []
    account_ids = sorted({credit.account.id for credit in credits})
    balances: dict[int, Decimal] = {}
    for start in range(0, len(account_ids), LOCK_CHUNK):
        rows = (await connection.execute(_LOCK_ACCOUNTS, {"ids": account_ids[start:start + LOCK_CHUNK]})).all()
        balances.update({row.id: row.balance for row in rows})
    assert len(balances) == len(account_ids), "every credited account exists"

    balances_after: list[Decimal] = []
    debts_paid: list[Decimal] = []
    for credit in credits:
        before = balances[credit.account.id]
        debts_paid.append(min(credit.points, max(-before, ZERO)))
        balances[credit.account.id] = before + credit.points
        balances_after.append(balances[credit.account.id])

    event_ids = await reserve_ids(connection, events, len(credits))
    await insert_rows(connection, events, _EVENT_COLUMNS, [
        (event_id, org_id, credit.event_type.value, credit.account.customer_id, credit.source, credit.store_id,
         credit.till_id, credit.transaction_id, credit.transaction_number, None, credit.points, now,
         credit.customer_promotion_id, credit.tracker_value_id, credit.import_job_id, credit.reason)
        for credit, event_id in zip(credits, event_ids, strict=True)
    ])
    entry_ids = await reserve_ids(connection, entries, len(credits))
    credit_type = EntryType.CREDIT.value
    await insert_rows(connection, entries, _ENTRY_COLUMNS, [
        (entry_id, org_id, event_id, credit.account.id, credit.account.customer_id, credit.account.program_id,
         credit.account.category.value, credit.event_type.value, credit.source, credit.store_id, credit.till_id,
         credit_type, credit.entry_kind.value, credit.points, balance_after, None, now)
        for credit, event_id, entry_id, balance_after in zip(credits, event_ids, entry_ids, balances_after, strict=True)
    ])
    lot_ids = await reserve_ids(connection, lots, len(credits))
    await insert_rows(connection, lots, _LOT_COLUMNS, [
        (lot_id, org_id, credit.account.id, credit.account.category.value, entry_id, credit.points,
         credit.points - paid, credit.lot.active_from, credit.lot.expires_at, now, credit.subledger_id)
        for credit, lot_id, entry_id, paid in zip(credits, lot_ids, entry_ids, debts_paid, strict=True)
    ])
    # What paid a debt left the lot at once: recorded as the entry's movement on its own lot.
    paid_rows = [
        (org_id, lot_id, entry_id, -paid)
        for lot_id, entry_id, paid in zip(lot_ids, entry_ids, debts_paid, strict=True) if paid > 0
    ]
    await insert_rows(connection, movements, ("org_id", "lot_id", "entry_id", "points"), paid_rows)

    moved: dict[tuple[int, str | None], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for credit in credits:
        counter_move = COUNTER_BY_KIND[credit.entry_kind]
        counter, direction = counter_move if counter_move is not None else (None, 1)
        totals = moved[(credit.account.id, counter)]
        totals[0] += credit.points
        totals[1] += credit.points * direction
    by_counter: dict[str | None, list[tuple[Any, ...]]] = defaultdict(list)
    for (account_id, counter), (amount, counted) in sorted(moved.items(), key=lambda item: item[0][0]):
        by_counter[counter].append((amount, account_id) if counter is None else (amount, counted, account_id))
    for counter, rows in by_counter.items():
        await add_to_rows(connection, accounts, ("balance",) if counter is None else ("balance", counter), rows)
    return [
        PostedCredit(event_id=event_id, entry_id=entry_id, balance_after=balance_after)
        for event_id, entry_id, balance_after in zip(event_ids, entry_ids, balances_after, strict=True)
    ]
