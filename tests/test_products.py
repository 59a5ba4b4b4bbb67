"""Products named on bills: added once under concurrent bills, read without a lock, their ids
remembered only once committed.

The same tests run on SQLite (one writer) and on PostgreSQL (bills run side by side: a new
product is inserted with ON CONFLICT DO NOTHING and read back, an existing one is only read).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event, select, text

from app.catalog.models import Product
from app.ledger.service import reconcile
from app.transactions.models import TransactionLineItem
from tests.client import add, add_transaction, error_of, find_customer, no_lock_errors_logged, post_at_once
from tests.conftest import POSTGRES_URL
from tests.documents import ADD_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile
from tests.snapshots import table_counts

products = Product.__table__
line_items = TransactionLineItem.__table__


async def catalog(database) -> list[tuple[str, str, str | None]]:
    """Every product as (item code, variant code, its base's item code), in key order."""
    async with database.read() as connection:
        in_key_order = select(products).order_by(products.c.item_code, products.c.variant_code)
        rows = (await connection.execute(in_key_order)).all()
    codes = {row.id: row.item_code for row in rows}
    return [(row.item_code, row.variant_code, codes.get(row.base_product_id)) for row in rows]


async def lines_per_product(database) -> Counter[tuple[str, str | None, str, str]]:
    """How many lines point at each product, by (line's item code, line's variant, product's item
    code, product's variant code)."""
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(
                    line_items.c.item_code, line_items.c.variant, products.c.item_code, products.c.variant_code
                ).select_from(line_items.join(products, products.c.id == line_items.c.product_id))
            )
        ).all()
    return Counter(tuple(row) for row in rows)


def product_statements(database) -> list[str]:
    """The statements on the products table the writer runs from now on (until the test ends)."""
    seen: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if " products" in statement:
            seen.append(statement.split()[0])

    event.listen(database.write_engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_20_bills_naming_the_same_new_products_at_once_add_each_product_once(api, database, caplog):
    # Given an empty catalog and 20 customers, each posting a bill with SHIRT-01, JEANS-01 in
    # variant 32-BLUE and SOCKS-01 (1,800 eligible: 18 points at bronze), all at the same time.
    caplog.set_level(logging.INFO)
    mobiles = [new_mobile() for _ in range(20)]

    results = await post_at_once(api, ADD_TRANSACTION, [bill(customer={"mobile": mobile}) for mobile in mobiles])

    assert [result["__typename"] for result in results] == ["TransactionAdded"] * 20
    assert no_lock_errors_logged(caplog)
    # One row per product. The first bill to add JEANS-01 added the base product only (the seed's
    # rule for a new base named with a variant); every later one found it and added the variant
    # under it, once.
    assert await catalog(database) == [
        ("JEANS-01", "", None),
        ("JEANS-01", "32-BLUE", "JEANS-01"),
        ("SHIRT-01", "", None),
        ("SOCKS-01", "", None),
    ]
    assert await lines_per_product(database) == {
        ("SHIRT-01", None, "SHIRT-01", ""): 20,
        ("JEANS-01", "32-BLUE", "JEANS-01", ""): 1,
        ("JEANS-01", "32-BLUE", "JEANS-01", "32-BLUE"): 19,
        ("SOCKS-01", None, "SOCKS-01", ""): 20,
    }
    for mobile in mobiles:
        customer = await find_customer(api, by_mobile(mobile), first=1)
        assert (customer["loyaltyPoints"], customer["lifetimePurchases"]) == ("18", "1800")
    counts = await table_counts(database)
    assert (counts["transactions"], counts["transaction_line_items"], counts["products"]) == (20, 60, 4)
    async with database.read() as connection:
        assert await reconcile(connection) == []


async def test_bills_naming_a_new_variant_of_an_existing_product_at_once_add_it_once(api, database, caplog):
    # Given HAT in the catalog, 10 customers buy a HAT in RED (a variant nobody bought yet) at once.
    caplog.set_level(logging.INFO)
    await add(api, bill(amount="100", lineItems=[{"itemCode": "HAT", "qty": "1", "rate": "100"}]))
    line = {"itemCode": "HAT", "variant": "RED", "qty": "1", "rate": "100"}
    mobiles = [new_mobile() for _ in range(10)]

    results = await post_at_once(
        api, ADD_TRANSACTION, [bill(amount="100", customer={"mobile": mobile}, lineItems=[line]) for mobile in mobiles]
    )

    assert [result["__typename"] for result in results] == ["TransactionAdded"] * 10
    assert no_lock_errors_logged(caplog)
    assert await catalog(database) == [("HAT", "", None), ("HAT", "RED", "HAT")]
    assert await lines_per_product(database) == {("HAT", None, "HAT", ""): 1, ("HAT", "RED", "HAT", "RED"): 10}
    for mobile in mobiles:
        customer = await find_customer(api, by_mobile(mobile), first=1)
        assert (customer["loyaltyPoints"], customer["lifetimePurchases"]) == ("1", "100")
    async with database.read() as connection:
        assert await reconcile(connection) == []


async def test_products_a_committed_bill_named_are_not_looked_up_again(api, database):
    # Given a bill that added SHIRT-01, JEANS-01 and SOCKS-01.
    await add(api, bill())
    statements = product_statements(database)

    # When another bill names them (JEANS-01 in its variant 32-BLUE, which the first did not add).
    await add(api, bill())
    # Then the base products came from the process's memory: one look-up for the unknown variant
    # and its insert.
    assert statements == ["SELECT", "INSERT"]

    # And a third bill names products this process knows, all of them: nothing on products.
    statements.clear()
    await add(api, bill())
    assert statements == []
    assert await lines_per_product(database) == {
        ("SHIRT-01", None, "SHIRT-01", ""): 3,
        ("JEANS-01", "32-BLUE", "JEANS-01", ""): 1,
        ("JEANS-01", "32-BLUE", "JEANS-01", "32-BLUE"): 2,
        ("SOCKS-01", None, "SOCKS-01", ""): 3,
    }


async def test_a_bill_that_fails_after_adding_a_product_leaves_no_product_behind(api, database):
    # Given a bill naming a new product LAMP, which fails after its lines are written (the
    # points redemption it names does not exist), so its transaction rolls back.
    mobile = new_mobile()
    lamp = [{"itemCode": "LAMP", "qty": "1", "rate": "100"}]
    before = await table_counts(database)

    failed = await add_transaction(
        api, bill(amount="100", customer={"mobile": mobile}, lineItems=lamp, pointsRedemptions=["999999"])
    )

    assert error_of(failed) == ("NotFoundError", "REDEMPTION_NOT_FOUND", "input.pointsRedemptions[0]")
    assert await table_counts(database) == before
    # When the next bill names LAMP, it adds it again (no id of the rolled-back row was kept) and
    # its line points at the row that exists.
    statements = product_statements(database)
    added = await add(api, bill(amount="100", customer={"mobile": mobile}, lineItems=lamp))

    assert added["transaction"]["lineItems"][0]["itemCode"] == "LAMP"
    assert statements == ["SELECT", "INSERT"]
    assert await catalog(database) == [("LAMP", "", None)]
    assert await lines_per_product(database) == {("LAMP", None, "LAMP", ""): 1}


async def waiting_backends(connection, wait_event: str | None = None) -> int:
    """Backends of this database other than `connection`'s waiting on a lock (of this kind)."""
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
    )
    if wait_event is not None:
        query += " AND wait_event = :wait_event"
    await connection.execute(text("SELECT pg_stat_clear_snapshot()"))  # else read once per transaction
    return (await connection.execute(text(query), {"wait_event": wait_event})).scalar_one()


