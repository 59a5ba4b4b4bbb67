"""Many point debits posted at once: historic redemptions and expiries a migrating brand imports,
one event per debit (the bulk path beside `credits.post_credits`).

A debit takes points from the account's lots as a live one would: a redemption dated T takes
the lots spendable at T first, first-expiring first (never-expiring last), oldest first (the
order `repository.lots_in_spending_order` gives); an expiry dated T takes the lots already past
their expiry at T first (soonest first), then that same order. Each lot it takes from gets a
movement (the lot trace), and what the balance does not cover goes negative where the program
allows it and is refused otherwise.

A debit cannot be older than the points it takes: one dated before the account's imported
opening balance (the `asof` it was taken at: the seed's ledger has no entries before it) is
refused, and so is one whose points only lots starting after its date could give (a redemption
or expiry of points not yet credited at T). Lots that had started by T are the only ones it takes.

Set-based: the accounts are locked once (id order), their open lots read in one statement, the
debits planned in stored points (scaled integers), and events, entries, movements, lots and
accounts written each in one executemany however many debits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.money import from_scaled_integer
from app.ledger import repository
from app.ledger.models import EntryKind, EventType
from app.ledger.rules import COUNTER_BY_KIND
from app.ledger.views import AccountRef, LotShare, StoredDebit


class DebitDraft(NamedTuple):
    """`points` (> 0) out of `account` at `at`, as a POINTS_REDEMPTION or POINTS_EXPIRY entry of
    an event of `event_type`."""

    account: AccountRef
    points: Decimal
    at: datetime
    entry_kind: EntryKind
    event_type: EventType = EventType.POINTS_IMPORT
    import_job_id: int | None = None
    reason: str | None = None


class Overdraft(NamedTuple):
    """A debit refused: the balance it found was smaller than its points."""

    position: int  # in the debits given
    balance: Decimal


class DatedTooEarly(NamedTuple):
    """A debit refused: dated before the account's opening balance (`before_opening_balance`)
    or before the points it would take were credited; `points_from` is that opening balance's
    `asof`, or the earliest start of the lots it would need."""

    position: int  # in the debits given
    points_from: datetime
    before_opening_balance: bool


Refusal = Overdraft | DatedTooEarly


def _spending_key(lot: LotShare, at: datetime) -> tuple[bool, bool, datetime, int]:
    spendable = lot.active_from <= at and (lot.expires_at is None or lot.expires_at > at)
    return (not spendable, lot.expires_at is None, lot.expires_at or at, lot.lot_id)


def _expiry_key(lot: LotShare, at: datetime) -> tuple[bool, tuple[bool, bool, datetime, int]]:
    return (not (lot.expires_at is not None and lot.expires_at <= at), _spending_key(lot, at))


def plan_debits(
    debits: Sequence[DebitDraft],
    balances: dict[int, int],
    lots_of: dict[int, list[LotShare]],
    points_value: Callable[[Decimal], int],
    *,
    allow_negative_balance: bool,
    opened_at: Mapping[int, datetime] | None = None,
) -> tuple[list[StoredDebit], list[Refusal]]:
    """The debits planned in the order given per customer (customers in id order, so a
    customer's entries follow each other in ids), and the ones refused. Pure: `balances` and the
    lots' remaining points (`lots_of`, by account) are what the accounts hold before;
    `opened_at` the accounts' imported opening balances' `asof`."""
    remaining = {lot.lot_id: points_value(lot.points) for lots in lots_of.values() for lot in lots}
    planned: list[StoredDebit] = []
    refused: list[Refusal] = []
    for index in sorted(range(len(debits)), key=lambda index: debits[index].account.customer_id):
        debit = debits[index]
        account_id = debit.account.id
        points = points_value(debit.points)
        assert points > 0, "a debit moves points"
        opening_as_of = (opened_at or {}).get(account_id)
        if opening_as_of is not None and debit.at < opening_as_of:
            refused.append(DatedTooEarly(index, opening_as_of, before_opening_balance=True))
            continue
        before = balances[account_id]
        if points > before and not allow_negative_balance:
            refused.append(Overdraft(index, from_scaled_integer(before, repository.STORED_POINTS_SCALE)))
            continue
        left = min(points, max(before, 0))  # an account's lots hold exactly its positive balance
        key: Callable[[LotShare, datetime], Any] = (
            _expiry_key if debit.entry_kind is EntryKind.POINTS_EXPIRY else _spending_key
        )
        account_lots = lots_of.get(account_id, ())
        started = [lot for lot in account_lots if lot.active_from <= debit.at]
        if sum(remaining[lot.lot_id] for lot in started) < left:
            starts = [lot.active_from for lot in account_lots if lot.active_from > debit.at and remaining[lot.lot_id]]
            refused.append(DatedTooEarly(index, min(starts), before_opening_balance=False))
            continue
        taken: list[tuple[int, int]] = []
        for lot in sorted(started, key=lambda lot: key(lot, debit.at)):
            if left == 0:
                break
            share = min(left, remaining[lot.lot_id])
            if share > 0:
                taken.append((lot.lot_id, share))
                remaining[lot.lot_id] -= share
                left -= share
        assert left == 0, "the lots started by the debit's date cover it"
        balances[account_id] = before - points
        planned.append(
            StoredDebit(
                debit.account,
                debit.event_type,
                debit.entry_kind,
                points,
                before - points,
                debit.at,
                tuple(taken),
                debit.import_job_id,
                debit.reason,
            )
        )
    return planned, refused


async def read_debits_plan(
    connection: AsyncConnection,
    *,
    org_id: int,
    debits: Sequence[DebitDraft],
    allow_negative_balance: bool,
    lock: bool,
) -> tuple[list[StoredDebit], list[Refusal]]:
    """`plan_debits` from what the accounts hold now: locked (`lock`, to post them) or read only
    (a dry run, whose debits may name accounts not opened yet: they hold nothing)."""
    account_ids = sorted({debit.account.id for debit in debits})
    if lock:
        balances = await repository.lock_stored_balances(connection, account_ids)
    else:
        balances = dict.fromkeys(account_ids, 0)
        balances.update(await repository.stored_balances(connection, account_ids))
    lots_of = await repository.open_lots(connection, account_ids)
    opened_at = await repository.opening_balance_dates(connection, org_id=org_id, account_ids=account_ids)
    return plan_debits(
        debits,
        balances,
        lots_of,
        repository.stored_points(connection),
        allow_negative_balance=allow_negative_balance,
        opened_at=opened_at,
    )


async def post_debits(
    connection: AsyncConnection, *, org_id: int, debits: Sequence[DebitDraft], allow_negative_balance: bool
) -> tuple[Decimal, list[Refusal]]:
    """Post `debits` in the caller's write transaction (the caller has checked the accounts
    belong to `org_id` and their holders are not merged): the points debited, and the debits
    refused (for want of balance, or dated before the points they would take)."""
    if not debits:
        return Decimal(0), []
    planned, refused = await read_debits_plan(
        connection, org_id=org_id, debits=debits, allow_negative_balance=allow_negative_balance, lock=True
    )
    moved: dict[tuple[int, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for debit in planned:
        counter_move = COUNTER_BY_KIND[debit.entry_kind]
        counter, direction = counter_move if counter_move is not None else (None, 1)
        totals = moved[(debit.account.id, counter)]
        totals[0] -= debit.points
        totals[1] += debit.points * direction
    await repository.insert_debits(connection, org_id=org_id, debits=planned)
    await repository.add_to_accounts(connection, {key: (amount, counted) for key, (amount, counted) in moved.items()})
    total = sum(debit.points for debit in planned)
    return from_scaled_integer(total, repository.STORED_POINTS_SCALE), refused
