"""Ledger use cases: open accounts, post events, read pages and balances, reconcile.

Posting is the only way points move: an event and its entries are inserted, and each entry's
account counters change in one guarded UPDATE ... RETURNING that also yields the balance after
the entry. Accounts are updated in id order so concurrent events cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, literal, not_, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.enums import PointsCategory
from app.ledger import rules
from app.ledger.models import (
    EntryKind,
    EntryType,
    EventType,
    LedgerEntry,
    LedgerEvent,
    PointAccount,
    PointLot,
    PointLotMovement,
)
from app.storage.columns import Points

accounts = PointAccount.__table__
events = LedgerEvent.__table__
entries = LedgerEntry.__table__
lots = PointLot.__table__
movements = PointLotMovement.__table__

ZERO = Decimal(0)
PAGE_SIZE_MAX = 100  # every list of this API pages by at most this many
DEFAULT_WINDOW = timedelta(days=7)

# The account counter each kind of entry moves besides the balance, and which way (None: the
# balance only). `reconcile` recomputes every counter from the entries with this same table.
COUNTER_BY_KIND: dict[EntryKind, tuple[str, int] | None] = {
    EntryKind.OPENING_BALANCE: None,
    EntryKind.POINTS_ALLOCATION: ("earned", 1),
    EntryKind.POINTS_RETURN: ("returned", 1),
    EntryKind.POINTS_REDEMPTION: ("redeemed", 1),
    EntryKind.REDEMPTION_REVERSAL: ("redeemed", -1),
    EntryKind.POINTS_EXPIRY: ("expired", 1),
    EntryKind.POINTS_TRANSFER: None,
    EntryKind.PROMISED_POINTS_CONVERSION: None,
    EntryKind.TRIGGER_BASED_POINTS_CONVERSION: None,
    EntryKind.MERGE: None,
}
COUNTERS = ("earned", "redeemed", "expired", "returned", "adjusted")

_INSERT_EVENT = insert(events).returning(events.c.id)
_INSERT_ENTRIES = insert(entries).returning(entries.c.id, sort_by_parameter_order=True)
_INSERT_LOTS = insert(lots)
_INSERT_LOTS_RETURNING = insert(lots).returning(lots.c.id, sort_by_parameter_order=True)
_INSERT_MOVEMENTS = insert(movements)
_MOVE_LOT = (
    update(lots)
    .where(
        lots.c.id == bindparam("lot_id"),
        lots.c.points_remaining + bindparam("change", type_=lots.c.points_remaining.type) >= 0,
    )
    .values(points_remaining=lots.c.points_remaining + bindparam("change", type_=lots.c.points_remaining.type))
)
_LOCK_ACCOUNT = (
    select(accounts.c.id, accounts.c.balance).where(accounts.c.id == bindparam("account_id")).with_for_update()
)


def _move_statement(counter: str | None) -> Any:
    """balance += amount (and counter += points), returning the balance after: one guarded statement."""
    changes: dict[str, Any] = {"balance": accounts.c.balance + bindparam("amount", type_=accounts.c.balance.type)}
    if counter is not None:
        changes[counter] = accounts.c[counter] + bindparam("points", type_=accounts.c[counter].type)
    return (
        update(accounts).where(accounts.c.id == bindparam("account_id")).values(**changes).returning(accounts.c.balance)
    )


_MOVE_ACCOUNT = {counter: _move_statement(counter) for counter in (None, *COUNTERS)}


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: int
    customer_id: int
    program_id: int
    category: PointsCategory


@dataclass(frozen=True, slots=True)
class LotDraft:
    points: Decimal
    active_from: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class LotShare:
    """Points of one existing lot: what a debit takes from it or a reversal gives back."""

    lot_id: int
    points: Decimal
    active_from: datetime
    expires_at: datetime | None

    def as_draft(self) -> LotDraft:
        """The same points as a new lot elsewhere (a transfer or merge carries the expiry along)."""
        return LotDraft(self.points, self.active_from, self.expires_at)


@dataclass(frozen=True, slots=True)
class Posting:
    """One entry to write. Lots follow the entry:
    - a credit creates `lots` (new points) and/or gives points back to `restores` (a reversal);
      into a negative balance, the credit pays the debt first, out of its soonest-expiring lots;
    - a debit consumes `consumes` when given, else lots first-expiring first (spendable lots
      before pending ones, `prefer_lot_ids` before all), never more than the lots hold: what it
      takes beyond them makes the balance negative.
    """

    account: AccountRef
    entry_type: EntryType
    entry_kind: EntryKind
    points: Decimal
    lots: tuple[LotDraft, ...] = ()
    restores: tuple[LotShare, ...] = ()
    consumes: tuple[LotShare, ...] | None = None
    prefer_lot_ids: tuple[int, ...] = ()
    corrects_entry_id: int | None = None  # on a reversal credit: the debit it gives back

    def __post_init__(self) -> None:
        assert self.points >= 0, "entries carry non-negative points; entry_type gives the sign"
        if self.entry_type is EntryType.CREDIT:
            assert self.consumes is None and not self.prefer_lot_ids, "credits do not consume lots"
            if self.lots or self.restores:
                given = sum((lot.points for lot in (*self.lots, *self.restores)), ZERO)
                assert given == self.points, "a credit's lots add up to the credit"
        else:
            assert not self.lots and not self.restores, "debits do not create lots"


@dataclass(frozen=True, slots=True)
class EventDraft:
    event_type: EventType
    customer_id: int | None
    source: str | None
    store_id: int | None
    till_id: int | None
    transaction_id: int | None = None
    transaction_number: str | None = None
    corrects_event_id: int | None = None


@dataclass(frozen=True, slots=True)
class PostedEntry:
    id: int
    account_id: int
    points: Decimal
    balance_after: Decimal
    lots_consumed: tuple[LotShare, ...] = ()


@dataclass(frozen=True, slots=True)
class PostedEvent:
    id: int
    points_on_event: Decimal
    entries: tuple[PostedEntry, ...]


def signed(entry_type: EntryType | str, points: Decimal) -> Decimal:
    return points if entry_type == EntryType.CREDIT else -points


async def post_event(
    connection: AsyncConnection,
    *,
    org_id: int,
    draft: EventDraft,
    postings: Sequence[Posting],
    now: datetime,
    accounts_are_new: bool = False,
) -> PostedEvent:
    """Write an event and its entries, moving each account in one guarded statement and its lots
    with it (see `Posting`).

    `accounts_are_new`: the accounts were opened at zero in this transaction, so a zero-point
    entry (an opening balance) needs no UPDATE to know the balance after it: zero.
    """
    assert postings, "an event without entries moves nothing and is not written"
    points_on_event = sum((signed(p.entry_type, p.points) for p in postings), ZERO)
    event_id = (
        await connection.execute(
            _INSERT_EVENT,
            {
                "org_id": org_id,
                "event_type": draft.event_type.value,
                "customer_id": draft.customer_id,
                "source": draft.source,
                "store_id": draft.store_id,
                "till_id": draft.till_id,
                "transaction_id": draft.transaction_id,
                "transaction_number": draft.transaction_number,
                "corrects_event_id": draft.corrects_event_id,
                "points_on_event": points_on_event,
                "created_at": now,
            },
        )
    ).scalar_one()

    balances_after: dict[int, Decimal] = {}
    for index in sorted(range(len(postings)), key=lambda i: postings[i].account.id):
        posting = postings[index]
        if accounts_are_new and posting.points == 0:
            balances_after[index] = ZERO
        else:
            balances_after[index] = await _move_account(connection, posting)

    entry_rows = [
        {
            "org_id": org_id,
            "event_id": event_id,
            "account_id": p.account.id,
            "customer_id": p.account.customer_id,
            "program_id": p.account.program_id,
            "category": p.account.category.value,
            "event_type": draft.event_type.value,
            "source": draft.source,
            "store_id": draft.store_id,
            "till_id": draft.till_id,
            "entry_type": p.entry_type.value,
            "entry_kind": p.entry_kind.value,
            "points": p.points,
            "balance_after": balances_after[i],
            "corrects_entry_id": p.corrects_entry_id,
            "created_at": now,
        }
        for i, p in enumerate(postings)
    ]
    entry_ids = (await connection.execute(_INSERT_ENTRIES, entry_rows)).scalars().all()
    consumed: dict[int, tuple[LotShare, ...]] = {}
    for index, (posting, entry_id) in enumerate(zip(postings, entry_ids, strict=True)):
        balance_before = balances_after[index] - signed(posting.entry_type, posting.points)
        if posting.entry_type is EntryType.DEBIT:
            consumed[index] = await _consume_lots(connection, org_id, posting, entry_id, balance_before, now)
        elif posting.lots or posting.restores:
            await _fill_lots(connection, org_id, posting, entry_id, balance_before, balances_after[index], now)
    return PostedEvent(
        id=event_id,
        points_on_event=points_on_event,
        entries=tuple(
            PostedEntry(
                id=entry_id,
                account_id=p.account.id,
                points=p.points,
                balance_after=balances_after[i],
                lots_consumed=consumed.get(i, ()),
            )
            for i, (p, entry_id) in enumerate(zip(postings, entry_ids, strict=True))
        ),
    )


async def _move_account(connection: AsyncConnection, posting: Posting) -> Decimal:
    moved = COUNTER_BY_KIND[posting.entry_kind]
    counter, direction = moved if moved is not None else (None, 1)
    parameters = {
        "account_id": posting.account.id,
        "amount": signed(posting.entry_type, posting.points),
        "points": posting.points * direction,
    }
    return (await connection.execute(_MOVE_ACCOUNT[counter], parameters)).scalar_one()


async def _consume_lots(
    connection: AsyncConnection, org_id: int, posting: Posting, entry_id: int, balance_before: Decimal, now: datetime
) -> tuple[LotShare, ...]:
    """A debit takes what it can from lots: all of it while the balance covers it, since an
    account's lots hold exactly its positive balance."""
    take = min(posting.points, max(balance_before, ZERO))
    if posting.consumes is not None:
        shares = posting.consumes
        assert sum((share.points for share in shares), ZERO) == take, "the planned lots match what the debit takes"
    else:
        shares = await plan_consumption(
            connection, posting.account.id, take, now, prefer_lot_ids=posting.prefer_lot_ids
        )
    await _move_lots(connection, org_id, entry_id, [(share.lot_id, -share.points) for share in shares])
    return shares


