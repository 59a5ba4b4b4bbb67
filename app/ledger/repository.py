"""The ledger's data access: accounts, events, entries, lots and lot movements.

Every statement the ledger runs is here, on its SQLModel tables, through SQLAlchemy Core on the
caller's connection (one hop to the driver, no ORM session). Statements the hot paths run are
built once, at import. The domains above the ledger call these functions with ids and small
values and get plain values, rows or `views` back: none of them names a ledger table.

Locks: accounts are locked in id order (FOR UPDATE on PostgreSQL; SQLite's one writer excludes
everyone), after the customers they belong to; lots change only through the guarded UPDATE of
`move_lots`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.currencies import CURRENCY_CATEGORY_PREFIX, POINTS_CATEGORY_VALUES, AccountCategory
from app.kernel.enums import PointsCategory
from app.ledger.models import (
    EntryKind,
    EntryType,
    EventType,
    LedgerEntry,
    LedgerEvent,
    LotExpiryNotice,
    PointAccount,
    PointLot,
    PointLotMovement,
)
from app.ledger.rules import COUNTER_BY_KIND, COUNTERS
from app.ledger.views import (
    READ_PAGE_SIZE_MAX,
    ZERO,
    AccountRef,
    ConsumedLot,
    CreditDraft,
    EventDraft,
    EventSummary,
    LedgerEntryView,
    LedgerFilter,
    LedgerPage,
    LotDraft,
    LotShare,
    Posting,
    StoredDebit,
    TransferCategories,
    TransferEntryView,
)
from app.storage.bulk_insert import add_to_rows, driver_value, insert_rows
from app.storage.columns import FixedDecimal, Points, UTCDateTime
from app.storage.database import any_of, conflict_insert, constant, list_parameter, one_of_constants, pairs_in
from app.storage.direct_statements import brief_read, direct
from app.storage.id_blocks import reserve_ids
from app.storage.tables import table_of

accounts = table_of(PointAccount)
events = table_of(LedgerEvent)
entries = table_of(LedgerEntry)
lots = table_of(PointLot)
movements = table_of(PointLotMovement)
notices = table_of(LotExpiryNotice)


# The partial indexes' predicate with a literal 0 (not a bound parameter), so SQLite's planner
# and PostgreSQL's generic plans can see that a query implies it.
HAS_POINTS_LEFT = lots.c.points_remaining > literal_column("0")


# --- Posting an event -----------------------------------------------------------------------

_INSERT_EVENT = direct(insert(events).returning(events.c.id))
_INSERT_ENTRIES = direct(insert(entries).returning(entries.c.id, sort_by_parameter_order=True))
_INSERT_LOTS = direct(insert(lots))
_INSERT_LOTS_RETURNING = direct(insert(lots).returning(lots.c.id, sort_by_parameter_order=True))
_INSERT_MOVEMENTS = direct(insert(movements))
_MOVE_LOT = direct(
    update(lots)
    .where(
        lots.c.id == bindparam("lot_id"),
        lots.c.points_remaining + bindparam("change", type_=lots.c.points_remaining.type) >= 0,
    )
    .values(points_remaining=lots.c.points_remaining + bindparam("change", type_=lots.c.points_remaining.type))
)
_LOCK_ACCOUNT = direct(
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


_MOVE_ACCOUNT = {counter: direct(_move_statement(counter)) for counter in (None, *COUNTERS)}


async def insert_event(
    connection: AsyncConnection, *, org_id: int, draft: EventDraft, points_on_event: Decimal, now: datetime
) -> int:
    return (
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


async def move_account(
    connection: AsyncConnection, *, account_id: int, amount: Decimal, counter: str | None, counted: Decimal
) -> Decimal:
    """The balance moves by `amount` and `counter` (if any) by `counted`, in one guarded UPDATE
    that returns the balance after."""
    parameters = {"account_id": account_id, "amount": amount, "points": counted}
    return (await connection.execute(_MOVE_ACCOUNT[counter], parameters)).scalar_one()


async def insert_entries(
    connection: AsyncConnection,
    *,
    org_id: int,
    event_id: int,
    draft: EventDraft,
    postings: Sequence[Posting],
    balances_after: Sequence[Decimal],
    now: datetime,
) -> list[int]:
    """One entry per posting, in order; returns their ids in that order."""
    rows = [
        {
            "org_id": org_id,
            "event_id": event_id,
            "account_id": posting.account.id,
            "customer_id": posting.account.customer_id,
            "program_id": posting.account.program_id,
            "category": posting.account.category.value,
            "event_type": draft.event_type.value,
            "source": draft.source,
            "store_id": draft.store_id,
            "till_id": draft.till_id,
            "entry_type": posting.entry_type.value,
            "entry_kind": posting.entry_kind.value,
            "points": posting.points,
            "balance_after": balance_after,
            "corrects_entry_id": posting.corrects_entry_id,
            "created_at": now,
        }
        for posting, balance_after in zip(postings, balances_after, strict=True)
    ]
    return list((await connection.execute(_INSERT_ENTRIES, rows)).scalars().all())


async def insert_lots(
    connection: AsyncConnection,
    *,
    org_id: int,
    account: AccountRef,
    entry_id: int,
    new_lots: Sequence[LotDraft],
    now: datetime,
    ids_wanted: bool,
) -> list[int]:
    """The lots a credit makes, full; their ids in order when `ids_wanted` (else none are read back)."""
    if not new_lots:
        return []
    rows = [
        {
            "org_id": org_id,
            "account_id": account.id,
            "category": account.category.value,
            "entry_id": entry_id,
            "points": lot.points,
            "points_remaining": lot.points,
            "active_from": lot.active_from,
            "expires_at": lot.expires_at,
            "created_at": now,
        }
        for lot in new_lots
    ]
    if ids_wanted:
        return list((await connection.execute(_INSERT_LOTS_RETURNING, rows)).scalars().all())
    await connection.execute(_INSERT_LOTS, rows)
    return []


async def move_lots(
    connection: AsyncConnection, *, org_id: int, entry_id: int, changes: Sequence[tuple[int, Decimal]]
) -> None:
    """Each (lot id, change) moves the lot's points left by one guarded UPDATE (never below zero)
    and is recorded as the entry's movement on that lot. The caller holds the account's lock."""
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
    """Lock an account (PostgreSQL: FOR UPDATE; SQLite's one writer already excludes everyone);
    returns its balance."""
    return (await connection.execute(_LOCK_ACCOUNT, {"account_id": account_id})).one().balance


# --- Opening accounts -----------------------------------------------------------------------

_ACCOUNT_COLUMNS = (
    "id",
    "org_id",
    "customer_id",
    "program_id",
    "category",
    "balance",
    "earned",
    "redeemed",
    "expired",
    "returned",
    "adjusted",
    "created_at",
)
# The columns of a bulk registration's events and opening entries (the others stay NULL).
_REGISTRATION_EVENT_COLUMNS = (
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
)
_OPENING_ENTRY_COLUMNS = (
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


async def insert_opened_accounts_in_bulk(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_ids: Sequence[int],
    program_ids: Sequence[int],
    categories: Sequence[PointsCategory],
    source: str | None,
    now: datetime,
    store_id: int | None = None,
    till_id: int | None = None,
) -> list[int]:
    """Every (program, category) account of each customer at zero, one CUSTOMER_REGISTRATION
    event per customer (at this store and till) and a zero opening-balance entry per account:
    ids reserved first, each table written in one executemany (app.storage.bulk_insert). Returns
    the account ids by customer, then program, then category."""
    # (customer, program, category) of each account, in the order their ids are reserved.
    opened = [
        (customer_id, program_id, category.value)
        for customer_id in customer_ids
        for program_id in program_ids
        for category in categories
    ]
    account_ids = await reserve_ids(connection, accounts, len(opened))
    await insert_rows(
        connection,
        accounts,
        _ACCOUNT_COLUMNS,
        [
            (account_id, org_id, customer_id, program_id, category, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, now)
            for account_id, (customer_id, program_id, category) in zip(account_ids, opened, strict=True)
        ],
    )
    registration = EventType.CUSTOMER_REGISTRATION.value
    event_ids = await reserve_ids(connection, events, len(customer_ids))
    await insert_rows(
        connection,
        events,
        _REGISTRATION_EVENT_COLUMNS,
        [
            (event_id, org_id, registration, customer_id, source, store_id, till_id, None, None, None, ZERO, now)
            for customer_id, event_id in zip(customer_ids, event_ids, strict=True)
        ],
    )
    event_by_customer = dict(zip(customer_ids, event_ids, strict=True))
    # The accounts were opened at zero here: each opening entry's balance after is zero.
    credit, opening = EntryType.CREDIT.value, EntryKind.OPENING_BALANCE.value
    await insert_rows(
        connection,
        entries,
        _OPENING_ENTRY_COLUMNS,
        [
            (
                org_id,
                event_by_customer[customer_id],
                account_id,
                customer_id,
                program_id,
                category,
                registration,
                source,
                store_id,
                till_id,
                credit,
                opening,
                ZERO,
                ZERO,
                None,
                now,
            )
            for account_id, (customer_id, program_id, category) in zip(account_ids, opened, strict=True)
        ],
    )
    return account_ids


# --- Accounts -------------------------------------------------------------------------------

_LOCK_REGULAR_ACCOUNTS = (
    select(accounts.c.id, accounts.c.customer_id, accounts.c.balance)
    .where(
        accounts.c.customer_id.in_(bindparam("customer_ids", expanding=True)),
        accounts.c.program_id == bindparam("program_id"),
        accounts.c.category == PointsCategory.REGULAR.value,
    )
    .order_by(accounts.c.id)
    .with_for_update()
)
_LOCK_ACCOUNT_OF = direct(
    select(accounts.c.id, accounts.c.balance)
    .where(
        accounts.c.customer_id == bindparam("customer_id"),
        accounts.c.program_id == bindparam("program_id"),
        accounts.c.category == bindparam("category"),
    )
    .with_for_update()
)


async def customer_accounts(
    connection: AsyncConnection, customer_ids: Sequence[int], *, lock: bool = False
) -> list[Any]:
    """Every account of these customers (one query for any number) as rows of all the account's
    columns, in id order; `lock` takes their row locks in that order."""
    if not customer_ids:
        return []
    query = select(accounts).where(accounts.c.customer_id.in_(customer_ids)).order_by(accounts.c.id)
    if lock:
        query = query.with_for_update()
    return list((await connection.execute(query)).all())


async def lock_accounts(connection: AsyncConnection, account_ids: Sequence[int]) -> list[Any]:
    """Lock accounts in id order in one statement: rows (id, customer_id, program_id, category,
    balance). Every writer locks accounts in id order: no deadlock."""
    return list(
        (
            await connection.execute(
                select(
                    accounts.c.id,
                    accounts.c.customer_id,
                    accounts.c.program_id,
                    accounts.c.category,
                    accounts.c.balance,
                )
                .where(accounts.c.id.in_(list(account_ids)))
                .order_by(accounts.c.id)
                .with_for_update()
            )
        ).all()
    )


async def lock_regular_accounts(
    connection: AsyncConnection, customer_ids: Sequence[int], *, program_id: int
) -> list[Any]:
    """These customers' REGULAR accounts in a program, locked in id order: rows (id, customer_id,
    balance); a customer without one yet is absent."""
    return list(
        (
            await connection.execute(
                _LOCK_REGULAR_ACCOUNTS, {"customer_ids": sorted(customer_ids), "program_id": program_id}
            )
        ).all()
    )


async def lock_account_of(
    connection: AsyncConnection, *, customer_id: int, program_id: int, category: AccountCategory
) -> Any:
    """The customer's account in a program and category, locked: a row (id, balance), or None
    when it is not opened yet."""
    return (
        await connection.execute(
            _LOCK_ACCOUNT_OF, {"customer_id": customer_id, "program_id": program_id, "category": category.value}
        )
    ).one_or_none()


_INSERT_ACCOUNT = direct(insert(accounts).returning(accounts.c.id))


async def insert_account(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    program_id: int,
    category: AccountCategory,
    now: datetime,
) -> int:
    """One account at zero (an alternate currency's, opened on its first use); the caller holds
    the customer's lock and posts its opening-balance entry in the event that uses it."""
    return (
        await connection.execute(
            _INSERT_ACCOUNT,
            {
                "org_id": org_id,
                "customer_id": customer_id,
                "program_id": program_id,
                "category": category.value,
                **dict.fromkeys(("balance", *COUNTERS), ZERO),
                "created_at": now,
            },
        )
    ).scalar_one()


async def currency_awards_of_bill(connection: AsyncConnection, *, org_id: int, transaction_id: int) -> list[Any]:
    """A bill's alternate currency awards: rows (event_id, entry_id, account_id, customer_id,
    category, points, returned: what returns correcting that award took back so far), by entry id."""
    returns = entries.alias("returns")
    corrections = events.alias("corrections")
    returned = (
        select(func.coalesce(func.sum(returns.c.points), literal_column("0")))
        .select_from(returns.join(corrections, corrections.c.id == returns.c.event_id))
        .where(
            corrections.c.corrects_event_id == events.c.id,
            returns.c.entry_kind == constant(EntryKind.POINTS_RETURN.value),
        )
        .correlate(events)
        .scalar_subquery()
    )
    return list(
        (
            await connection.execute(
                select(
                    events.c.id.label("event_id"),
                    entries.c.id.label("entry_id"),
                    entries.c.account_id,
                    entries.c.customer_id,
                    entries.c.category,
                    entries.c.points,
                    type_coerce(returned, Points()).label("returned"),
                )
                .join(entries, entries.c.event_id == events.c.id)
                .where(
                    events.c.org_id == org_id,
                    events.c.transaction_id == transaction_id,
                    events.c.event_type == EventType.ALTERNATE_CURRENCY_AWARD.value,
                    entries.c.entry_kind == constant(EntryKind.POINTS_ALLOCATION.value),
                )
                .order_by(entries.c.id)
            )
        ).all()
    )


@lru_cache(maxsize=4)
def _regular_accounts_statement(dialect: str) -> Any:
    """The account of a category in a program of each of a list of customers (the list one parameter)."""
    return text(
        f"SELECT accounts.customer_id, accounts.id FROM {accounts.name} accounts "
        "WHERE accounts.program_id = :program_id AND accounts.category = :category "
        f"AND accounts.customer_id {any_of(dialect, 'ids', 'bigint')}"
    )


async def regular_account_ids(
    connection: AsyncConnection,
    customer_ids: Sequence[int],
    *,
    program_id: int,
    category: PointsCategory = PointsCategory.REGULAR,
) -> dict[int, int]:
    """Each customer's REGULAR (or `category`) account id in a program (customers without one are
    absent), in one statement however many customers: the list is bound as one parameter."""
    if not customer_ids:
        return {}
    dialect = connection.dialect.name
    rows = await connection.execute(
        _regular_accounts_statement(dialect),
        {"program_id": program_id, "category": category.value, "ids": list_parameter(dialect, customer_ids)},
    )
    return {row.customer_id: row.id for row in rows}


async def promised_and_regular_account_ids(
    connection: AsyncConnection, promised_account_ids: Sequence[int]
) -> list[int]:
    """The PROMISED and REGULAR accounts of the (customer, program) of each of these accounts."""
    owners = (
        await connection.execute(
            select(accounts.c.customer_id, accounts.c.program_id).where(accounts.c.id.in_(promised_account_ids))
        )
    ).all()
    return list(
        (
            await connection.execute(
                select(accounts.c.id).where(
                    pairs_in(accounts.c.customer_id, accounts.c.program_id, [tuple(row) for row in owners]),
                    accounts.c.category.in_([PointsCategory.PROMISED.value, PointsCategory.REGULAR.value]),
                )
            )
        )
        .scalars()
        .all()
    )


def join_program_points(query: Any, customer_id: Any, program_id: Any) -> Any:
    """`query` joined to the accounts of (`customer_id`, `program_id`) with their points as
    columns: `balance` (the REGULAR account's) and the counters summed over all the program's
    accounts (points earned into PROMISED or TRIGGER_BASED are earned too; conversions move no
    counter, so nothing counts twice), and from the lots at the bound `now`: `regular_not_held`
    (REGULAR points not started or past their expiry) and `past_expiry` (points of all the
    program's accounts past their expiry, not yet debited by the expiry run). The caller groups
    by its own key and binds "now".

    The one place another domain's statement takes ledger columns: a customer with its points
    summaries is one statement on every response (tests/test_customer_query.py counts it), so
    the customers domain builds that statement once, at import, with the ledger's part from here.
    """
    regular_balance = type_coerce(
        func.sum(
            case(
                (accounts.c.category == constant(PointsCategory.REGULAR.value), accounts.c.balance),
                else_=literal_column("0"),
            )
        ),
        Points(),
    ).label("balance")
    totals = [type_coerce(func.sum(accounts.c[name]), Points()).label(name) for name in COUNTERS]
    # What the balances still hold but nobody holds at `now` (bound as "now"), from the lots:
    # REGULAR points not started or past their expiry, and points of any account past their
    # expiry that the expiry run has not debited yet. A correlated sum per account row, so the
    # counters above are not multiplied by the lots and the statement stays one; only for
    # accounts with a positive balance (an account's lots hold exactly its positive balance), so
    # the many empty accounts (categories a program does not earn into) cost nothing.
    now = bindparam("now", type_=lots.c.active_from.type)
    past_expiry = and_(lots.c.expires_at.is_not(None), lots.c.expires_at <= now)
    holds_lots = accounts.c.balance > 0
    regular_not_held = case(
        (
            and_(accounts.c.category == constant(PointsCategory.REGULAR.value), holds_lots),
            _account_lot_points(or_(lots.c.active_from > now, past_expiry)),
        ),
        else_=literal_column("0"),
    )
    past_expiry_points = case((holds_lots, _account_lot_points(past_expiry)), else_=literal_column("0"))
    return query.add_columns(
        regular_balance,
        *totals,
        type_coerce(func.sum(regular_not_held), Points()).label("regular_not_held"),
        type_coerce(func.sum(past_expiry_points), Points()).label("past_expiry"),
    ).join(
        accounts,
        and_(
            accounts.c.customer_id == customer_id,
            accounts.c.program_id == program_id,
            one_of_constants(accounts.c.category, POINTS_CATEGORY_VALUES),  # alternate currencies are not points
        ),
    )


def _account_lot_points(condition: Any) -> Any:
    """Points left in the lots of the outer query's account that meet `condition` (0 when none)."""
    return (
        select(func.coalesce(func.sum(lots.c.points_remaining), literal_column("0")))
        .where(lots.c.account_id == accounts.c.id, HAS_POINTS_LEFT, condition)
        .correlate(accounts)
        .scalar_subquery()
    )


# --- Lots -----------------------------------------------------------------------------------

_LOT_COLUMNS = (lots.c.id, lots.c.points_remaining, lots.c.active_from, lots.c.expires_at)


def _spendable(now: datetime) -> Any:
    return and_(lots.c.active_from <= now, or_(lots.c.expires_at.is_(None), lots.c.expires_at > now))


def _convertible(as_of: datetime) -> Any:
    """Lots that can convert at `as_of`: started, and not past their expiry date."""
    return and_(lots.c.active_from <= as_of, or_(lots.c.expires_at.is_(None), lots.c.expires_at > as_of))


async def lots_in_spending_order(
    connection: AsyncConnection, account_id: int, *, now: datetime, prefer_lot_ids: Sequence[int], limit: int
) -> list[tuple[int, Decimal, datetime, datetime | None]]:
    """The account's first `limit` lots with points left, in the order a debit takes them:
    `prefer_lot_ids` first, then spendable lots before the rest (pending, or past their expiry
    date but not yet expired by the expiry run), first-expiring first (never-expiring last),
    oldest first. Rows (lot id, points remaining, active from, expires at)."""
    order = [not_(_spendable(now)), lots.c.expires_at.is_(None), lots.c.expires_at, lots.c.id]
    if prefer_lot_ids:
        order.insert(0, lots.c.id.not_in(list(prefer_lot_ids)))
    rows = (
        await connection.execute(
            select(*_LOT_COLUMNS).where(lots.c.account_id == account_id, HAS_POINTS_LEFT).order_by(*order).limit(limit)
        )
    ).all()
    return [(row.id, row.points_remaining, row.active_from, row.expires_at) for row in rows]


async def lot_shares(connection: AsyncConnection, lot_ids: Sequence[int]) -> dict[int, LotShare]:
    """Lots by id with their remaining points (to name them in a debit or a reversal)."""
    if not lot_ids:
        return {}
    rows = (await connection.execute(select(*_LOT_COLUMNS).where(lots.c.id.in_(list(lot_ids))))).all()
    return {row.id: LotShare(row.id, row.points_remaining, row.active_from, row.expires_at) for row in rows}


async def open_lots(
    connection: AsyncConnection,
    account_ids: Sequence[int],
    *,
    expiring_by: datetime | None = None,
    convertible_at: datetime | None = None,
    transaction_id: int | None = None,
) -> dict[int, list[LotShare]]:
    """The lots with points left of these accounts, first-expiring first, per account; only
    those expiring at or before `expiring_by`, those that can convert at `convertible_at`
    (started and not past their expiry date), those a bill earned (`transaction_id`: the credits
    of its TRANSACTION_ADD event made them), as given."""
    conditions: list[Any] = []
    if expiring_by is not None:
        conditions.append(lots.c.expires_at <= expiring_by)
    if convertible_at is not None:
        conditions.append(_convertible(convertible_at))
    if transaction_id is not None:
        conditions.append(lots.c.entry_id.in_(_credits_of_bill(transaction_id)))
    rows = (
        await connection.execute(
            select(lots.c.id, lots.c.account_id, lots.c.points_remaining, lots.c.active_from, lots.c.expires_at)
            .where(lots.c.account_id.in_(list(account_ids)), HAS_POINTS_LEFT, *conditions)
            .order_by(lots.c.account_id, lots.c.expires_at, lots.c.id)
        )
    ).all()
    found: dict[int, list[LotShare]] = defaultdict(list)
    for row in rows:
        found[row.account_id].append(LotShare(row.id, row.points_remaining, row.active_from, row.expires_at))
    return found


def _credits_of_bill(transaction_id: int) -> Any:
    """The credit entries of the bill's TRANSACTION_ADD event: the lots they made are its points."""
    return (
        select(entries.c.id)
        .join(events, events.c.id == entries.c.event_id)
        .where(
            events.c.transaction_id == transaction_id,
            events.c.event_type == EventType.TRANSACTION_ADD.value,
            entries.c.entry_type == EntryType.CREDIT.value,
        )
    )


async def expiring_lots(connection: AsyncConnection, *, org_id: int, as_of: datetime, limit: int) -> list[Any]:
    """The org's first `limit` lots with points left that expire at or before `as_of`, soonest
    first: rows (id, account_id). Walks the partial expiry index."""
    return list(
        (
            await connection.execute(
                select(lots.c.id, lots.c.account_id)
                .where(lots.c.org_id == org_id, HAS_POINTS_LEFT, lots.c.expires_at <= as_of)
                .order_by(lots.c.expires_at, lots.c.id)
                .limit(limit)
            )
        ).all()
    )


async def lots_to_notify(
    connection: AsyncConnection, *, org_id: int, after: datetime, until: datetime, limit: int
) -> list[Any]:
    """The org's first `limit` lots with points left expiring in (after, until] whose expiry
    notice was not sent, soonest first: rows (id, customer_id, program_id, points_remaining,
    expires_at). Walks the partial expiry index."""
    return list(
        (
            await connection.execute(
                select(
                    lots.c.id, accounts.c.customer_id, accounts.c.program_id, lots.c.points_remaining, lots.c.expires_at
                )
                .join(accounts, accounts.c.id == lots.c.account_id)
                .outerjoin(notices, notices.c.lot_id == lots.c.id)
                .where(
                    lots.c.org_id == org_id,
                    HAS_POINTS_LEFT,
                    lots.c.expires_at > after,
                    lots.c.expires_at <= until,
                    notices.c.lot_id.is_(None),
                    lots.c.category.in_(POINTS_CATEGORY_VALUES),  # points.expiring is about points
                )
                .order_by(lots.c.expires_at, lots.c.id)
                .limit(limit)
            )
        ).all()
    )


@cache
def _insert_notices_statement(dialect_name: str) -> Any:
    return (
        conflict_insert(dialect_name, notices)
        .on_conflict_do_nothing(index_elements=[notices.c.lot_id])
        .returning(notices.c.lot_id)
    )


async def record_notices(
    connection: AsyncConnection, *, org_id: int, lot_ids: Sequence[int], now: datetime
) -> set[int]:
    """Mark these lots' expiry notices sent, except those another run marked first (the primary
    key decides): the lots this statement marked."""
    rows = [{"lot_id": lot_id, "org_id": org_id, "created_at": now} for lot_id in lot_ids]
    result = await connection.execute(_insert_notices_statement(connection.dialect.name), rows)
    return {row.lot_id for row in result.all()}


async def promised_lots_due(connection: AsyncConnection, *, org_id: int, as_of: datetime, limit: int) -> list[Any]:
    """The org's first `limit` PROMISED lots with points left that can convert at `as_of`, by
    start: rows (id, account_id). Walks the partial promised index."""
    return list(
        (
            await connection.execute(
                select(lots.c.id, lots.c.account_id)
                .where(
                    lots.c.org_id == org_id,
                    lots.c.category == constant(PointsCategory.PROMISED.value),
                    HAS_POINTS_LEFT,
                    _convertible(as_of),
                )
                .order_by(lots.c.active_from, lots.c.id)
                .limit(limit)
            )
        ).all()
    )


async def lot_ids_made_by(connection: AsyncConnection, entry_ids: Sequence[int]) -> tuple[int, ...]:
    """The lots these credit entries made."""
    return tuple((await connection.execute(select(lots.c.id).where(lots.c.entry_id.in_(list(entry_ids))))).scalars())


async def lots_made_by(connection: AsyncConnection, entry_ids: Sequence[int]) -> list[Any]:
    """The lots these credit entries made, by id: rows (entry_id, id, points, active_from, expires_at)."""
    return list(
        (
            await connection.execute(
                select(lots.c.entry_id, lots.c.id, lots.c.points, lots.c.active_from, lots.c.expires_at)
                .where(lots.c.entry_id.in_(list(entry_ids)))
                .order_by(lots.c.id)
            )
        ).all()
    )


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


async def lot_movements(connection: AsyncConnection, entry_ids: Sequence[int], *, taken: bool) -> list[Any]:
    """What these entries took from lots (`taken`: the negative movements) or gave back to them
    (the positive ones), in the order they moved: rows (entry_id, lot_id, points, active_from,
    expires_at, earn_entry_id) with the lot's dates and the credit that made it."""
    return list(
        (
            await connection.execute(
                select(
                    movements.c.entry_id,
                    movements.c.lot_id,
                    movements.c.points,
                    lots.c.active_from,
                    lots.c.expires_at,
                    lots.c.entry_id.label("earn_entry_id"),
                )
                .join(lots, lots.c.id == movements.c.lot_id)
                .where(
                    movements.c.entry_id.in_(list(entry_ids)),
                    movements.c.points < 0 if taken else movements.c.points > 0,
                )
                .order_by(movements.c.id)
            )
        ).all()
    )


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
            .where(lots.c.account_id.in_(list(account_ids)), HAS_POINTS_LEFT, _spendable(now))
            .group_by(lots.c.account_id)
        )
    ).all()
    found = {row.account_id: Decimal(row.points) for row in rows}
    return {account_id: found.get(account_id, ZERO) for account_id in account_ids}


