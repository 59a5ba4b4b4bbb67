"""The transactions' data access: bills and their line items, what returns move on them, and the
bill facts other domains ask for (trackers, conversions).

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables; the statements
addTransaction and returnTransaction run are built once, at import. Functions return plain
values and rows: no other domain names a transactions table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, insert, or_, select, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.database import one_of_constants, pairs_in
from app.storage.direct_statements import brief_read, direct
from app.storage.tables import table_of
from app.transactions.models import Transaction, TransactionLineItem, TransactionType

transactions = table_of(Transaction)
line_items = table_of(TransactionLineItem)

PURCHASE_TYPES = (TransactionType.REGULAR.value, TransactionType.NOT_INTERESTED.value)
RETURN_TYPES = (
    TransactionType.RETURN.value,
    TransactionType.NOT_INTERESTED_RETURN.value,
    TransactionType.MIXED.value,
)
CHUNK = 500  # ids or keys per lookup statement (well under every driver's parameter limit)


# --- Adding a bill ---------------------------------------------------------------------------

# Hot-path statements are built once: building a statement costs more than running it here.
_INSERT_TRANSACTION = direct(insert(transactions).returning(transactions.c.id))
_INSERT_LINE_ITEMS = direct(insert(line_items))
_SAME_BILL = direct(
    select(transactions.c.id, transactions.c.payload_hash)
    .where(
        transactions.c.org_id == bindparam("org_id"),
        transactions.c.store_id == bindparam("store_id"),
        transactions.c.number == bindparam("number"),
        transactions.c.billing_time > bindparam("billed_after"),
        transactions.c.billing_time < bindparam("billed_before"),
        # A return carries the number of the bill it returns: it is not another bill under that number.
        one_of_constants(transactions.c.type, PURCHASE_TYPES),
    )
    .order_by(transactions.c.id)
    .limit(1)
)
_TRANSACTION = select(transactions).where(transactions.c.id == bindparam("transaction_id"))


async def same_bill(
    connection: AsyncConnection,
    *,
    org_id: int,
    store_id: int,
    number: str,
    billed_after: datetime,
    billed_before: datetime,
) -> Any:
    """The first purchase under this number in this store billed strictly between the two times:
    a row (id, payload_hash), None when there is none."""
    parameters = {
        "org_id": org_id,
        "store_id": store_id,
        "number": number,
        "billed_after": billed_after,
        "billed_before": billed_before,
    }
    return (await connection.execute(_SAME_BILL, parameters)).one_or_none()


async def insert_transaction(connection: AsyncConnection, values: Mapping[str, Any]) -> int:
    """A bill or a return (the transactions columns by name); its id."""
    return (await connection.execute(_INSERT_TRANSACTION, values)).scalar_one()


async def insert_line_items(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Line items of one bill, in one executemany."""
    await connection.execute(_INSERT_LINE_ITEMS, rows)


# --- Reading bills ---------------------------------------------------------------------------


async def transaction_row(connection: AsyncConnection, transaction_id: int) -> Any:
    """The bill's (or return's) row, every column; it must exist."""
    return (await connection.execute(_TRANSACTION, {"transaction_id": transaction_id})).one()


CUSTOMERS_PER_STATEMENT_MAX = 100  # a page of customers; well under SQLite's 500 compound SELECTs


@cache
def _customers_transactions_statement(customers: int, *, before: bool, typed: bool) -> Any:
    """A page of bills per customer for 1 to CUSTOMERS_PER_STATEMENT_MAX customers, with or without
    a cursor and a type filter: each shape's statement built once (building the UNION of
    subqueries cost more than running it)."""
    conditions = [transactions.c.org_id == bindparam("org_id")]
    if before:
        conditions.append(transactions.c.id < bindparam("before_id"))
    if typed:
        conditions.append(transactions.c.type.in_(bindparam("types", expanding=True)))
    pages = [
        select(
            select(transactions)
            .where(transactions.c.customer_id == bindparam(f"customer_{number}"), *conditions)
            .order_by(transactions.c.id.desc())
            .limit(bindparam("limit", type_=Integer))
            .subquery()
        )
        for number in range(customers)
    ]
    return brief_read(pages[0] if customers == 1 else union_all(*pages))


