"""Where a request's server time goes, in-process: the whole ASGI app (auth, Starlette,
Strawberry, SQLAlchemy, aiosqlite) through httpx's ASGITransport, one request at a time, so
CPU per request and cProfile attribution are free of the HTTP client and of uvicorn.

    .venv/bin/python scripts/bench_tools/inprocess.py --database /path/bench.db [--profile]

--compiled-rounds N: each kind runs N rounds alternating compiled execution on and off
(app/graphql/core/compiled.py's switch) in the same process, and prints CPU per request
min/median/max of each (compiled execution against graphql-core's, interleaved so that the
machine's other load falls on both).

Needs a database seeded as scripts/bench does (scripts/bench --keep leaves one; or run
`pointledger demo` and seed.py in a directory).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


async def run(args: argparse.Namespace) -> None:
    import httpx
    from bench import TYPENAME, add_body, graphql_body, ledger_body

    import app.http.app
    from app.graphql.core import compiled

    key = json.loads((Path(args.database).parent / ".pointledger-demo-key.json").read_text())
    auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
    application = app.http.app.create_app()
    counter = iter(range(10**9))

    def body(kind: str) -> str:
        if kind == "typename":
            return graphql_body(TYPENAME)
        if kind.startswith("ledger"):
            return ledger_body(int(kind[6:]))
        number = next(counter)
        mobile = f"9890{number:06d}" if number % 2 else f"9800{(number * 7919) % 1000:06d}"
        return add_body(f"INPROC-{os.getpid()}-{number}", mobile)

    expect = {"typename": b'"Query"', "add": b'"TransactionAdded"'}
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def one(kind: str) -> None:
            response = await client.post(
                "/graphql", content=body(kind), headers={"content-type": "application/json", "authorization": auth}
            )
            if response.status_code != 200 or expect.get(kind, b'"LedgerEntryPage"') not in response.content:
                raise SystemExit(f"{kind}: {response.status_code} {response.text[:300]}")

        async def cpu_per_request_ms(kind: str, count: int) -> float:
            cpu = time.process_time()
            for _ in range(count):
                await one(kind)
            return 1000 * (time.process_time() - cpu) / count

        for kind in args.kinds:
            count = args.count if kind != "add" else max(args.count // 2, 1)
            for _ in range(20):
                await one(kind)
            if args.compiled_rounds:
                figures: dict[bool, list[float]] = {True: [], False: []}
                for _ in range(args.compiled_rounds):
                    for enabled in (True, False):
                        compiled.ENABLED = enabled
                        figures[enabled].append(await cpu_per_request_ms(kind, count))
                compiled.ENABLED = True
                on, off = statistics.median(figures[True]), statistics.median(figures[False])
                for enabled, name in ((False, "graphql-core"), (True, "compiled")):
                    values = figures[enabled]
                    print(
                        f"{kind:<10} {name:<12} CPU ms per request min {min(values):6.2f} median "
                        f"{statistics.median(values):6.2f} max {max(values):6.2f} ({len(values)} rounds of {count})",
                        flush=True,
                    )
                print(f"{kind:<10} compiled / graphql-core (medians): {on / off:.0%}", flush=True)
                continue
            profiler = cProfile.Profile() if args.profile else None
            wall, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            for _ in range(count):
                await one(kind)
            if profiler:
                profiler.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"{kind:<10} {count:>5} requests: {1000 * wall / count:6.2f} ms wall, "
                f"{1000 * cpu / count:6.2f} ms CPU per request ({count / wall:,.0f}/s one at a time)",
                flush=True,
            )
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
                print(out.getvalue())
    await application.state.services.database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="the seeded SQLite file (its directory holds the demo key)")
    parser.add_argument("--kinds", nargs="+", default=["typename", "ledger10", "ledger100", "add"])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions by cumulative time")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--compiled-rounds", type=int, default=0, help="compare compiled execution, interleaved")
    args = parser.parse_args()
    os.environ["POINTLEDGER_DATABASE_URL"] = f"sqlite+aiosqlite:///{Path(args.database).resolve()}"
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