async def _fill_lots(
    connection: AsyncConnection,
    org_id: int,
    posting: Posting,
    entry_id: int,
    balance_before: Decimal,
    balance_after: Decimal,
    now: datetime,
) -> None:
    """A credit's points go to its lots, less the debt of a negative balance, which the
    soonest-expiring of them pay first."""
    debt = posting.points - (max(balance_after, ZERO) - max(balance_before, ZERO))
    sources: list[LotDraft | LotShare] = sorted(
        [*posting.restores, *posting.lots], key=lambda lot: (lot.expires_at is None, lot.expires_at or now)
    )
    new_lots: list[tuple[LotDraft, Decimal]] = []
    changes: list[tuple[int, Decimal]] = []
    for source in sources:
        paid = min(debt, source.points)
        debt -= paid
        if isinstance(source, LotShare):
            if source.points > paid:
                changes.append((source.lot_id, source.points - paid))
        elif source.points > 0:
            new_lots.append((source, paid))
    lot_rows = [
        {
            "org_id": org_id,
            "account_id": posting.account.id,
            "category": posting.account.category.value,
            "entry_id": entry_id,
            "points": lot.points,
            "points_remaining": lot.points,
            "active_from": lot.active_from,
            "expires_at": lot.expires_at,
            "created_at": now,
        }
        for lot, _ in new_lots
    ]
    if lot_rows and any(paid > 0 for _, paid in new_lots):
        lot_ids = (await connection.execute(_INSERT_LOTS_RETURNING, lot_rows)).scalars().all()
        changes.extend((lot_id, -paid) for lot_id, (_, paid) in zip(lot_ids, new_lots, strict=True) if paid > 0)
    elif lot_rows:  # the usual case, an award into a non-negative balance: no ids needed
        await connection.execute(_INSERT_LOTS, lot_rows)
    await _move_lots(connection, org_id, entry_id, changes)