# --- Events and entries ---------------------------------------------------------------------

_ADD_EVENT_OF_BILL = (
    select(events.c.id)
    .where(
        events.c.org_id == bindparam("org_id"),
        events.c.transaction_id == bindparam("bill_id"),
        events.c.event_type == EventType.TRANSACTION_ADD.value,
    )
    .order_by(events.c.id)
    .limit(1)
)
_ALLOCATIONS = select(entries.c.id, entries.c.category, entries.c.customer_id).where(
    entries.c.event_id == bindparam("event_id"), entries.c.entry_kind == constant(EntryKind.POINTS_ALLOCATION.value)
)
# In entry order: a customer with two entries in the event (an account opened at zero, then
# credited) reads the balance after the last.
_BALANCES_AFTER = (
    select(entries.c.customer_id, entries.c.balance_after)
    .where(entries.c.event_id == bindparam("event_id"))
    .order_by(entries.c.id)
)
_EVENT_SUMMARY = select(
    events.c.id,
    events.c.customer_id,
    events.c.points_on_event,
    events.c.created_at,
    events.c.customer_promotion_id,
    events.c.tracker_value_id,
).where(events.c.id == bindparam("event_id"))


async def bill_add_event_id(connection: AsyncConnection, *, org_id: int, transaction_id: int) -> int | None:
    """The bill's (first) TRANSACTION_ADD event, None when it earned nothing into the ledger."""
    return (
        await connection.execute(_ADD_EVENT_OF_BILL, {"org_id": org_id, "bill_id": transaction_id})
    ).scalar_one_or_none()


