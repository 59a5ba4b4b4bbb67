"""Many point credits posted at once: the bulk path of awards (points promotions, tracker
points, imports), one event per credit.

`post_credits` does what `service.post_event` does for a one-credit event, for any number of
credits with a fixed number of statements: the accounts are locked once (in id order), the
balances after each entry are worked out from the locked balances in the order given, and the
events, entries, lots, lot movements and account counters are each written in one executemany.
A credit into a negative balance pays the debt first out of its own lot, as `post_event` does.

Imports post a million credits through here, so the rows are built as the driver takes them
(scaled integers, converted times, enum values looked up once). Events take their ids in the
order given; entries and lots in customer order, so their customer and account indexes are
written a page at a time instead of at random.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.enums import PointsCategory
from app.kernel.money import from_scaled_integer
from app.ledger.models import EntryKind, EntryType, EventType
from app.ledger.service import COUNTER_BY_KIND, AccountRef, accounts, entries, events, lots, movements
from app.storage.bulk_insert import add_to_rows, driver_value, insert_rows
from app.storage.columns import FixedDecimal
from app.storage.id_blocks import reserve_ids

LOCK_CHUNK = 1000  # account ids per locking statement (well under every driver's parameter limit)

# Every points column written here shares one scale: one converter serves them all.
_POINTS_COLUMNS = (
    accounts.c.balance,
    accounts.c.earned,
    entries.c.points,
    entries.c.balance_after,
    lots.c.points,
    lots.c.points_remaining,
    movements.c.points,
)
assert all(isinstance(column.type, FixedDecimal) for column in _POINTS_COLUMNS)
assert len({column.type.scale for column in _POINTS_COLUMNS}) == 1, "one scale for every points column"
_POINTS_SCALE = entries.c.points.type.scale

_LOCK_ACCOUNTS = (
    select(accounts.c.id, accounts.c.balance)
    .where(accounts.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(accounts.c.id)
    .with_for_update()
)
# Events, entries and lots go in with ids reserved first (app.storage.id_blocks: RETURNING many rows in
# order runs one row per statement on SQLite) and straight to the driver (app.storage.bulk_insert).
_EVENT_COLUMNS = (
    "id",
    "org_id",
    "event_type",
    "customer_id",
    "source",
    "store_id",
    "till_id",
    "transaction_id",
    "transaction_number",
    "corrects_event_id",
    "points_on_event",
    "created_at",
    "customer_promotion_id",
    "tracker_value_id",
    "import_job_id",
    "reason",
)
_ENTRY_COLUMNS = (
    "id",
    "org_id",
    "event_id",
    "account_id",
    "customer_id",
    "program_id",
    "category",
    "event_type",
    "source",
    "store_id",
    "till_id",
    "entry_type",
    "entry_kind",
    "points",
    "balance_after",
    "corrects_entry_id",
    "created_at",
)
_LOT_COLUMNS = (
    "id",
    "org_id",
    "account_id",
    "category",
    "entry_id",
    "points",
    "points_remaining",
    "active_from",
    "expires_at",
    "created_at",
    "subledger_id",
)


class CreditDraft(NamedTuple):
    """One credit of `points` (> 0) to `account`, in its own event, making one lot of those points
    spendable from `active_from` and expiring at `expires_at` (None: never).

    A tuple, not a dataclass: an import builds a million of them (a frozen dataclass cost 6 us each)."""

    account: AccountRef
    points: Decimal
    active_from: datetime
    expires_at: datetime | None
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


class PostedCredit(NamedTuple):
    event_id: int
    entry_id: int
    balance_after: Decimal


async def post_credits(
    connection: AsyncConnection, *, org_id: int, credits: Sequence[CreditDraft], now: datetime, results: bool = True
) -> list[PostedCredit]:
    """Post `credits` in the caller's write transaction; returns one PostedCredit per credit, in
    order (none with `results=False`, for callers that do not look).

    The caller has checked the accounts belong to `org_id` and their holders are not merged. The
    accounts are locked here (SELECT ... FOR UPDATE in id order on PostgreSQL; SQLite's single
    writer excludes everyone), so concurrent posts to the same accounts serialize.
    """
    if not credits:
        return []
    points_value = driver_value(connection, entries, "points")  # the scaled integer of a Decimal
    time_value = driver_value(connection, lots, "active_from")
    account_ids = sorted({credit.account.id for credit in credits})
    balances: dict[int, int] = {}  # scaled, as stored
    for start in range(0, len(account_ids), LOCK_CHUNK):
        rows = (await connection.execute(_LOCK_ACCOUNTS, {"ids": account_ids[start : start + LOCK_CHUNK]})).all()
        balances.update({row.id: points_value(row.balance) for row in rows})
    assert len(balances) == len(account_ids), "every credited account exists"

    # Customer order, and the given order within a customer: a customer's entries keep their
    # order in ids (ledger pages read them by id), and so do an account's balances after.
    order = sorted(range(len(credits)), key=lambda index: credits[index].account.customer_id)
    event_ids = await reserve_ids(connection, events, len(credits))
    entry_ids = await reserve_ids(connection, entries, len(credits))
    lot_ids = await reserve_ids(connection, lots, len(credits))
    stamp = time_value(now)
    credit_type = EntryType.CREDIT.value
    # Events in the order given (their ids); entries and lots in the customer order they are built in.
    event_rows: list[tuple[Any, ...]] = [()] * len(credits)
    entry_rows, lot_rows, paid_rows = [], [], []
    balances_after: list[int] = [0] * len(credits)
    moved: dict[tuple[int, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for position, index in enumerate(order):
        credit = credits[index]
        account = credit.account
        points = points_value(credit.points)
        assert points > 0, "a credit moves points"
        before = balances[account.id]
        paid = min(points, max(-before, 0))  # a debt is paid first, out of the new lot
        balance_after = balances[account.id] = before + points
        balances_after[index] = balance_after
        event_id, entry_id, lot_id = event_ids[index], entry_ids[position], lot_ids[position]
        event_type, category = _STORED_TEXT[credit.event_type], _STORED_TEXT[account.category]
        event_rows[index] = (
            event_id,
            org_id,
            event_type,
            account.customer_id,
            credit.source,
            credit.store_id,
            credit.till_id,
            credit.transaction_id,
            credit.transaction_number,
            None,
            points,
            stamp,
            credit.customer_promotion_id,
            credit.tracker_value_id,
            credit.import_job_id,
            credit.reason,
        )
        entry_rows.append(
            (
                entry_id,
                org_id,
                event_id,
                account.id,
                account.customer_id,
                account.program_id,
                category,
                event_type,
                credit.source,
                credit.store_id,
                credit.till_id,
                credit_type,
                _STORED_TEXT[credit.entry_kind],
                points,
                balance_after,
                None,
                stamp,
            )
        )
        lot_rows.append(
            (
                lot_id,
                org_id,
                account.id,
                category,
                entry_id,
                points,
                points - paid,
                time_value(credit.active_from),
                time_value(credit.expires_at),
                stamp,
                credit.subledger_id,
            )
        )
        if paid:  # what paid the debt left the lot at once: the entry's movement on its own lot
            paid_rows.append((org_id, lot_id, entry_id, -paid))
        counter_move = COUNTER_BY_KIND[credit.entry_kind]
        counter, direction = counter_move if counter_move is not None else (None, 1)
        totals = moved[(account.id, counter)]
        totals[0] += points
        totals[1] += points * direction
    await insert_rows(connection, events, _EVENT_COLUMNS, event_rows, converted=True)
    await insert_rows(connection, entries, _ENTRY_COLUMNS, entry_rows, converted=True)
    await insert_rows(connection, lots, _LOT_COLUMNS, lot_rows, converted=True)
    await insert_rows(connection, movements, ("org_id", "lot_id", "entry_id", "points"), paid_rows, converted=True)

    by_counter: dict[str | None, list[tuple[Any, ...]]] = defaultdict(list)
    for (account_id, counter), (amount, counted) in sorted(moved.items(), key=lambda item: item[0][0]):
        by_counter[counter].append((amount, account_id) if counter is None else (amount, counted, account_id))
    for counter, rows in by_counter.items():
        await add_to_rows(
            connection, accounts, ("balance",) if counter is None else ("balance", counter), rows, converted=True
        )
    if not results:
        return []
    entry_by_index = [0] * len(credits)
    for position, index in enumerate(order):
        entry_by_index[index] = entry_ids[position]
    return [
        PostedCredit(event_id, entry_id, from_scaled_integer(balance_after, _POINTS_SCALE))
        for event_id, entry_id, balance_after in zip(event_ids, entry_by_index, balances_after, strict=True)
    ]


# Enum members to the text stored: `.value` is a descriptor call, a dict lookup is not.
_STORED_TEXT: dict[Any, str] = {
    member: member.value for enum in (EventType, EntryKind, PointsCategory) for member in enum
}
