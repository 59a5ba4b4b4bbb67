"""Seed the bench database through the app's own code (run before the server starts).

- `customers` customers (1,000,000 by default) registered through the app's bulk registration
  (app.customers.bulk.register_customers, the import path: multi-row inserts, 10,000 customers a
  write transaction), mobiles 7000000000 + i: the returning customers of the write loads;
- the first `ledger_customers` of them get `history` TRANSACTION_ADD events each crediting their
  REGULAR account in the default program through app.ledger.service.post_event (with the lot an
  award makes, as _apply_earning does), one write transaction per batch: the random ledger pages;
- one customer (mobile BIG_MOBILE) registered by a bill through
  app.transactions.service.add_transaction, then given events the same way until they have
  `entries` ledger entries (the long history: keyset pages cost the same at any depth).

`--pairs FILE --pairs-count N --first K` instead writes N random (mobile, cursor) pairs over the
ledger customers and the big one, one "mobile<TAB>cursor" line each (cursor empty: the first
page), each cursor leaving at least K older entries (a full page of K).

Reads POINTLEDGER_DATABASE_URL like the CLI. Prints one "SEED k=v ..." line with the timings.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from app.customers.bulk import register_customers
from app.customers.service import find_customer_id
from app.graphql.core.pagination import encode_id_cursor
from app.kernel.clock import SystemClock
from app.kernel.enums import IdentifierType, PointsCategory
from app.kernel.settings import get_settings
from app.ledger import repository as ledger_repository
from app.ledger import rules as ledger_rules
from app.ledger import service as ledger
from app.ledger.credits import CreditDraft, post_credits
from app.ledger.models import EventType
from app.organizations.config import OrgConfig, load_org_config
from app.organizations.service import org_id_by_code
from app.storage.database import Database
from app.transactions.inputs import CustomerInput, LineItemInput, TransactionInput
from app.transactions.models import TransactionType
from app.transactions.service import add_transaction

ORG_CODE = "demo"
STORE_CODE = "mumbai-01"
TILL_CODE = "mumbai-01-till-1"
BIG_MOBILE = "9899999999"
FIRST_MOBILE = 7_000_000_000
REGISTRATION_BATCH = 10_000
LEDGER_CUSTOMERS_MAX = 100_000
AWARD = Decimal(18)


def returning_mobile(index: int) -> str:
    """The mobile a bill names for bulk-registered customer `index` (as a till sends it)."""
    return str(FIRST_MOBILE + index)


def stored_mobile(index: int) -> str:
    """The same mobile as the app stores it (E.164 digits without '+')."""
    return f"91{FIRST_MOBILE + index}"


def bill(number: str, mobile: str) -> TransactionInput:
    """The same bill the load posts: 3 line items, 1,800 net."""
    return TransactionInput(
        type=TransactionType.REGULAR,
        number=number,
        amount=Decimal(1800),
        gross_amount=Decimal(2000),
        discount=Decimal(200),
        currency_code="INR",
        till_code=TILL_CODE,
        source="INSTORE",
        customer=CustomerInput(mobile=mobile, first_name="Tom", last_name="Sawyer"),
        line_items=[
            LineItemInput(
                serial=1,
                item_code="SHIRT-01",
                qty=Decimal(2),
                rate=Decimal(500),
                value=Decimal(1000),
                discount=Decimal(100),
                amount=Decimal(900),
            ),
            LineItemInput(
                serial=2,
                item_code="JEANS-01",
                variant="32-BLUE",
                qty=Decimal(1),
                rate=Decimal(800),
                value=Decimal(800),
                discount=Decimal(100),
                amount=Decimal(700),
            ),
            LineItemInput(
                serial=3,
                item_code="SOCKS-01",
                qty=Decimal(1),
                rate=Decimal(200),
                value=Decimal(200),
                amount=Decimal(200),
            ),
        ],
    )


async def demo_org(database: Database) -> OrgConfig:
    async with database.read() as connection:
        org = await load_org_config(connection, await org_id_by_code(connection, ORG_CODE))
    assert org is not None
    return org


async def register(database: Database, org: OrgConfig, count: int, clock: SystemClock) -> dict[str, int]:
    ids: dict[str, int] = {}
    for first in range(0, count, REGISTRATION_BATCH):
        values = [stored_mobile(index) for index in range(first, min(first + REGISTRATION_BATCH, count))]

        async def write(connection, values: list[str] = values) -> dict[str, int]:
            return await register_customers(
                connection, org, IdentifierType.MOBILE, values, clock.now(), source="INSTORE"
            )

        if first < LEDGER_CUSTOMERS_MAX:  # only the first ones get a history: keep their ids
            ids.update(await database.run_write(write))
        else:
            await database.run_write(write)
    return ids


async def give_history(
    database: Database, org: OrgConfig, counts: dict[int, int], batch_size: int, clock: SystemClock
) -> None:
    """counts[customer id] TRANSACTION_ADD credits to each customer's REGULAR account in the default
    program, through the ledger's bulk credit path (app.ledger.credits.post_credits: one event, entry
    and lot per credit, a fixed number of statements per batch)."""
    program = org.default_program
    store = org.store_by_code(STORE_CODE)
    till = org.till_by_code(TILL_CODE)
    assert store is not None
    assert till is not None
    async with database.read() as connection:
        accounts = {
            row.customer_id: ledger.AccountRef(row.id, row.customer_id, program.id, PointsCategory.REGULAR)
            for row in await ledger.customer_accounts(connection, list(counts))
            if row.program_id == program.id and row.category == PointsCategory.REGULAR.value
        }
    # Round-robin over the customers: each batch credits many accounts, as an import does.
    queue = [
        customer_id
        for number in range(max(counts.values(), default=0))
        for customer_id in counts
        if number < counts[customer_id]
    ]
    for first in range(0, len(queue), batch_size):
        batch = queue[first : first + batch_size]

        async def write(connection, batch: list[int] = batch) -> None:
            now = clock.now()
            expires_at = ledger_rules.lot_expiry(program.expiry_strategy, program.expiry_value, now, org.time_zone)
            await post_credits(
                connection,
                org_id=org.id,
                now=now,
                results=False,
                credits=[
                    CreditDraft(
                        accounts[customer_id],
                        AWARD,
                        now,
                        expires_at,
                        EventType.TRANSACTION_ADD,
                        source="INSTORE",
                        store_id=store.id,
                        till_id=till.id,
                        transaction_number="SEED",
                    )
                    for customer_id in batch
                ],
            )

        await database.run_write(write)


async def seed(args: argparse.Namespace) -> None:
    clock = SystemClock()  # read per batch, as a server reads it per request
    database = Database(get_settings().database_url, pool_size=2)
    try:
        org = await demo_org(database)
        started = time.perf_counter()
        ids = await register(database, org, args.customers, clock)
        customers_seconds = time.perf_counter() - started

        started = time.perf_counter()
        counts = {
            ids[stored_mobile(index)]: args.history for index in range(min(args.ledger_customers, args.customers))
        }
        await give_history(database, org, counts, args.batch, clock)
        history_seconds = time.perf_counter() - started

        result = await add_transaction(database, org, bill("SEED-BIG-0", BIG_MOBILE), now=clock.now())
        assert result.customer is not None
        big_id = result.customer.id
        started = time.perf_counter()
        existing = len(await entry_ids(database, big_id))
        await give_history(database, org, {big_id: max(args.entries - existing, 0)}, args.batch, clock)
        big_seconds = time.perf_counter() - started
        big_entries = len(await entry_ids(database, big_id))
        print(
            f"SEED customers={args.customers} customers_s={customers_seconds:.1f} "
            f"ledger_customers={args.ledger_customers}x{args.history} history_s={history_seconds:.1f} "
            f"big_customer_id={big_id} big_mobile={BIG_MOBILE} big_entries={big_entries} big_s={big_seconds:.1f}",
            flush=True,
        )
    finally:
        await database.dispose()


async def entry_ids(database: Database, customer_id: int) -> list[int]:
    """The customer's entry ids, newest first (the order of a ledger page)."""
    entries = ledger_repository.entries
    async with database.read() as connection:
        rows = await connection.execute(
            select(entries.c.id).where(entries.c.customer_id == customer_id).order_by(entries.c.id.desc())
        )
        return [row[0] for row in rows]