async def allocations(connection: AsyncConnection, event_id: int) -> list[Any]:
    """The event's POINTS_ALLOCATION entries: rows (id, category, customer_id: the account's holder)."""
    return list((await connection.execute(_ALLOCATIONS, {"event_id": event_id})).all())


_EVENT_CUSTOMER = select(events.c.customer_id).where(
    events.c.id == bindparam("event_id"),
    events.c.org_id == bindparam("org_id"),
    events.c.event_type == bindparam("event_type"),
)


async def event_customer(connection: AsyncConnection, *, org_id: int, event_id: int, event_type: str) -> int | None:
    """The customer of the org's event of this type with this id (None: no such event)."""
    parameters = {"event_id": event_id, "org_id": org_id, "event_type": event_type}
    return (await connection.execute(_EVENT_CUSTOMER, parameters)).scalar_one_or_none()


async def event_summary(connection: AsyncConnection, event_id: int) -> EventSummary:
    return EventSummary(*(await connection.execute(_EVENT_SUMMARY, {"event_id": event_id})).one())


async def balance_after_event(connection: AsyncConnection, event_id: int) -> Decimal:
    """The balance after the one entry of a one-entry event (an award)."""
    return (await connection.execute(_BALANCES_AFTER, {"event_id": event_id})).one().balance_after


