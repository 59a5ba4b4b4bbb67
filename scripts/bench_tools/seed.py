"""Seed the bench database through the app's own service code (run before the server starts).

- `customers` returning customers, mobiles 9800000000 + i, each registered by one bill through
  app.transactions.service.add_transaction;
- one customer (mobile BIG_MOBILE) registered the same way, then given TRANSACTION_ADD events
  crediting their REGULAR account in the default program through app.ledger.service.post_event
  (with the lot an award makes, as _apply_earning does), one write transaction per batch,
  until they have `entries` ledger entries.

Reads POINTLEDGER_DATABASE_URL like the CLI. Prints one "SEED k=v ..." line with the timings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from decimal import Decimal

from sqlalchemy import func, select

from app.kernel.clock import SystemClock
from app.kernel.enums import PointsCategory
from app.kernel.settings import get_settings
from app.ledger import repository as ledger_repository
from app.ledger import rules as ledger_rules
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import load_org_config
from app.organizations.service import org_id_by_code
from app.storage.database import Database
from app.transactions.inputs import CustomerInput, LineItemInput, TransactionInput
from app.transactions.models import TransactionType
from app.transactions.service import add_transaction

ORG_CODE = "demo"
STORE_CODE = "mumbai-01"
TILL_CODE = "mumbai-01-till-1"
BIG_MOBILE = "9899999999"
AWARD = Decimal(18)


def returning_mobile(index: int) -> str:
    return f"9800{index:06d}"


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


async def seed(customers: int, entries_wanted: int, batch_size: int) -> None:
    clock = SystemClock()  # read per bill and per batch, as a server reads it per request
    database = Database(get_settings().database_url, pool_size=2)
    try:
        async with database.read() as connection:
            org = await load_org_config(connection, await org_id_by_code(connection, ORG_CODE))
        assert org is not None

        started = time.perf_counter()
        for index in range(customers):
            await add_transaction(database, org, bill(f"SEED-{index}", returning_mobile(index)), now=clock.now())
        customers_seconds = time.perf_counter() - started

        result = await add_transaction(database, org, bill("SEED-BIG-0", BIG_MOBILE), now=clock.now())
        assert result.customer is not None
        customer_id = result.customer.id
        program = org.default_program
        store = org.store_by_code(STORE_CODE)
        till = org.till_by_code(TILL_CODE)
        assert store is not None
        assert till is not None
        async with database.read() as connection:
            row = next(
                row
                for row in await ledger.customer_accounts(connection, [customer_id])
                if row.program_id == program.id and row.category == PointsCategory.REGULAR.value
            )
            account = ledger.AccountRef(row.id, customer_id, program.id, PointsCategory.REGULAR)
            existing = (
                await connection.execute(
                    select(func.count())
                    .select_from(ledger_repository.entries)
                    .where(ledger_repository.entries.c.customer_id == customer_id)
                )
            ).scalar_one()

        to_post = max(entries_wanted - existing, 0)
        started = time.perf_counter()
        posted = 0
        while posted < to_post:
            count = min(batch_size, to_post - posted)
            first = posted

            async def write(connection, first: int = first, count: int = count) -> None:  # type: ignore[no-untyped-def]
                now = clock.now()
                expires_at = ledger_rules.lot_expiry(program.expiry_strategy, program.expiry_value, now, org.time_zone)
                for number in range(first, first + count):
                    await ledger.post_event(
                        connection,
                        org_id=org.id,
                        now=now,
                        draft=ledger.EventDraft(
                            EventType.TRANSACTION_ADD,
                            customer_id,
                            "INSTORE",
                            store.id,
                            till.id,
                            None,
                            f"SEED-BIG-{number + 1}",
                        ),
                        postings=[
                            ledger.Posting(
                                account,
                                EntryType.CREDIT,
                                EntryKind.POINTS_ALLOCATION,
                                AWARD,
                                lots=(ledger.LotDraft(AWARD, now, expires_at),),
                            )
                        ],
                    )

            await database.run_write(write)
            posted += count
        events_seconds = time.perf_counter() - started

        async with database.read() as connection:
            total = (
                await connection.execute(
                    select(func.count())
                    .select_from(ledger_repository.entries)
                    .where(ledger_repository.entries.c.customer_id == customer_id)
                )
            ).scalar_one()
        print(
            f"SEED customers={customers} customers_s={customers_seconds:.2f} big_customer_id={customer_id} "
            f"big_mobile={BIG_MOBILE} events_posted={to_post} events_s={events_seconds:.2f} "
            f"events_per_s={to_post / events_seconds if events_seconds else 0:.0f} big_entries={total}",
            flush=True,
        )
    finally:
        await database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(seed(args.customers, args.entries, args.batch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
