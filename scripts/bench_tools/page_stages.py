"""Where a ledger page's server CPU goes, stage by stage, in-process (and a customer's profile:
`customer` with its points summaries and latest bills, as a mobile app reads it).

    .venv/bin/python scripts/bench_tools/page_stages.py --database /path/bench.db [--count 400]

The whole ASGI app (`create_app()`, as `pointledger serve` builds it) is called directly with
the bench's request bodies (random customers and cursors from pairs-<first>.txt beside the
database, as scripts/bench sends them), one request at a time, no HTTP client and no server.
Chosen functions along the request's path are wrapped to add up the process CPU (all threads:
aiosqlite's worker included) spent inside them; one request at a time, so an awaited function's
figure is its own work plus what it waited for on the driver's thread. Figures are inclusive
(a stage includes the stages indented under it), in ms of CPU per request, median of --rounds.
`{ __typename }` is measured the same way beside the pages.

Needs a database seeded as scripts/bench seeds it (its directory holds the demo key and the
pairs files: `scripts/bench --keep`, or a copy of .bench-cache/<key>/).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import inspect
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TOTALS: dict[str, float] = defaultdict(float)


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await function(*args, **kwargs)
            finally:
                TOTALS[name] += time.process_time() - started

        return wrapped_async

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            TOTALS[name] += time.process_time() - started

    return wrapped


# (label, module, attribute path): wrapped where the request path looks them up.
STAGES = [
    ("ASGI app (Starlette, middleware, everything)", "starlette.applications", "Starlette.__call__"),
    ("  auth (ApiGuard: key, org snapshot)", "app.http.auth", "Authenticator.authenticate"),
    ("  GraphQL view (PointledgerGraphQL.__call__)", "app.http.app", "PointledgerGraphQL.__call__"),
    ("    parse_http_body (body, JSON, limits)", "app.http.app", "PointledgerGraphQL.parse_http_body"),
    ("    get_context", "app.http.app", "PointledgerGraphQL.get_context"),
    ("    execute_operation (ours: gate, schema, close)", "app.http.app", "PointledgerGraphQL.execute_operation"),
    ("      schema.execute (Strawberry)", "app.graphql.core.schema", "PointledgerSchema.execute"),
    ("        execution context (variables)", "app.graphql.core.schema", "RequestExecutionContext.__init__"),
    ("        compiled execution (incl. resolver)", "app.graphql.core.schema", "execute_compiled"),
    ("          customer_id_for (incl. BEGIN)", "app.graphql.ledger.queries", "customer_id_for"),
    ("            find_customer_id (SQL)", "app.graphql.customers.inputs", "find_customer_id"),
    ("          ledger_page (SQL, rows)", "app.ledger.service", "ledger_page"),
    ("          promotions_by_id", "app.graphql.ledger.queries", "promotions_by_id"),
    ("          LedgerEntry.from_row (entries built)", "app.graphql.ledger.types", "LedgerEntry.from_row"),
    ("      database.close (ROLLBACK, pool)", "app.storage.database", "RequestDatabase.close"),
    ("    encode_json (orjson)", "app.http.app", "PointledgerGraphQL.encode_json"),
    ("    metrics.record_request", "app.http.metrics", "Metrics.record_request"),
]


def install() -> None:
    import importlib

    for label, module_name, attribute in STAGES:
        owner: Any = importlib.import_module(module_name)
        *parents, name = attribute.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        raw = inspect.getattr_static(owner, name)
        if isinstance(raw, classmethod):
            setattr(owner, name, classmethod(timed(label, raw.__func__)))
        else:
            setattr(owner, name, timed(label, getattr(owner, name)))


async def run(args: argparse.Namespace) -> None:
    from bench import TYPENAME, graphql_body, ledger_body
    from documents import CUSTOMER

    install()
    import app.http.app

    directory = Path(args.database).parent
    key = json.loads((directory / ".pointledger-demo-key.json").read_text())
    auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
    application = app.http.app.create_app()
    bodies: dict[str, list[bytes]] = {"typename": [graphql_body(TYPENAME).encode()]}
    for first in (10, 100):
        pairs = [line.partition("\t") for line in (directory / f"pairs-{first}.txt").read_text().splitlines()]
        bodies[f"page{first}"] = [ledger_body(first, mobile, cursor).encode() for mobile, _, cursor in pairs]
    bodies["customer"] = [
        graphql_body(CUSTOMER, {"lookup": {"type": "MOBILE", "value": mobile}}, "Customer").encode()
        for mobile in {body.partition("\t")[0] for body in (directory / "pairs-10.txt").read_text().splitlines()}
    ]

    async def one(body: bytes) -> bytes:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"bench"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"authorization", auth.encode()),
            ],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        sent: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                sent.append(message.get("body", b""))

        await application(scope, receive, send)
        return b"".join(sent)

    figures: dict[str, dict[str, list[float]]] = {kind: defaultdict(list) for kind in bodies}
    async with application.router.lifespan_context(application):
        for choices in bodies.values():  # warm-up: caches, plans, the pool
            for _ in range(20):
                answer = await one(random.choice(choices))
                assert b"errors" not in answer, answer[:300]
        for _ in range(args.rounds):
            for kind, choices in bodies.items():
                TOTALS.clear()
                started = time.process_time()
                for _ in range(args.count):
                    await one(random.choice(choices))
                whole = time.process_time() - started
                figures[kind]["whole (one request, in-process)"].append(1000 * whole / args.count)
                for label, value in TOTALS.items():
                    figures[kind][label].append(1000 * value / args.count)
    if args.profile:
        import cProfile
        import pstats

        # This thread's CPU only: the waits for the driver's thread are not counted.
        profiler = cProfile.Profile(time.thread_time)
        choices = bodies[args.profile]
        profiler.enable()
        for _ in range(args.count):
            await one(random.choice(choices))
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    labels = ["whole (one request, in-process)", *(label for label, _, _ in STAGES)]
    kinds = list(bodies)
    title = f"CPU ms per request (median of {args.rounds} rounds)"
    print(f"{title:<52}" + "".join(f"{kind:>10}" for kind in kinds))
    for label in labels:
        cells = [statistics.median(figures[k][label]) if figures[k].get(label) else 0.0 for k in kinds]
        print(f"{label:<52}" + "".join(f"{value:10.3f}" for value in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="the seeded SQLite file (its directory: key, pairs)")
    parser.add_argument("--count", type=int, default=300, help="requests per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--profile", choices=["typename", "page10", "page100", "customer"], help="then cProfile this kind"
    )
    parser.add_argument("--sort", default="tottime", help="cProfile's sort key (tottime, cumulative)")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    os.environ["POINTLEDGER_DATABASE_URL"] = f"sqlite+aiosqlite:///{Path(args.database).resolve()}"
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