async def balances_after_event(connection: AsyncConnection, event_id: int) -> dict[int, Decimal]:
    """The balance after each customer's entry of an event with one entry per customer (a transfer)."""
    return {
        row.customer_id: row.balance_after for row in await connection.execute(_BALANCES_AFTER, {"event_id": event_id})
    }


async def events_of_tracker_values(connection: AsyncConnection, tracker_value_ids: Sequence[int]) -> dict[int, int]:
    """The TRACKER_POINTS event of each tracked value that issued points (others are absent)."""
    if not tracker_value_ids:
        return {}
    rows = await connection.execute(
        select(events.c.tracker_value_id, events.c.id).where(events.c.tracker_value_id.in_(list(tracker_value_ids)))
    )
    return {row.tracker_value_id: row.id for row in rows}


async def customer_promotion_totals(connection: AsyncConnection, promotion_ids: Sequence[int]) -> list[Any]:
    """Per points promotion, from its CUSTOMER_PROMOTION events: rows (promotion id, points
    awarded, awards, distinct holders). Promotions without an award are absent."""
    return list(
        (
            await connection.execute(
                select(
                    events.c.customer_promotion_id,
                    type_coerce(func.sum(events.c.points_on_event), Points()),
                    func.count(),
                    func.count(events.c.customer_id.distinct()),
                )
                .where(events.c.customer_promotion_id.in_(list(promotion_ids)))
                .group_by(events.c.customer_promotion_id)
            )
        ).all()
    )