async def _move_lots(
    connection: AsyncConnection, org_id: int, entry_id: int, changes: Sequence[tuple[int, Decimal]]
) -> None:
    changes = [(lot_id, change) for lot_id, change in changes if change != 0]
    if not changes:
        return
    for lot_id, change in changes:
        result = await connection.execute(_MOVE_LOT, {"lot_id": lot_id, "change": change})
        assert result.rowcount == 1, f"lot {lot_id} cannot move by {change}: the account was not locked"
    await connection.execute(
        _INSERT_MOVEMENTS,
        [{"org_id": org_id, "lot_id": lot_id, "entry_id": entry_id, "points": change} for lot_id, change in changes],
    )


async def lock_account(connection: AsyncConnection, account_id: int) -> Decimal:
    """Lock an account before reading its lots to plan a debit (PostgreSQL: FOR UPDATE; SQLite's
    one writer already excludes everyone). Returns its balance."""
    return (await connection.execute(_LOCK_ACCOUNT, {"account_id": account_id})).one().balance


def _spendable(now: datetime) -> Any:
    return and_(lots.c.active_from <= now, or_(lots.c.expires_at.is_(None), lots.c.expires_at > now))


_LOT_COLUMNS = (lots.c.id, lots.c.points_remaining, lots.c.active_from, lots.c.expires_at)


