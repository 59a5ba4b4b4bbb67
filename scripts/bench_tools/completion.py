"""Execution alone: the ledger page's document run by the Strawberry schema on entries built in
memory (no HTTP, no SQL, parse and validation cached), compiled execution
(app/graphql/core/compiled.py) against graphql-core's, interleaved in rounds in one process.
Prints CPU microseconds per page of 10 and of 100 entries (median of the rounds).

    .venv/bin/python scripts/bench_tools/completion.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from app.graphql.core import compiled
from app.graphql.core.pagination import PageInfo
from app.graphql.core.scalars import DecimalScalar
from app.graphql.core.schema import RequestExecutionContext
from app.graphql.ledger.types import LedgerEntry, LedgerEntryPage
from app.kernel.enums import PointsCategory
from app.ledger.models import EntryKind, EntryType, EventType

ENTRIES = [
    LedgerEntry(
        id=strawberry.ID(str(number)),
        event_log_id=strawberry.ID(str(number)),
        event_type=EventType.TRANSACTION_ADD,
        entry_kind=EntryKind.POINTS_ALLOCATION,
        entry_type=EntryType.CREDIT,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        program_code="main",
        points_category=PointsCategory.REGULAR,
        points=Decimal(18),
        points_on_event=Decimal(18),
        balance_after=Decimal(1800),
        event_source="INSTORE",
        store_code="store-1",
        till_code="till-1",
        transaction_id=strawberry.ID("5"),
        transaction_number="BILL-1",
    )
    for number in range(100)
]
# The fields scripts/bench_tools/documents.py's LEDGER_ENTRIES selects.
DOCUMENT = """
query Page($first: Int!) {
  page(first: $first) {
    __typename
    customerId
    entries {
      id eventLogId eventType entryKind entryType programCode pointsCategory points pointsOnEvent balanceAfter
      eventSource storeCode tillCode transactionId transactionNumber createdAt
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@strawberry.type
class Query:
    @strawberry.field
    async def page(self, first: int) -> LedgerEntryPage:
        return LedgerEntryPage(
            customer_id=strawberry.ID("1"),
            entries=ENTRIES[:first],
            page_info=PageInfo(has_next_page=True, end_cursor="cursor"),
        )


SCHEMA = strawberry.Schema(
    query=Query,
    execution_context_class=RequestExecutionContext,
    scalar_overrides={Decimal: DecimalScalar},
    extensions=[lambda: ParserCache(maxsize=8), lambda: ValidationCache(maxsize=8)],
)


async def cpu_per_page_us(first: int, count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        result = await SCHEMA.execute(DOCUMENT, {"first": first})
        if result.errors:
            raise SystemExit(f"errors: {result.errors}")
    return 1_000_000 * (time.process_time() - started) / count


async def run(rounds: int) -> None:
    for first, count in ((10, 300), (100, 100)):
        figures: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(rounds):
            for enabled in (True, False):
                compiled.ENABLED = enabled
                figures[enabled].append(await cpu_per_page_us(first, count))
        compiled.ENABLED = True
        on, off = statistics.median(figures[True]), statistics.median(figures[False])
        print(f"page of {first:>3}: graphql-core {off:7.0f} us, compiled {on:7.0f} us CPU per page ({on / off:.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
