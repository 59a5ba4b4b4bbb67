"""What one addTransaction costs, in-process: SQL statements and CPU per bill, for a returning
and for a new customer, beside `{ __typename }`.

    .venv/bin/python scripts/bench_tools/bill_cost.py --database /path/bench.db [--list] [--rounds 5]

The whole ASGI app runs in this process (httpx's ASGITransport, one request at a time), so CPU
per request is the server's own. Statements are counted on both engines (SQLite counts its
BEGIN IMMEDIATE). The kinds run interleaved in rounds; each figure is min / median / max over
the rounds. Needs a database seeded as scripts/bench does (`pointledger demo` in a directory,
then seed.py with POINTLEDGER_DATABASE_URL pointing at it): returning customers are seed.py's.

To compare two versions of the code in one run, run this script alternately with PYTHONPATH
set to each tree (each on its own copy of the database): `compare` below does that.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


async def run(args: argparse.Namespace) -> dict[str, list[float]]:
    import httpx
    from bench import TYPENAME, add_body, graphql_body
    from seed import returning_mobile
    from sqlalchemy import event

    import app.http.app

    key = json.loads((Path(args.database).parent / ".pointledger-demo-key.json").read_text())
    auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
    application = app.http.app.create_app()
    database = application.state.services.database
    statements: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(" ".join(statement.split()))

    engines = {id(database.read_engine): database.read_engine, id(database.write_engine): database.write_engine}
    for engine in engines.values():
        event.listen(engine.sync_engine, "before_cursor_execute", record)

    counter = iter(range(10**9))
    tag = f"{os.getpid()}-{time.time_ns() % 10**9}"

    def body(kind: str) -> str:
        number = next(counter)
        if kind == "typename":
            return graphql_body(TYPENAME)
        if kind == "new":
            return add_body(f"COST-{tag}-{number}", f"97{(os.getpid() * 100_003 + number) % 10**8:08d}")
        return add_body(f"COST-{tag}-{number}", returning_mobile(number % args.customers))

    expect = {"typename": b'"Query"', "new": b'"TransactionAdded"', "returning": b'"TransactionAdded"'}
    cpu_ms: dict[str, list[float]] = {kind: [] for kind in args.kinds}
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def one(kind: str) -> None:
            response = await client.post(
                "/graphql", content=body(kind), headers={"content-type": "application/json", "authorization": auth}
            )
            if response.status_code != 200 or expect[kind] not in response.content:
                raise SystemExit(f"{kind}: {response.status_code} {response.text[:600]}")

        for kind in args.kinds:
            for _ in range(args.warmup):
                await one(kind)
            statements.clear()
            await one(kind)
            print(f"STATEMENTS {kind} {len(statements)}", flush=True)
            if args.list:
                for number, statement in enumerate(statements, 1):
                    print(f"  {number:2d}. {statement[:160]}")
        for _ in range(args.rounds):
            for kind in args.kinds:
                cpu = time.process_time()
                for _ in range(args.count):
                    await one(kind)
                cpu_ms[kind].append(1000 * (time.process_time() - cpu) / args.count)
    await database.dispose()
    return cpu_ms


def summary(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="the seeded SQLite file (its directory holds the demo key)")
    parser.add_argument("--kinds", nargs="+", default=["typename", "returning", "new"])
    parser.add_argument("--count", type=int, default=100, help="requests of each kind per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--customers", type=int, default=1000, help="returning customers seed.py registered")
    parser.add_argument("--list", action="store_true", help="print the statements of one request of each kind")
    args = parser.parse_args()
    os.environ["POINTLEDGER_DATABASE_URL"] = f"sqlite+aiosqlite:///{Path(args.database).resolve()}"
    os.environ.setdefault("POINTLEDGER_ACCESS_LOG", "false")
    cpu_ms = asyncio.run(run(args))
    for kind, values in cpu_ms.items():
        print(f"CPU {kind} {' '.join(f'{value:.3f}' for value in values)}")
        print(f"{kind:<10} CPU ms per request (min / median / max of {len(values)} rounds): {summary(values)}")


if __name__ == "__main__":
    main()
