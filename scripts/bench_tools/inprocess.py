"""Where a request's server time goes, in-process: the whole ASGI app (auth, Starlette,
Strawberry, SQLAlchemy, aiosqlite) through httpx's ASGITransport, one request at a time, so
CPU per request and cProfile attribution are free of the HTTP client and of uvicorn.

    .venv/bin/python scripts/bench_tools/inprocess.py --database /path/bench.db [--profile]

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
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


async def run(args: argparse.Namespace) -> None:
    import httpx
    from bench import TYPENAME, add_body, graphql_body, ledger_body

    import app.http.app

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

        for kind in args.kinds:
            count = args.count if kind != "add" else max(args.count // 2, 1)
            for _ in range(20):
                await one(kind)
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
    args = parser.parse_args()
    os.environ["POINTLEDGER_DATABASE_URL"] = f"sqlite+aiosqlite:///{Path(args.database).resolve()}"
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