async def event_debits(connection: AsyncConnection, event_id: int) -> list[Any]:
    """The event's debits in entry order: rows (id, account_id, customer_id, program_id,
    category, points)."""
    return list(
        (
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
    )


async def debits_by_program(connection: AsyncConnection, event_id: int) -> list[Any]:
    """The event's debits by program: rows (customer_id, program_id, points)."""
    return list(
        (
            await connection.execute(
                select(entries.c.customer_id, entries.c.program_id, entries.c.points)
                .where(entries.c.event_id == event_id, entries.c.entry_type == EntryType.DEBIT.value)
                .order_by(entries.c.program_id)
            )
        ).all()
    )


async def debit_program_ids(connection: AsyncConnection, event_id: int) -> list[int]:
    """The programs the event's debits drew from, one per debit."""
    return list(
        (
            await connection.execute(
                select(entries.c.program_id).where(
                    entries.c.event_id == event_id, entries.c.entry_type == EntryType.DEBIT.value
                )
            )
        )
        .scalars()
        .all()
    )


async def debits_of_events(connection: AsyncConnection, event_ids: Sequence[int], *, kind: EntryKind) -> list[Any]:
    """These events' debits of one kind, in entry order: rows (id, event_id, program_id, points,
    balance_after)."""
    return list(
        (
            await connection.execute(
                select(
                    entries.c.id, entries.c.event_id, entries.c.program_id, entries.c.points, entries.c.balance_after
                )
                .where(
                    entries.c.event_id.in_(list(event_ids)),
                    entries.c.entry_type == EntryType.DEBIT.value,
                    entries.c.entry_kind == constant(kind.value),
                )
                .order_by(entries.c.id)
            )
        ).all()
    )


async def corrections(connection: AsyncConnection, debit_ids: Sequence[int]) -> list[Any]:
    """The entries that name these debits as what they correct: rows (id, corrects_entry_id, points)."""
    if not debit_ids:
        return []
    return list(
        (
            await connection.execute(
                select(entries.c.id, entries.c.corrects_entry_id, entries.c.points).where(
                    entries.c.corrects_entry_id.in_(list(debit_ids))
                )
            )
        ).all()
    )


async def corrections_in_events(
    connection: AsyncConnection, event_ids: Sequence[int], *, kind: EntryKind, corrected_ids: Sequence[int]
) -> list[Any]:
    """These events' entries of one kind correcting any of `corrected_ids`, in entry order: rows
    (id, event_id, program_id, corrects_entry_id)."""
    return list(
        (
            await connection.execute(
                select(entries.c.id, entries.c.event_id, entries.c.program_id, entries.c.corrects_entry_id)
                .where(
                    entries.c.event_id.in_(list(event_ids)),
                    entries.c.entry_kind == constant(kind.value),
                    entries.c.corrects_entry_id.in_(list(corrected_ids)),
                )
                .order_by(entries.c.id)
            )
        ).all()
    )


# --- Ledger pages and balances --------------------------------------------------------------


def _view_values(view: LedgerFilter) -> dict[str, Any]:
    """The view's values by bind parameter name; None where the view sets no condition. The
    conditions take their values as named bind parameters, so a statement built for one view
    serves every view of the same shape (which names are set) with these values."""
    currency = view.currency_category
    in_programs = bool(view.program_ids)
    return {
        "view_sources": list(view.sources) or None,
        "view_till_ids": list(view.till_ids) or None,
        "view_start": view.start,
        "view_end": view.end,
        "view_entry_type": view.entry_type.value if view.entry_type is not None else None,
        "view_subledger_ids": list(view.subledger_ids) or None,
        "view_entry_kinds": [kind.value for kind in view.entry_kinds] or None,
        # A ledger view is of points, or of one alternate currency: never both (their units differ).
        "view_currency_category": currency,
        "view_categories": None
        if currency is not None
        else [category.value for category in view.categories] or list(POINTS_CATEGORY_VALUES),
        "view_program_ids": list(view.program_ids) or None,
        "view_concept_till_ids": list(view.concept_till_ids) if in_programs and view.concept_till_ids else None,
    }


def _shape(values: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for name, value in values.items() if value is not None)


def _bound(values: dict[str, Any], name: str) -> Any:
    return bindparam(name, values[name], expanding=isinstance(values[name], list))


def _filter_conditions(values: dict[str, Any]) -> list[Any]:
    """The conditions of a view (its `_view_values`) on entries."""
    conditions: list[Any] = []
    if values["view_sources"] is not None:
        conditions.append(entries.c.source.in_(_bound(values, "view_sources")))
    if values["view_till_ids"] is not None:
        conditions.append(entries.c.till_id.in_(_bound(values, "view_till_ids")))
    if values["view_start"] is not None:
        conditions.append(entries.c.created_at >= _bound(values, "view_start"))
    if values["view_end"] is not None:
        conditions.append(entries.c.created_at < _bound(values, "view_end"))
    if values["view_entry_type"] is not None:
        conditions.append(entries.c.entry_type == _bound(values, "view_entry_type"))
    if values["view_subledger_ids"] is not None:
        conditions.append(_touches_subledgers(_bound(values, "view_subledger_ids")))
    if values["view_entry_kinds"] is not None:
        conditions.append(entries.c.entry_kind.in_(_bound(values, "view_entry_kinds")))
    conditions.extend(_account_conditions(values, concept_events=True))
    return conditions


def _touches_subledgers(subledger_ids: Any) -> ColumnElement[bool]:
    """The entry made a lot of these subledgers, or moved points of one (both by the entry's id:
    lots and movements are indexed by entry)."""
    in_subledgers = lots.c.subledger_id.in_(subledger_ids)
    return or_(
        select(lots.c.id).where(lots.c.entry_id == entries.c.id, in_subledgers).exists(),
        select(movements.c.id)
        .join(lots, lots.c.id == movements.c.lot_id)
        .where(movements.c.entry_id == entries.c.id, in_subledgers)
        .exists(),
    )


def _account_conditions(values: dict[str, Any], *, concept_events: bool = False) -> list[Any]:
    """`concept_events`: the program filter lets the concept tills' group redemptions through
    (entries only; a closing balance still sums the filtered programs' accounts)."""
    conditions: list[Any] = []
    if values["view_currency_category"] is not None:
        conditions.append(entries.c.category == _bound(values, "view_currency_category"))
    else:
        conditions.append(entries.c.category.in_(_bound(values, "view_categories")))
    if values["view_program_ids"] is not None:
        in_programs: ColumnElement[bool] = entries.c.program_id.in_(_bound(values, "view_program_ids"))
        if concept_events and values["view_concept_till_ids"] is not None:
            in_programs = or_(
                in_programs,
                and_(
                    entries.c.event_type == EventType.POINTS_REDEMPTION.value,
                    entries.c.till_id.in_(_bound(values, "view_concept_till_ids")),
                ),
            )
        conditions.append(in_programs)
    return conditions


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
    events.c.reason,
    events.c.import_job_id,
)


# A page's statement per shape of view (which of `_view_values` are set) and cursor: at most a few
# dozen in practice (2^12 in theory), each built once.
_page_statements: dict[tuple[tuple[str, ...], bool], Any] = {}


def _page_statement(values: dict[str, Any], has_cursor: bool) -> Any:
    """The statement of a page for every view of this one's shape, built once: building and keying
    it cost about 0.2-0.3 ms of a page. This view's values are only its bind parameters' defaults:
    `ledger_page` passes every value when it executes it."""
    key = (_shape(values), has_cursor)
    found = _page_statements.get(key)
    if found is not None:
        return found
    conditions = [
        entries.c.org_id == bindparam("page_org_id"),
        entries.c.customer_id == bindparam("page_customer_id"),
        *_filter_conditions(values),
    ]
    if has_cursor:
        conditions.append(entries.c.id < bindparam("page_after_id"))
    built = _page_statements[key] = brief_read(
        select(*_PAGE_COLUMNS)
        .join(events, events.c.id == entries.c.event_id)
        .where(*conditions)
        .order_by(entries.c.id.desc())
        .limit(bindparam("page_limit", type_=Integer))
    )
    return built