async def customers_transactions(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_ids: Sequence[int],
    limit: int,
    before_id: int | None,
    types: Sequence[str],
) -> list[Any]:
    """Up to `limit` bills of each of these customers (rows, every column), newest first below
    `before_id`, of these `types` (empty: any). One statement per 100 customers: a UNION ALL of one
    LIMITed walk of ix_transactions_customer (customer_id, id) per customer, so a customer with a
    long history costs a page, not the history (a window over each customer's bills would read
    them all)."""
    common: dict[str, Any] = {"org_id": org_id, "limit": limit}
    if before_id is not None:
        common["before_id"] = before_id
    if types:
        common["types"] = list(types)
    rows: list[Any] = []
    ids = list(dict.fromkeys(customer_ids))
    for start in range(0, len(ids), CUSTOMERS_PER_STATEMENT_MAX):
        chunk = ids[start : start + CUSTOMERS_PER_STATEMENT_MAX]
        statement = _customers_transactions_statement(len(chunk), before=before_id is not None, typed=bool(types))
        parameters = {**common, **{f"customer_{number}": customer_id for number, customer_id in enumerate(chunk)}}
        rows.extend((await connection.execute(statement, parameters)).all())
    return rows


_BILL_NUMBERS = brief_read(
    select(transactions.c.id, transactions.c.number).where(transactions.c.id.in_(bindparam("ids", expanding=True)))
)
_LINE_ITEMS_OF = brief_read(
    select(line_items)
    .where(line_items.c.transaction_id.in_(bindparam("ids", expanding=True)))
    .order_by(line_items.c.transaction_id, line_items.c.serial, line_items.c.id)
)


async def bill_numbers(connection: AsyncConnection, transaction_ids: Sequence[int]) -> dict[int, str]:
    """The numbers of many bills, in one statement."""
    if not transaction_ids:
        return {}
    rows = await connection.execute(_BILL_NUMBERS, {"ids": list(transaction_ids)})
    return {row.id: row.number for row in rows}


async def line_items_of(connection: AsyncConnection, transaction_ids: Sequence[int]) -> list[Any]:
    """The line items of many bills (rows, every column), by bill, serial and id, in one statement."""
    if not transaction_ids:
        return []
    return list((await connection.execute(_LINE_ITEMS_OF, {"ids": list(transaction_ids)})).all())


# --- Returns ---------------------------------------------------------------------------------

_BILL_TO_RETURN = (
    select(transactions)
    .where(
        transactions.c.org_id == bindparam("org_id"),
        transactions.c.store_id == bindparam("store_id"),
        transactions.c.number == bindparam("number"),
        transactions.c.type.in_(PURCHASE_TYPES),
        transactions.c.billing_time >= bindparam("purchase_from"),
        transactions.c.billing_time < bindparam("purchase_until"),
    )
    .order_by(transactions.c.id)
    .limit(1)
)
_SAME_RETURN = (
    select(transactions.c.id, transactions.c.payload_hash)
    .where(
        transactions.c.parent_transaction_id == bindparam("bill_id"),
        transactions.c.type.in_(RETURN_TYPES),
        transactions.c.parent_bill_number == bindparam("return_number"),
    )
    .order_by(transactions.c.id)
    .limit(1)
)
_BILL_LINES = (
    select(
        line_items.c.serial,
        line_items.c.item_code,
        line_items.c.variant,
        line_items.c.qty,
        line_items.c.returned_qty,
        line_items.c.amount,
        line_items.c.outlier_status,
        line_items.c.product_id,
        line_items.c.rate,
        line_items.c.value,
        line_items.c.discount,
        line_items.c.description,
        line_items.c.addon_items,
        line_items.c.combo_items,
        line_items.c.split_items,
    )
    .where(line_items.c.transaction_id == bindparam("bill_id"))
    .order_by(line_items.c.serial)
)


def _amount_parameter(name: str) -> Any:
    return bindparam(name, type_=transactions.c.amount.type)


def _points_parameter(name: str) -> Any:
    return bindparam(name, type_=transactions.c.points_earned.type)


