"""The outbox's CPU on a bill, in-process: a write transaction staging a bill's two events (one
INSERT of the events, one of their queue rows) against an empty write transaction, interleaved
in rounds on a fresh SQLite file.

    cd TREE && /path/to/.venv/bin/python /path/to/scripts/bench_tools/outbox_cost.py [--count 200] [--rounds 6]

It imports the app from the current directory, so running it alternately from two trees (e.g. a
`git archive main` copy and this one) compares two versions of the code in one run. With
--profile it prints cProfile's top functions of 500 staged transactions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime

sys.path.insert(0, os.getcwd())

NOW = datetime(2026, 12, 7, tzinfo=UTC)
# Shaped like a bill's transaction.added and points.earned (app/outbox/events.py).
PAYLOADS = [
    (
        "transaction.added",
        {
            "version": 1,
            "userId": "u-123456",
            "billNumber": "B-000123",
            "amount": "500.00",
            "transactionId": "123",
            "tillCode": "till-1",
            "billingTime": NOW.isoformat(),
        },
    ),
    (
        "points.earned",
        {
            "version": 1,
            "userId": "u-123456",
            "programCode": "main",
            "points": "5",
            "transactionId": "123",
            "balance": "105",
        },
    ),
]


async def run(args: argparse.Namespace) -> None:
    from app.outbox import service as outbox
    from app.storage import migrate
    from app.storage.database import Database
    from tests.conftest import make_org
    from tests.factories import org_spec

    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='outbox-cost-')}/outbox.db"
    await migrate.upgrade(url)
    database = Database(url, pool_size=2)
    org_id = (await make_org(database, org_spec("acme"))).org_id

    async def empty(connection: object) -> None:
        return None

    async def staged(connection: object) -> None:
        for event_type, payload in PAYLOADS:
            draft = outbox.EventDraft(event_type, payload, None)
            outbox.stage(connection, org_id=org_id, draft=draft, now=NOW)  # type: ignore[arg-type]

    variants = {"empty": empty, "staged": staged}
    cpu_ms: dict[str, list[float]] = {name: [] for name in variants}
    for work in variants.values():
        for _ in range(50):
            await database.run_write(work)
    for _ in range(args.rounds):
        for name, work in variants.items():
            started = time.process_time()
            for _ in range(args.count):
                await database.run_write(work)
            cpu_ms[name].append(1000 * (time.process_time() - started) / args.count)
    for name, values in cpu_ms.items():
        rounds = " ".join(f"{value:.3f}" for value in values)
        print(f"{name:8s} ms CPU a transaction: median {statistics.median(values):.3f} (rounds {rounds})")
    extra = statistics.median(s - e for s, e in zip(cpu_ms["staged"], cpu_ms["empty"], strict=True))
    print(f"outbox cost (staged - empty, median of the rounds): {extra:.3f} ms")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(500):
            await database.run_write(staged)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="transactions of each kind per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--profile", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