async def plan_consumption(
    connection: AsyncConnection, account_id: int, points: Decimal, now: datetime, *, prefer_lot_ids: Sequence[int] = ()
) -> tuple[LotShare, ...]:
    """Which lots `points` come out of: `prefer_lot_ids` first, then spendable lots before the
    rest (pending, or past their expiry date but not yet expired by the expiry run),
    first-expiring first (never-expiring last), oldest first. Fewer points when the
    lots hold fewer. The caller holds the account's lock."""
    if points <= 0:
        return ()
    order = [not_(_spendable(now)), lots.c.expires_at.is_(None), lots.c.expires_at, lots.c.id]
    if prefer_lot_ids:
        order.insert(0, lots.c.id.not_in(list(prefer_lot_ids)))
    limit = 64
    while True:
        rows = (
            await connection.execute(
                select(*_LOT_COLUMNS)
                .where(lots.c.account_id == account_id, lots.c.points_remaining > 0)
                .order_by(*order)
                .limit(limit)
            )
        ).all()
        shares = rules.take_from_lots(
            [(row.id, row.points_remaining, row.active_from, row.expires_at) for row in rows], points
        )
        if sum((share[1] for share in shares), ZERO) == points or len(rows) < limit:
            return tuple(LotShare(*share) for share in shares)
        limit *= 8


async def lot_shares(connection: AsyncConnection, lot_ids: Sequence[int]) -> dict[int, LotShare]:
    """Lots by id with their remaining points (to name them in a debit or a reversal)."""
    if not lot_ids:
        return {}
    rows = (await connection.execute(select(*_LOT_COLUMNS).where(lots.c.id.in_(list(lot_ids))))).all()
    return {row.id: LotShare(row.id, row.points_remaining, row.active_from, row.expires_at) for row in rows}


async def consumed_by_entries(connection: AsyncConnection, entry_ids: Sequence[int]) -> dict[int, Decimal]:
    """Net points these entries moved per lot (negative: taken), to reverse what a debit consumed."""
    if not entry_ids:
        return {}
    rows = (
        await connection.execute(
            select(movements.c.lot_id, func.sum(movements.c.points).label("points"))
            .where(movements.c.entry_id.in_(list(entry_ids)))
            .group_by(movements.c.lot_id)
        )
    ).all()
    return {row.lot_id: Decimal(row.points) for row in rows}