async def ledger_page(
    connection: AsyncConnection, *, org_id: int, customer_id: int, view: LedgerFilter, first: int, after_id: int | None
) -> LedgerPage:
    """Newest first, by entry id (entries are written in time order), keyset-paginated."""
    assert 1 <= first <= READ_PAGE_SIZE_MAX
    values = _view_values(view)
    statement = _page_statement(values, after_id is not None)
    parameters = {name: value for name, value in values.items() if value is not None}
    parameters.update(page_org_id=org_id, page_customer_id=customer_id, page_limit=first + 1)
    if after_id is not None:
        parameters["page_after_id"] = after_id
    rows = (await connection.execute(statement, parameters)).all()
    page = [LedgerEntryView(*row) for row in rows[:first]]
    return LedgerPage(entries=page, has_next_page=len(rows) > first)


# --- A customer's transfers (points and alternate currencies) --------------------------------

# Both kinds of transfer write one POINTS_TRANSFER debit (the sender's) and one credit (the
# receiver's), and no other event writes that kind: the partial indexes' predicate, with a
# literal (not a bound parameter) so that SQLite's planner and PostgreSQL's generic plans see a
# query implies it.
_other_side = entries.alias("other_side")
_TRANSFER_SIDES = (
    entries.c.entry_kind == constant(EntryKind.POINTS_TRANSFER.value),
    _other_side.c.entry_kind == constant(EntryKind.POINTS_TRANSFER.value),
)