async def write_pairs(args: argparse.Namespace) -> None:
    """Random (mobile, cursor) pairs over the ledger customers and the big one."""
    database = Database(get_settings().database_url, pool_size=2)
    rng = random.Random(args.pairs_count * 31 + args.first)
    try:
        org = await demo_org(database)
        histories: list[tuple[str, list[int]]] = []
        for mobile in [BIG_MOBILE, *(returning_mobile(index) for index in range(args.ledger_customers))]:
            async with database.read() as connection:
                customer_id = await find_customer_id(connection, org, IdentifierType.MOBILE, mobile)
            assert customer_id is not None, mobile
            ids = await entry_ids(database, customer_id)
            assert len(ids) > args.first, f"{mobile} has {len(ids)} entries, fewer than a page of {args.first}"
            histories.append((mobile, ids))
        lines = []
        for _ in range(args.pairs_count):
            mobile, ids = rng.choice(histories)
            # The page after ids[k] holds ids[k + 1 .. k + first]: full when k + first < len(ids).
            position = rng.randrange(-1, len(ids) - args.first - 1)
            cursor = encode_id_cursor("ledger", ids[position]) if position >= 0 else ""
            lines.append(f"{mobile}\t{cursor}\n")
        args.pairs.write_text("".join(lines))
    finally:
        await database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--ledger-customers", type=int, default=1000)
    parser.add_argument("--history", type=int, default=150)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--pairs", type=Path)
    parser.add_argument("--pairs-count", type=int, default=10_000)
    parser.add_argument("--first", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(write_pairs(args) if args.pairs else seed(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