async def reversal_postings(
    connection: AsyncConnection, *, event_id: int, points: Decimal, kind: EntryKind, now: datetime
) -> list[Posting]:
    """Credits that give back `points` of what event `event_id`'s debits took: to the same
    accounts, in the order of its entries, and into the same lots with their original expiry
    (latest-expiring first), less what earlier reversals (credits naming those debits) gave
    back. Points the debits took beyond the lots (into a negative balance) come back as a new lot
    that does not expire. The caller holds a lock on what is reversed (e.g. the redemption row)
    and checks `points` is within what is left to give back."""
    debits = (
        await connection.execute(
            select(
                entries.c.id,
                entries.c.account_id,
                entries.c.customer_id,
                entries.c.program_id,
                entries.c.category,
                entries.c.points,
            )
            .where(entries.c.event_id == event_id, entries.c.entry_type == EntryType.DEBIT.value)
            .order_by(entries.c.id)
        )
    ).all()
    debit_ids = [row.id for row in debits]
    earlier = (
        (
            await connection.execute(
                select(entries.c.id, entries.c.corrects_entry_id, entries.c.points).where(
                    entries.c.corrects_entry_id.in_(debit_ids)
                )
            )
        ).all()
        if debit_ids
        else []
    )
    given_back: dict[int, Decimal] = defaultdict(Decimal)
    for row in earlier:
        given_back[row.corrects_entry_id] += row.points
    result: list[Posting] = []
    left = points
    for debit in debits:
        share = min(left, debit.points - given_back[debit.id])
        if share <= 0:
            continue
        left -= share
        taken = await consumed_by_entries(connection, [debit.id])
        restored = await consumed_by_entries(
            connection, [row.id for row in earlier if row.corrects_entry_id == debit.id]
        )
        open_lots = {lot_id: -change - restored.get(lot_id, ZERO) for lot_id, change in taken.items()}
        candidates = sorted(
            (
                await lot_shares(connection, [lot_id for lot_id, open_points in open_lots.items() if open_points > 0])
            ).values(),
            key=lambda lot: (lot.expires_at is None, lot.expires_at or now, lot.lot_id),
            reverse=True,
        )
        restores: list[LotShare] = []
        want = share
        for lot in candidates:
            give = min(want, open_lots[lot.lot_id])
            if give > 0:
                restores.append(LotShare(lot.lot_id, give, lot.active_from, lot.expires_at))
                want -= give
        new_lots = (LotDraft(want, now, None),) if want > 0 else ()
        account = AccountRef(debit.account_id, debit.customer_id, debit.program_id, PointsCategory(debit.category))
        result.append(
            Posting(
                account,
                EntryType.CREDIT,
                kind,
                share,
                lots=new_lots,
                restores=tuple(restores),
                corrects_entry_id=debit.id,
            )
        )
    assert left == 0, "a reversal gives back at most what the event took"
    return result


async def spendable_points(
    connection: AsyncConnection, account_ids: Sequence[int], now: datetime
) -> dict[int, Decimal]:
    """Points each account can spend now: its lots that are active (not pending) and not past
    their expiry date (whether or not the expiry run has expired them yet). Since lots hold
    exactly the positive balance, this never exceeds the balance."""
    if not account_ids:
        return {}
    rows = (
        await connection.execute(
            select(lots.c.account_id, func.sum(lots.c.points_remaining).label("points"))
            .where(lots.c.account_id.in_(list(account_ids)), lots.c.points_remaining > 0, _spendable(now))
            .group_by(lots.c.account_id)
        )
    ).all()
    found = {row.account_id: Decimal(row.points) for row in rows}
    return {account_id: found.get(account_id, ZERO) for account_id in account_ids}


