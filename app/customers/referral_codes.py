"""Referral codes for every customer of an organisation who has none (`pointledger referrals
draw-codes`): customers imported in bulk, or registered before referrals existed, otherwise get
theirs when it is first asked for (app.referrals.service.codes_given). This draws them ahead,
e.g. before a campaign mails every member their code.

Batches of customers in id order, each one short write transaction (beside live traffic a bill
waits for at most one batch), through the lazy path's own insert: a customer who has a code
keeps it, and a first ask at the same time as the batch gives one code, whichever insert wins.
Running it again draws none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import repository
from app.referrals import service as referrals
from app.storage.database import Database

BATCH_SIZE_DEFAULT = 1000
BATCH_SIZE_MAX = 10_000  # one executemany and one read of this many rows per transaction


@dataclass(frozen=True, slots=True)
class DrawReport:
    customers: int  # the customers looked at (people, not merged away)
    drawn: int  # of those, the codes this run drew


async def draw_missing_codes(
    database: Database,
    org_id: int,
    *,
    now: datetime,
    batch_size: int = BATCH_SIZE_DEFAULT,
) -> DrawReport:
    """Draw a code for every customer of the org who has none."""
    assert 1 <= batch_size <= BATCH_SIZE_MAX
    customers = drawn = after_id = 0
    while True:

        async def batch(connection: AsyncConnection, after_id: int = after_id) -> tuple[list[int], int]:
            customer_ids = await repository.customer_ids_page(
                connection, org_id=org_id, after_id=after_id, limit=batch_size
            )
            if not customer_ids:
                return customer_ids, 0
            _, drawn_here = await referrals.codes_drawn(connection, org_id=org_id, customer_ids=customer_ids, now=now)
            return customer_ids, drawn_here

        customer_ids, drawn_here = await database.run_write(batch)
        if not customer_ids:
            return DrawReport(customers, drawn)
        customers, drawn, after_id = customers + len(customer_ids), drawn + drawn_here, customer_ids[-1]