@pytest.mark.skipif(not POSTGRES_URL, reason="bills run side by side on PostgreSQL only")
async def test_a_bill_held_open_does_not_hold_back_another_naming_the_same_products(api, database):
    # Given the products in the catalog and a returning customer, whose next bill is held open
    # mid-transaction: another session holds the row lock on the customer's standing that the
    # bill takes once it has taken its natural-key locks.
    first = await add(api, bill())
    mobile = first["transaction"]["customer"]["mobile"]
    async with database.write_engine.connect() as holder:
        await holder.begin()
        await holder.execute(
            text(
                "SELECT id FROM customer_programs WHERE customer_id IN"
                " (SELECT customer_id FROM transactions WHERE number = :number) FOR UPDATE"
            ),
            {"number": first["transaction"]["number"]},
        )
        held = asyncio.create_task(add_transaction(api, bill(customer={"mobile": mobile})))
        for _ in range(3000):  # until the held bill waits on the standing (each turn a few ms)
            if await waiting_backends(holder) == 1:
                break
            await asyncio.sleep(0.01)
        assert await waiting_backends(holder) == 1

        # When another customer's bill names the same products.
        other = asyncio.create_task(add_transaction(api, bill()))
        for _ in range(3000):  # until it is answered, or waits on a lock the held bill holds
            if other.done() or await waiting_backends(holder, "advisory") > 0:
                break
            await asyncio.sleep(0.01)

        # Then it was added while the first bill is still open, and nothing waits on an advisory lock.
        assert await waiting_backends(holder, "advisory") == 0
        assert other.done()
        assert (await other)["__typename"] == "TransactionAdded"
        assert not held.done()
        await holder.rollback()
    assert (await held)["__typename"] == "TransactionAdded"
    counts = await table_counts(database)
    assert (counts["transactions"], counts["products"]) == (3, 4)
    async with database.read() as connection:
        assert await reconcile(connection) == []