async def open_accounts(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    program_ids: Sequence[int],
    categories: Sequence[PointsCategory],
    draft: EventDraft,
    now: datetime,
) -> dict[tuple[int, PointsCategory], AccountRef]:
    """Start a customer's ledger: one account per program and category, each with its
    zero-value opening-balance entry, all in one CUSTOMER_REGISTRATION event."""
    rows = [
        {
            "org_id": org_id,
            "customer_id": customer_id,
            "program_id": program_id,
            "category": category.value,
            "balance": ZERO,
            "earned": ZERO,
            "redeemed": ZERO,
            "expired": ZERO,
            "returned": ZERO,
            "adjusted": ZERO,
            "created_at": now,
        }
        for program_id in program_ids
        for category in categories
    ]
    account_ids = (
        (await connection.execute(insert(accounts).returning(accounts.c.id, sort_by_parameter_order=True), rows))
        .scalars()
        .all()
    )
    refs = {
        (row["program_id"], PointsCategory(row["category"])): AccountRef(
            id=account_id,
            customer_id=customer_id,
            program_id=row["program_id"],
            category=PointsCategory(row["category"]),
        )
        for row, account_id in zip(rows, account_ids, strict=True)
    }
    await post_event(
        connection,
        org_id=org_id,
        draft=draft,
        now=now,
        accounts_are_new=True,
        postings=[
            Posting(account=ref, entry_type=EntryType.CREDIT, entry_kind=EntryKind.OPENING_BALANCE, points=ZERO)
            for ref in refs.values()
        ],
    )
    return refs


async def customer_accounts(
    connection: AsyncConnection, customer_ids: Sequence[int], *, lock: bool = False
) -> list[Any]:
    """Every account of these customers (one query for any number); `lock` takes their row locks
    in id order, for a write that plans from their balances and lots."""
    if not customer_ids:
        return []
    query = select(accounts).where(accounts.c.customer_id.in_(customer_ids)).order_by(accounts.c.id)
    if lock:
        query = query.with_for_update()
    return list((await connection.execute(query)).all())


# --- Reading the ledger ---------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerFilter:
    """The view of one customer's ledger; an empty list or None means no filter on that field."""

    sources: tuple[str, ...] = ()
    till_ids: tuple[int, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    entry_type: EntryType | None = None
    categories: tuple[PointsCategory, ...] = ()
    program_ids: tuple[int, ...] = ()
    # includeTillConceptEvents: with a program filter, also the group redemption entries (of any
    # program) made at these tills, the tills of the filtered programs' concepts.
    concept_till_ids: tuple[int, ...] = ()

    def with_default_window(self, now: datetime) -> LedgerFilter:
        """The seed's default: the last 7 days when no date is given."""
        if self.start is None and self.end is None:
            return replace(self, start=now - DEFAULT_WINDOW)
        return self

    def conditions(self) -> list[Any]:
        conditions: list[Any] = []
        if self.sources:
            conditions.append(entries.c.source.in_(self.sources))
        if self.till_ids:
            conditions.append(entries.c.till_id.in_(self.till_ids))
        if self.start is not None:
            conditions.append(entries.c.created_at >= self.start)
        if self.end is not None:
            conditions.append(entries.c.created_at < self.end)
        if self.entry_type is not None:
            conditions.append(entries.c.entry_type == self.entry_type.value)
        conditions.extend(self.account_conditions(concept_events=True))
        return conditions

    def account_conditions(self, table: Any = entries, *, concept_events: bool = False) -> list[Any]:
        """`concept_events`: the program filter lets the concept tills' group redemptions through
        (entries only; a closing balance still sums the filtered programs' accounts)."""
        conditions: list[Any] = []
        if self.categories:
            conditions.append(table.c.category.in_([category.value for category in self.categories]))
        if self.program_ids:
            in_programs = table.c.program_id.in_(self.program_ids)
            if concept_events and self.concept_till_ids:
                in_programs = or_(
                    in_programs,
                    and_(
                        table.c.event_type == EventType.POINTS_REDEMPTION.value,
                        table.c.till_id.in_(self.concept_till_ids),
                    ),
                )
            conditions.append(in_programs)
        return conditions


@dataclass(frozen=True, slots=True)
class LedgerEntryView:
    id: int
    event_id: int
    event_type: str
    entry_type: str
    entry_kind: str
    created_at: datetime
    program_id: int
    category: str
    points: Decimal
    balance_after: Decimal
    points_on_event: Decimal
    source: str | None
    store_id: int | None
    till_id: int | None
    transaction_id: int | None
    transaction_number: str | None
    customer_promotion_id: int | None = None
    tracker_value_id: int | None = None


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntryView]
    has_next_page: bool