# The bill's counters move only while they stay within the bill: the guard backs the bill's lock.
_MOVE_BILL = (
    update(transactions)
    .where(
        transactions.c.id == bindparam("bill_id"),
        transactions.c.returned_amount + _amount_parameter("value") <= transactions.c.amount,
        transactions.c.returned_eligible_amount + _amount_parameter("eligible") <= transactions.c.eligible_amount,
        transactions.c.returned_points + _points_parameter("points_back") <= transactions.c.points_earned,
    )
    .values(
        returned_amount=transactions.c.returned_amount + _amount_parameter("value"),
        returned_eligible_amount=transactions.c.returned_eligible_amount + _amount_parameter("eligible"),
        returned_points=transactions.c.returned_points + _points_parameter("points_back"),
        reversed_redemption_points=transactions.c.reversed_redemption_points + _points_parameter("reversed"),
    )
)
_MOVE_LINE = (
    update(line_items)
    .where(
        line_items.c.transaction_id == bindparam("bill_id"),
        line_items.c.serial == bindparam("line_serial"),
        line_items.c.returned_qty + bindparam("return_qty", type_=line_items.c.qty.type) <= line_items.c.qty,
    )
    .values(returned_qty=line_items.c.returned_qty + bindparam("return_qty", type_=line_items.c.qty.type))
)
_SET_PARENT = (
    update(transactions)
    .where(transactions.c.id == bindparam("transaction_id"))
    .values(parent_transaction_id=bindparam("parent_id"))
)
_BILL_AND_EXCHANGE_OF_RETURN = select(transactions).where(
    or_(
        transactions.c.id == bindparam("bill_id"),
        (transactions.c.parent_transaction_id == bindparam("return_id")) & transactions.c.type.in_(PURCHASE_TYPES),
    )
)


async def bill_to_return(
    connection: AsyncConnection,
    *,
    org_id: int,
    store_id: int,
    number: str,
    purchase_from: datetime,
    purchase_until: datetime,
) -> Any:
    """The first purchase under this number in this store billed in [from, until): its row (every
    column), None when there is none."""
    parameters = {
        "org_id": org_id,
        "store_id": store_id,
        "number": number,
        "purchase_from": purchase_from,
        "purchase_until": purchase_until,
    }
    return (await connection.execute(_BILL_TO_RETURN, parameters)).one_or_none()


async def same_return(connection: AsyncConnection, *, bill_id: int, return_number: str) -> Any:
    """The first return of the bill under this return number: a row (id, payload_hash), or None."""
    parameters = {"bill_id": bill_id, "return_number": return_number}
    return (await connection.execute(_SAME_RETURN, parameters)).one_or_none()


async def bill_lines(connection: AsyncConnection, bill_id: int) -> list[Any]:
    """The bill's lines by serial: rows (serial, item_code, variant, qty, returned_qty, amount,
    outlier_status, product_id, rate, value, discount, description, addon_items, combo_items,
    split_items)."""
    return list((await connection.execute(_BILL_LINES, {"bill_id": bill_id})).all())


async def move_bill(
    connection: AsyncConnection,
    *,
    bill_id: int,
    amount: Decimal,
    eligible_amount: Decimal,
    points: Decimal,
    reversed_points: Decimal,
) -> bool:
    """Add a return to the bill's returned counters (a guarded UPDATE): False when that would
    take any of them past the bill."""
    moved = await connection.execute(
        _MOVE_BILL,
        {
            "bill_id": bill_id,
            "value": amount,
            "eligible": eligible_amount,
            "points_back": points,
            "reversed": reversed_points,
        },
    )
    return moved.rowcount == 1


async def move_line(connection: AsyncConnection, *, bill_id: int, serial: int, qty: Decimal) -> bool:
    """Add a returned quantity to the bill's line (a guarded UPDATE): False when that would take
    it past the line's quantity."""
    moved = await connection.execute(_MOVE_LINE, {"bill_id": bill_id, "line_serial": serial, "return_qty": qty})
    return moved.rowcount == 1


async def set_parent(connection: AsyncConnection, *, transaction_id: int, parent_id: int) -> None:
    """Point a transaction at the one it belongs to (an exchange's purchase at its return)."""
    await connection.execute(_SET_PARENT, {"transaction_id": transaction_id, "parent_id": parent_id})