@cache
def _transfers_statement(has_cursor: bool, by_category: bool, currencies_only: bool) -> Any:
    """A customer's transfer entries newest first by event, each with the other party's customer:
    one walk of ix_ledger_entries_transfers, one probe of ix_ledger_entries_event_id per row."""
    conditions = [
        entries.c.org_id == bindparam("org_id"),
        entries.c.customer_id == bindparam("customer_id"),
        _TRANSFER_SIDES[0],
    ]
    if has_cursor:
        conditions.append(entries.c.event_id < bindparam("before_event_id"))
    if by_category:
        conditions.append(entries.c.category == bindparam("category"))
    if currencies_only:
        conditions.append(entries.c.category.startswith(CURRENCY_CATEGORY_PREFIX, autoescape=True))
    other_side = and_(
        _other_side.c.event_id == entries.c.event_id,
        _TRANSFER_SIDES[1],
        _other_side.c.org_id == entries.c.org_id,
        _other_side.c.entry_type != entries.c.entry_type,
    )
    return (
        select(
            entries.c.event_id,
            entries.c.entry_type,
            entries.c.program_id,
            entries.c.category,
            entries.c.points,
            entries.c.created_at,
            _other_side.c.customer_id,
        )
        .select_from(entries.join(_other_side, other_side))
        .where(*conditions)
        .order_by(entries.c.event_id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


async def customer_transfer_entries(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    categories: TransferCategories,
    limit: int,
    before_event_id: int | None,
) -> list[TransferEntryView]:
    """The transfers a customer sent or received, of points and of alternate currencies, newest
    first by event (keyset: older than `before_event_id`), at most `limit`, in one statement."""
    statement = _transfers_statement(
        before_event_id is not None, categories.category is not None, categories.currencies_only
    )
    parameters: dict[str, Any] = {"org_id": org_id, "customer_id": customer_id, "limit": limit}
    if before_event_id is not None:
        parameters["before_event_id"] = before_event_id
    if categories.category is not None:
        parameters["category"] = categories.category
    return [TransferEntryView(*row) for row in await connection.execute(statement, parameters)]


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
                entries.c.org_id == org_id,
                entries.c.customer_id == customer_id,
                *_filter_conditions(_view_values(view)),
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
            *_account_conditions(_view_values(view)),
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


def _sum_lot_points(condition: Any) -> Any:
    return type_coerce(
        func.coalesce(func.sum(case((condition, lots.c.points_remaining), else_=literal_column("0"))), 0), Points()
    )


def _account_holdings_statement(*, currencies: bool) -> Any:
    now = bindparam("now", type_=UTCDateTime())
    active = lots.c.active_from <= now
    not_past_expiry = or_(lots.c.expires_at.is_(None), lots.c.expires_at > now)
    points_categories = accounts.c.category.in_(POINTS_CATEGORY_VALUES)
    return brief_read(
        select(
            accounts.c.customer_id,
            accounts.c.program_id,
            accounts.c.category,
            accounts.c.balance,
            accounts.c.earned,
            accounts.c.redeemed,
            accounts.c.expired,
            accounts.c.returned,
            _sum_lot_points(and_(lots.c.active_from > now, not_past_expiry)).label("pending"),
            _sum_lot_points(and_(active, not_past_expiry)).label("spendable"),
            _sum_lot_points(not_(not_past_expiry)).label("past_expiry"),
        )
        .select_from(accounts.outerjoin(lots, and_(lots.c.account_id == accounts.c.id, HAS_POINTS_LEFT)))
        .where(
            accounts.c.org_id == bindparam("org_id"),
            accounts.c.customer_id.in_(bindparam("customer_ids", expanding=True)),
            not_(points_categories) if currencies else points_categories,
        )
        .group_by(accounts.c.id)
        .order_by(accounts.c.customer_id, accounts.c.program_id, accounts.c.category)
    )


# Built once (a customer's summaries read them on every request): points accounts, currency accounts.
_ACCOUNT_HOLDINGS = {currencies: _account_holdings_statement(currencies=currencies) for currencies in (False, True)}


async def account_holdings(
    connection: AsyncConnection, org_id: int, customer_ids: Sequence[int], now: datetime, *, currencies: bool = False
) -> list[Any]:
    """Every points account of these customers (`currencies`: every alternate currency account
    instead) with its balance, counters and its lots' points pending (not active yet, not past
    their expiry), spendable (active, not past their expiry date) and past their expiry (not yet
    debited by the expiry run): rows (customer_id, program_id, category, balance, earned, redeemed,
    expired, returned, pending, spendable, past_expiry) by customer, program and category, in one
    query for any number of customers."""
    if not customer_ids:
        return []
    parameters = {"org_id": org_id, "customer_ids": list(customer_ids), "now": now}
    return list((await connection.execute(_ACCOUNT_HOLDINGS[currencies], parameters)).all())


_SUBLEDGER_NOW = bindparam("now", type_=UTCDateTime())
_SUBLEDGER_HOLDINGS = brief_read(
    select(
        accounts.c.customer_id,
        accounts.c.program_id,
        lots.c.subledger_id,
        _sum_lot_points(lots.c.active_from > _SUBLEDGER_NOW).label("pending"),
        _sum_lot_points(lots.c.active_from <= _SUBLEDGER_NOW).label("spendable"),
    )
    .select_from(accounts.join(lots, lots.c.account_id == accounts.c.id))
    .where(
        accounts.c.org_id == bindparam("org_id"),
        accounts.c.customer_id.in_(bindparam("customer_ids", expanding=True)),
        lots.c.subledger_id.is_not(None),
        HAS_POINTS_LEFT,
        or_(lots.c.expires_at.is_(None), lots.c.expires_at > _SUBLEDGER_NOW),
    )
    .group_by(accounts.c.customer_id, accounts.c.program_id, lots.c.subledger_id)
    .order_by(accounts.c.customer_id, accounts.c.program_id, lots.c.subledger_id)
)


async def subledger_holdings(
    connection: AsyncConnection, org_id: int, customer_ids: Sequence[int], now: datetime
) -> list[Any]:
    """Per customer, program and subledger, the points of their lots with points left that are
    pending (not active yet) and spendable (active, not past their expiry date): rows
    (customer_id, program_id, subledger_id, pending, spendable), one query for any number of
    customers. Only lots in a subledger; a subledger whose lots are all spent or expired is absent."""
    if not customer_ids:
        return []
    parameters = {"org_id": org_id, "customer_ids": list(customer_ids), "now": now}
    return list((await connection.execute(_SUBLEDGER_HOLDINGS, parameters)).all())


async def consumed_lots(connection: AsyncConnection, org_id: int, entry_ids: Sequence[int]) -> list[ConsumedLot]:
    """The lot trace of these entries: each lot an entry took points from (a negative movement),
    with the credit that made the lot, in lot order per entry. One query for any number of entries."""
    if not entry_ids:
        return []
    earns = entries.alias("earns")
    rows = await connection.execute(
        select(
            movements.c.entry_id,
            lots.c.entry_id,
            earns.c.event_id,
            -movements.c.points,
            earns.c.created_at,
            lots.c.active_from,
            lots.c.expires_at,
            lots.c.subledger_id,
        )
        .select_from(movements.join(lots, lots.c.id == movements.c.lot_id).join(earns, earns.c.id == lots.c.entry_id))
        .where(movements.c.org_id == org_id, movements.c.entry_id.in_(list(entry_ids)), movements.c.points < 0)
        .order_by(movements.c.entry_id, movements.c.id)
    )
    return [ConsumedLot(*row) for row in rows]


async def points_expiring_after(connection: AsyncConnection, customer_ids: Sequence[int], now: datetime) -> list[Any]:
    """Points in lots with points left that expire after `now`, summed per customer, program and
    expiry time: rows (customer_id, program_id, expires_at, points), one query for any number."""
    return list(
        (
            await connection.execute(
                select(
                    accounts.c.customer_id,
                    accounts.c.program_id,
                    lots.c.expires_at,
                    type_coerce(func.sum(lots.c.points_remaining), Points()).label("points"),
                )
                .join(accounts, accounts.c.id == lots.c.account_id)
                .where(
                    accounts.c.customer_id.in_(list(customer_ids)),
                    HAS_POINTS_LEFT,
                    lots.c.expires_at > now,
                    lots.c.category.in_(POINTS_CATEGORY_VALUES),
                )
                .group_by(accounts.c.customer_id, accounts.c.program_id, lots.c.expires_at)
            )
        ).all()
    )


async def expiry_entries(
    connection: AsyncConnection, customer_ids: Sequence[int], *, first: int, after_id: int | None
) -> list[Any]:
    """Each customer's POINTS_EXPIRY entries newest first, at most `first` + 1 per customer after
    entry `after_id`: rows (id, event_id, customer_id, program_id, category, points, created_at)
    by customer, one query for any number of customers (a window per customer)."""
    conditions = [
        entries.c.customer_id.in_(list(customer_ids)),
        entries.c.entry_kind == constant(EntryKind.POINTS_EXPIRY.value),
        entries.c.category.in_(POINTS_CATEGORY_VALUES),
    ]
    if after_id is not None:
        conditions.append(entries.c.id < after_id)
    numbered = (
        select(
            entries.c.id,
            entries.c.event_id,
            entries.c.customer_id,
            entries.c.program_id,
            entries.c.category,
            entries.c.points,
            entries.c.created_at,
            func.row_number().over(partition_by=entries.c.customer_id, order_by=entries.c.id.desc()).label("position"),
        )
        .where(*conditions)
        .subquery()
    )
    return list(
        (
            await connection.execute(
                select(numbered)
                .where(numbered.c.position <= first + 1)
                .order_by(numbered.c.customer_id, numbered.c.id.desc())
            )
        ).all()
    )


# --- Reconciliation -------------------------------------------------------------------------


async def count_accounts(connection: AsyncConnection, *, org_id: int) -> int:
    return (
        await connection.execute(select(func.count()).select_from(accounts).where(accounts.c.org_id == org_id))
    ).scalar_one()


async def accounts_with_entry_sums(connection: AsyncConnection, *, org_id: int | None) -> list[Any]:
    """Every account (of one org, or all) with what its entries add up to: mappings of the
    account's columns, `sum_balance` and `sum_<counter>` for each counter (by `COUNTER_BY_KIND`),
    `last_balance_after` (its last entry's; None without entries) and `lots_total` (the points
    left in its lots), in account id order."""

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
    return list((await connection.execute(query)).mappings())


async def lots_out_of_step(connection: AsyncConnection, *, org_id: int | None) -> list[Any]:
    """Lots whose points left differ from their points plus their movements: rows (id, points,
    points_remaining, moved, customer_id, program_id, category, account_id)."""
    moved = type_coerce(func.coalesce(func.sum(movements.c.points), 0), Points())
    query = (
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
        query = query.where(lots.c.org_id == org_id)
    return list((await connection.execute(query)).all())


# --- Many credits at once (credits.post_credits) --------------------------------------------

# Every points column the bulk credits write shares one scale: one converter serves them all.
_POINTS_COLUMNS = (
    accounts.c.balance,
    accounts.c.earned,
    entries.c.points,
    entries.c.balance_after,
    lots.c.points,
    lots.c.points_remaining,
    movements.c.points,
)
_POINTS_SCALES = {column.type.scale for column in _POINTS_COLUMNS if isinstance(column.type, FixedDecimal)}
assert len(_POINTS_SCALES) == 1, "one scale for every points column"
assert all(isinstance(column.type, FixedDecimal) for column in _POINTS_COLUMNS)
(STORED_POINTS_SCALE,) = _POINTS_SCALES

# Events, entries and lots go in with ids reserved first (app.storage.id_blocks: RETURNING many rows in
# order runs one row per statement on SQLite) and straight to the driver (app.storage.bulk_insert).
_CREDIT_EVENT_COLUMNS = (
    *_REGISTRATION_EVENT_COLUMNS,
    "customer_promotion_id",
    "tracker_value_id",
    "import_job_id",
    "reason",
)
_CREDIT_ENTRY_COLUMNS = ("id", *_OPENING_ENTRY_COLUMNS)  # bulk credits reserve their entry ids
_CREDIT_LOT_COLUMNS = (
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
# Enum members to the text stored: `.value` is a descriptor call, a dict lookup is not.
_STORED_TEXT: dict[Any, str] = {
    member: member.value for enum in (EventType, EntryKind, PointsCategory) for member in enum
}


def stored_points(connection: AsyncConnection) -> Callable[[Decimal], int]:
    """Points as this connection's driver stores them (a scaled integer): the bulk credits plan
    in these, so no Decimal arithmetic runs per row."""
    return driver_value(connection, entries, "points")


@lru_cache(maxsize=4)
def _lock_stored_balances_statement(dialect: str) -> Any:
    # No column types: the driver's values are the stored scaled integers, with no Decimal made
    # and turned back per account (a million-row import locks its accounts batch after batch).
    lock = " FOR UPDATE" if dialect == "postgresql" else ""
    return text(
        f"SELECT id, balance FROM {accounts.name} WHERE id {any_of(dialect, 'ids', 'bigint')} ORDER BY id{lock}"
    )


async def lock_stored_balances(connection: AsyncConnection, account_ids: Sequence[int]) -> dict[int, int]:
    """Lock these accounts in id order (one statement, the ids bound as one list); their
    balances as stored."""
    if not account_ids:
        return {}
    dialect = connection.dialect.name
    statement = _lock_stored_balances_statement(dialect)
    rows = await connection.execute(statement, {"ids": list_parameter(dialect, sorted(account_ids))})
    return dict(rows.all())


async def stored_balances(connection: AsyncConnection, account_ids: Sequence[int]) -> dict[int, int]:
    """These accounts' balances as stored, unlocked (what a dry run plans with)."""
    points_value = stored_points(connection)
    rows = (
        await connection.execute(select(accounts.c.id, accounts.c.balance).where(accounts.c.id.in_(list(account_ids))))
    ).all()
    return {row.id: points_value(row.balance) for row in rows}


async def opening_balance_dates(
    connection: AsyncConnection, *, org_id: int, account_ids: Sequence[int]
) -> dict[int, datetime]:
    """When each account's imported opening balance (a POINTS_LEDGER_BULK_JOB credit) was taken:
    its lot's start, the `asof` of the other system's balance (accounts without one are absent)."""
    if not account_ids:
        return {}
    rows = (
        await connection.execute(
            select(lots.c.account_id, func.min(lots.c.active_from).label("as_of"))
            .join(entries, entries.c.id == lots.c.entry_id)
            .where(
                lots.c.org_id == org_id,
                lots.c.account_id.in_(list(account_ids)),
                entries.c.event_type == EventType.POINTS_LEDGER_BULK_JOB.value,
            )
            .group_by(lots.c.account_id)
        )
    ).all()
    return {row.account_id: row.as_of for row in rows}


async def event_types_on_accounts(
    connection: AsyncConnection, account_ids: Sequence[int], *, besides: EventType
) -> dict[int, set[str]]:
    """The event types of each account's entries other than `besides`, in one statement (accounts
    with none are absent)."""
    if not account_ids:
        return {}
    rows = (
        await connection.execute(
            select(entries.c.account_id, entries.c.event_type)
            .distinct()
            .where(entries.c.account_id.in_(list(account_ids)), entries.c.event_type != besides.value)
        )
    ).all()
    found: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        found[row.account_id].add(row.event_type)
    return found


async def insert_credits(
    connection: AsyncConnection,
    *,
    org_id: int,
    credits: Sequence[CreditDraft],
    order: Sequence[int],
    planned: Sequence[tuple[int, int, int]],
    now: datetime,
) -> tuple[list[int], list[int], list[int]]:
    """Write one event, entry and lot per credit, and a movement for each lot that paid a debt,
    each table in one executemany with ids reserved first.

    `order`: the credits' indexes in the order their entries and lots are written (ids follow
    it; events take theirs in the order given). `planned[index]`: the credit's (points, balance
    after, points paid to the debt), stored (`stored_points`). Returns the event ids and entry
    ids, both by credit index, and the lot ids by credit index.
    """
    time_value = driver_value(connection, lots, "active_from")
    event_ids = await reserve_ids(connection, events, len(credits))
    entry_ids = await reserve_ids(connection, entries, len(credits))
    lot_ids = await reserve_ids(connection, lots, len(credits))
    stamp = time_value(now)
    credit_type = EntryType.CREDIT.value
    event_rows: list[tuple[Any, ...]] = [()] * len(credits)
    entry_rows, lot_rows, paid_rows = [], [], []
    entry_by_index = [0] * len(credits)
    lot_by_index = [0] * len(credits)
    for position, index in enumerate(order):
        credit = credits[index]
        account = credit.account
        points, balance_after, paid = planned[index]
        event_id, entry_id, lot_id = event_ids[index], entry_ids[position], lot_ids[position]
        entry_by_index[index] = entry_id
        lot_by_index[index] = lot_id
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
    await insert_rows(connection, events, _CREDIT_EVENT_COLUMNS, event_rows, converted=True)
    await insert_rows(connection, entries, _CREDIT_ENTRY_COLUMNS, entry_rows, converted=True)
    await insert_rows(connection, lots, _CREDIT_LOT_COLUMNS, lot_rows, converted=True)
    await insert_rows(connection, movements, ("org_id", "lot_id", "entry_id", "points"), paid_rows, converted=True)
    return event_ids, entry_by_index, lot_by_index


async def insert_expiries_at_once(
    connection: AsyncConnection,
    *,
    org_id: int,
    expiries: Sequence[tuple[AccountRef, int, int, int, datetime | None]],
    import_job_ids: Sequence[int | None],
) -> None:
    """Expire lots just credited in this transaction: per (account, lot id, points, balance after,
    expires at), stored, one POINTS_EXPIRY event and debit entry dated at the lot's expiry that
    empties the lot (`insert_debits`). The caller moves the accounts' balances and `expired`
    counters (`add_to_accounts`)."""
    await insert_debits(
        connection,
        org_id=org_id,
        debits=[
            # No source, store, till, bill or correction; the job that imported the lot, no reason.
            StoredDebit(
                account,
                EventType.POINTS_EXPIRY,
                EntryKind.POINTS_EXPIRY,
                points,
                balance_after,
                expires_at,
                ((lot_id, points),),
                job_id,
            )
            for (account, lot_id, points, balance_after, expires_at), job_id in zip(
                expiries, import_job_ids, strict=True
            )
        ],
    )


async def insert_debits(connection: AsyncConnection, *, org_id: int, debits: Sequence[StoredDebit]) -> None:
    """Write one event and debit entry per debit (in the order given: ids follow it), each lot
    movement it planned and the lots' remaining points; each table in one executemany with ids
    reserved first. The caller moves the accounts (`add_to_accounts`)."""
    time_value = driver_value(connection, lots, "active_from")
    event_ids = await reserve_ids(connection, events, len(debits))
    entry_ids = await reserve_ids(connection, entries, len(debits))
    debit_type = EntryType.DEBIT.value
    event_rows, entry_rows, movement_rows, lot_changes = [], [], [], []
    for debit, event_id, entry_id in zip(debits, event_ids, entry_ids, strict=True):
        account = debit.account
        stamp = time_value(debit.at)
        event_type = _STORED_TEXT[debit.event_type]
        event_rows.append(
            # No source, store, till, bill or correction.
            (
                event_id,
                org_id,
                event_type,
                account.customer_id,
                *(None,) * 6,
                -debit.points,
                stamp,
                None,
                None,
                debit.import_job_id,
                debit.reason,
            )
        )
        entry_rows.append(
            (
                entry_id,
                org_id,
                event_id,
                account.id,
                account.customer_id,
                account.program_id,
                _STORED_TEXT[account.category],
                event_type,
                None,
                None,
                None,
                debit_type,
                _STORED_TEXT[debit.entry_kind],
                debit.points,
                debit.balance_after,
                None,
                stamp,
            )
        )
        for lot_id, points in debit.taken:
            movement_rows.append((org_id, lot_id, entry_id, -points))
            lot_changes.append((-points, lot_id))
    await insert_rows(connection, events, _CREDIT_EVENT_COLUMNS, event_rows, converted=True)
    await insert_rows(connection, entries, _CREDIT_ENTRY_COLUMNS, entry_rows, converted=True)
    await insert_rows(connection, movements, ("org_id", "lot_id", "entry_id", "points"), movement_rows, converted=True)
    await add_to_rows(connection, lots, ("points_remaining",), lot_changes, converted=True)


async def add_to_accounts(connection: AsyncConnection, moved: dict[tuple[int, str | None], tuple[int, int]]) -> None:
    """Add to accounts' balances and counters, stored: (account id, counter or None) -> (to the
    balance, to the counter). One executemany per counter, accounts in id order."""
    by_counter: dict[str | None, list[tuple[Any, ...]]] = defaultdict(list)
    for (account_id, counter), (amount, counted) in sorted(moved.items(), key=lambda item: item[0][0]):
        by_counter[counter].append((amount, account_id) if counter is None else (amount, counted, account_id))
    for counter, rows in by_counter.items():
        await add_to_rows(
            connection, accounts, ("balance",) if counter is None else ("balance", counter), rows, converted=True
        )


async def customer_promotion_credits(
    connection: AsyncConnection, *, org_id: int, customer_id: int, limit: int, before_entry_id: int | None
) -> list[Any]:
    """The customer's CUSTOMER_PROMOTION credits newest first by entry id (keyset: before
    `before_entry_id`), at most `limit`: rows (entry_id, event_id, program_id, points, store_id,
    till_id, created_at, customer_promotion_id, import_job_id). Walks the entries'
    (customer_id, id) index; the event adds the promotion and the import job."""
    conditions = [
        entries.c.org_id == org_id,
        entries.c.customer_id == customer_id,
        entries.c.event_type == EventType.CUSTOMER_PROMOTION.value,
        entries.c.entry_type == EntryType.CREDIT.value,
    ]
    if before_entry_id is not None:
        conditions.append(entries.c.id < before_entry_id)
    statement = (
        select(
            entries.c.id.label("entry_id"),
            entries.c.event_id,
            entries.c.program_id,
            entries.c.points,
            entries.c.store_id,
            entries.c.till_id,
            entries.c.created_at,
            events.c.customer_promotion_id,
            events.c.import_job_id,
        )
        .join(events, events.c.id == entries.c.event_id)
        .where(*conditions)
        .order_by(entries.c.id.desc())
        .limit(limit)
    )
    return list((await connection.execute(statement)).all())