_PAGE_COLUMNS = (
    entries.c.id,
    entries.c.event_id,
    entries.c.event_type,
    entries.c.entry_type,
    entries.c.entry_kind,
    entries.c.created_at,
    entries.c.program_id,
    entries.c.category,
    entries.c.points,
    entries.c.balance_after,
    events.c.points_on_event,
    entries.c.source,
    entries.c.store_id,
    entries.c.till_id,
    events.c.transaction_id,
    events.c.transaction_number,
    events.c.customer_promotion_id,
    events.c.tracker_value_id,
)


async def ledger_page(
    connection: AsyncConnection, *, org_id: int, customer_id: int, view: LedgerFilter, first: int, after_id: int | None
) -> LedgerPage:
    """Newest first, by entry id (entries are written in time order), keyset-paginated."""
    assert 1 <= first <= PAGE_SIZE_MAX
    conditions = [entries.c.org_id == org_id, entries.c.customer_id == customer_id, *view.conditions()]
    if after_id is not None:
        conditions.append(entries.c.id < after_id)
    query = (
        select(*_PAGE_COLUMNS)
        .join(events, events.c.id == entries.c.event_id)
        .where(*conditions)
        .order_by(entries.c.id.desc())
        .limit(first + 1)
    )
    rows = (await connection.execute(query)).all()
    page = [LedgerEntryView(*row) for row in rows[:first]]
    return LedgerPage(entries=page, has_next_page=len(rows) > first)


async def closing_balance(
    connection: AsyncConnection, *, org_id: int, customer_id: int, view: LedgerFilter
) -> tuple[Decimal, int | None]:
    """The balance as of the last entry in the view, over the accounts the view covers.

    For each such account, its balance after its last entry at or before the view's last entry,
    summed. With no filter at all this is the customer's current balance. Returns the balance
    and the id of the view's last entry (None for an empty view).
    """
    last_id = (
        await connection.execute(
            select(func.max(entries.c.id)).where(
                entries.c.org_id == org_id, entries.c.customer_id == customer_id, *view.conditions()
            )
        )
    ).scalar_one()
    if last_id is None:
        return ZERO, None
    latest_per_account = (
        select(func.max(entries.c.id).label("entry_id"))
        .where(
            entries.c.org_id == org_id,
            entries.c.customer_id == customer_id,
            entries.c.id <= last_id,
            *view.account_conditions(),
        )
        .group_by(entries.c.account_id)
        .subquery()
    )
    total = (
        await connection.execute(
            select(func.coalesce(func.sum(entries.c.balance_after), type_coerce(0, Points()))).where(
                entries.c.id.in_(select(latest_per_account.c.entry_id))
            )
        )
    ).scalar_one()
    return total, last_id


# --- Reconciliation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Discrepancy:
    account_id: int
    customer_id: int
    program_id: int
    category: str
    counter: str
    stored: Decimal
    from_entries: Decimal


@dataclass(frozen=True)
class ReconciliationReport:
    checked_accounts: int
    discrepancies: list[Discrepancy]


async def reconciliation_report(connection: AsyncConnection, *, org_id: int) -> ReconciliationReport:
    """`reconcile` over one org, with how many accounts it checked (run it in one snapshot)."""
    checked = (
        await connection.execute(select(func.count()).select_from(accounts).where(accounts.c.org_id == org_id))
    ).scalar_one()
    return ReconciliationReport(checked_accounts=checked, discrepancies=await reconcile(connection, org_id=org_id))