async def return_and_related(connection: AsyncConnection, return_id: int) -> tuple[Any, Any, Any]:
    """A return's row, the bill it returned and, for an exchange, its purchase (None otherwise):
    rows with every column, in two statements."""
    returned = await transaction_row(connection, return_id)
    related = (
        await connection.execute(
            _BILL_AND_EXCHANGE_OF_RETURN, {"bill_id": returned.parent_transaction_id, "return_id": return_id}
        )
    ).all()
    bill = next(row for row in related if row.id == returned.parent_transaction_id)
    purchase = next((row for row in related if row.id != bill.id), None)
    return returned, bill, purchase


# --- What other domains ask of bills ---------------------------------------------------------

_BILL_FACTS = (
    transactions.c.id,
    transactions.c.customer_id,
    transactions.c.number,
    transactions.c.billing_time,
    transactions.c.store_id,
    transactions.c.till_id,
)
_IS_CUSTOMERS_BILL = select(transactions.c.id).where(
    transactions.c.id == bindparam("transaction_id"),
    transactions.c.org_id == bindparam("org_id"),
    transactions.c.customer_id == bindparam("customer_id"),
)


async def bills_by_ids(connection: AsyncConnection, *, org_id: int, transaction_ids: Sequence[int]) -> list[Any]:
    """This org's bills among these ids: rows (id, customer_id, number, billing_time, store_id,
    till_id), one statement per CHUNK ids."""
    wanted = sorted(set(transaction_ids))
    found: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        query = select(*_BILL_FACTS).where(
            transactions.c.org_id == org_id, transactions.c.id.in_(wanted[start : start + CHUNK])
        )
        found.extend((await connection.execute(query)).all())
    return found


async def bills_by_store_and_number(
    connection: AsyncConnection, *, org_id: int, pairs: Sequence[tuple[int, str]]
) -> list[Any]:
    """This org's transactions under these (store id, number) pairs, returns included: rows (id,
    customer_id, number, billing_time, store_id, till_id) by id, one statement per CHUNK pairs."""
    wanted = sorted(set(pairs))
    found: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        query = (
            select(*_BILL_FACTS)
            .where(
                transactions.c.org_id == org_id,
                tuple_(transactions.c.store_id, transactions.c.number).in_(wanted[start : start + CHUNK]),
            )
            .order_by(transactions.c.id)
        )
        found.extend((await connection.execute(query)).all())
    return found


async def line_items_by_serial(connection: AsyncConnection, pairs: Sequence[tuple[int, int]]) -> list[Any]:
    """Lines named by (transaction id, serial): rows (id, transaction_id, serial, item_code), one
    statement per CHUNK pairs."""
    wanted = sorted(set(pairs))
    found: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        query = select(line_items.c.id, line_items.c.transaction_id, line_items.c.serial, line_items.c.item_code).where(
            pairs_in(line_items.c.transaction_id, line_items.c.serial, wanted[start : start + CHUNK])
        )
        found.extend((await connection.execute(query)).all())
    return found


async def line_items_by_ids(connection: AsyncConnection, *, org_id: int, line_item_ids: Sequence[int]) -> list[Any]:
    """This org's lines among these ids: rows (id, transaction_id, serial, item_code), one
    statement per CHUNK ids."""
    wanted = sorted(set(line_item_ids))
    found: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        query = select(line_items.c.id, line_items.c.transaction_id, line_items.c.serial, line_items.c.item_code).where(
            line_items.c.org_id == org_id, line_items.c.id.in_(wanted[start : start + CHUNK])
        )
        found.extend((await connection.execute(query)).all())
    return found


_HAS_PURCHASE = (
    select(transactions.c.id)
    .where(
        transactions.c.org_id == bindparam("org_id"),
        transactions.c.customer_id == bindparam("customer_id"),
        transactions.c.type == TransactionType.REGULAR.value,
    )
    .limit(1)
)


async def has_purchase(connection: AsyncConnection, *, org_id: int, customer_id: int) -> bool:
    """Whether the customer has any purchase (a REGULAR bill) yet."""
    return (await connection.execute(_HAS_PURCHASE, {"org_id": org_id, "customer_id": customer_id})).first() is not None


async def is_customers_bill(connection: AsyncConnection, *, org_id: int, customer_id: int, transaction_id: int) -> bool:
    """Whether this org's transaction `transaction_id` is the customer's."""
    parameters = {"org_id": org_id, "customer_id": customer_id, "transaction_id": transaction_id}
    return (await connection.execute(_IS_CUSTOMERS_BILL, parameters)).scalar_one_or_none() is not None