async def reconcile(connection: AsyncConnection, *, org_id: int | None = None) -> list[Discrepancy]:
    """Recompute every account's balance and counters from its entries and list differences.

    Also checks each account's last entry (its balance_after must equal the stored balance), each
    lot (points_remaining = points + its movements), and each account's lots (they hold exactly
    its positive balance).
    """

    def entry_sum(condition: Any, amount: Any) -> Any:
        return type_coerce(func.coalesce(func.sum(case((condition, amount), else_=0)), 0), Points())

    credit = entries.c.entry_type == EntryType.CREDIT.value
    sums: dict[str, Any] = {
        "balance": entry_sum(literal(True), case((credit, entries.c.points), else_=-entries.c.points)),
    }
    for counter in COUNTERS:
        kinds_by_direction = {
            direction: [kind.value for kind, moved in COUNTER_BY_KIND.items() if moved == (counter, direction)]
            for direction in (1, -1)
        }
        sums[counter] = type_coerce(
            entry_sum(entries.c.entry_kind.in_(kinds_by_direction[1]), entries.c.points)
            - entry_sum(entries.c.entry_kind.in_(kinds_by_direction[-1]), entries.c.points),
            Points(),
        )
    latest = entries.alias("latest")
    last_balance = (
        select(latest.c.balance_after)
        .where(latest.c.account_id == accounts.c.id)
        .order_by(latest.c.id.desc())
        .limit(1)
        .correlate(accounts)
        .scalar_subquery()
    )
    lots_total = (
        select(type_coerce(func.coalesce(func.sum(lots.c.points_remaining), 0), Points()))
        .where(lots.c.account_id == accounts.c.id)
        .correlate(accounts)
        .scalar_subquery()
    )
    query = (
        select(
            accounts,
            last_balance.label("last_balance_after"),
            lots_total.label("lots_total"),
            *[value.label(f"sum_{name}") for name, value in sums.items()],
        )
        .select_from(accounts.outerjoin(entries, entries.c.account_id == accounts.c.id))
        .group_by(*accounts.c)
        .order_by(accounts.c.id)
    )
    if org_id is not None:
        query = query.where(accounts.c.org_id == org_id)
    found: list[Discrepancy] = []
    for row in (await connection.execute(query)).mappings():
        checks = [(name, row[name], Decimal(row[f"sum_{name}"])) for name in ("balance", *COUNTERS)]
        if row["last_balance_after"] is not None:
            checks.append(("last_balance_after", row["balance"], Decimal(row["last_balance_after"])))
        else:
            checks.append(("opening_balance_entry", row["balance"], Decimal(-1)))
        checks.append(("lots_total", Decimal(row["lots_total"]), max(row["balance"], ZERO)))
        for name, stored, computed in checks:
            if stored != computed:
                found.append(
                    Discrepancy(
                        row["id"], row["customer_id"], row["program_id"], row["category"], name, stored, computed
                    )
                )

    moved = type_coerce(func.coalesce(func.sum(movements.c.points), 0), Points())
    lot_query = (
        select(
            lots.c.id,
            lots.c.points,
            lots.c.points_remaining,
            moved.label("moved"),
            accounts.c.customer_id,
            accounts.c.program_id,
            accounts.c.category,
            accounts.c.id.label("account_id"),
        )
        .join(accounts, accounts.c.id == lots.c.account_id)
        .outerjoin(movements, movements.c.lot_id == lots.c.id)
        .group_by(
            lots.c.id,
            lots.c.points,
            lots.c.points_remaining,
            accounts.c.customer_id,
            accounts.c.program_id,
            accounts.c.category,
            accounts.c.id,
        )
        .having(lots.c.points_remaining != lots.c.points + func.coalesce(func.sum(movements.c.points), 0))
    )
    if org_id is not None:
        lot_query = lot_query.where(lots.c.org_id == org_id)
    for row in (await connection.execute(lot_query)).all():
        found.append(
            Discrepancy(
                row.account_id,
                row.customer_id,
                row.program_id,
                row.category,
                f"lot {row.id} remaining",
                row.points_remaining,
                row.points + Decimal(row.moved),
            )
        )
    return found
