"""Where a returning customer's addTransaction spends its CPU, stage by stage, in-process.

    .venv/bin/python scripts/bench_tools/bill_stages.py --database /path/bench.db [--count 300] [--kind returning]

The whole ASGI app runs in this process (httpx's ASGITransport, one request at a time, as
bill_cost.py does). Chosen functions are wrapped with a timer of the process's CPU (inclusive:
a stage contains the stages it calls); SQL is timed twice: each `AsyncConnection.execute` (our
call through SQLAlchemy's async layer to the row) and the driver's cursor call alone
(before/after_cursor_execute). A wrapper costs ~1-2 us, so the figures are a few percent high.
Needs a database seeded as scripts/bench does (see bill_cost.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import importlib
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# (module, attribute path, label): wrapped where the callers look them up.
STAGES = [
    ("app.http.app", "PointledgerGraphQL.__call__", "view: the whole GraphQL request"),
    ("app.http.app", "PointledgerGraphQL.parse_http_body", "view: parse the HTTP body"),
    ("app.http.app", "PointledgerGraphQL.execute_operation", "execute the operation"),
    ("strawberry.types.arguments", "convert_arguments", "convert the input (Strawberry + plans)"),
    ("app.graphql.transactions.inputs", "TransactionAddInput.to_domain", "input to domain"),
    ("app.graphql.transactions.mutations.add_transaction", "add_transaction", "service: add_transaction"),
    ("app.transactions.service", "prepare", "service: prepare (rules, phone numbers, hash)"),
    ("app.idempotency.service", "write_once", "service: the write (BEGIN .. COMMIT)"),
    ("app.storage.database", "Database._write_once", "write: one transaction (lock taken)"),
    ("sqlalchemy.ext.asyncio.engine", "AsyncConnection.start", "write: check out the connection"),
    ("sqlalchemy.ext.asyncio.engine", "AsyncTransaction.start", "write: BEGIN IMMEDIATE (the thread)"),
    ("app.storage.direct_statements", "DirectConnection.begin_here", "write: BEGIN IMMEDIATE (on the driver)"),
    ("app.storage.direct_statements", "DirectConnection.checkpoint", "write: WAL checkpoint (when due)"),
    ("sqlalchemy.ext.asyncio.engine", "AsyncTransaction.commit", "write: COMMIT (the thread)"),
    ("app.storage.sqlite_driver", "InlineConnection.commit", "write: COMMIT (the driver's connection call)"),
    ("app.transactions.service", "_add", "write: _add"),
    ("app.transactions.service", "_find_same_bill", "write: same-bill check"),
    ("app.customers.service", "resolve_for_transaction", "write: find the customer"),
    ("app.customers.service", "update_details", "write: update the customer's names"),
    ("app.transactions.service", "_lock_standing", "write: lock standing + account"),
    ("app.promotions.service", "apply_to_bill", "write: promotions"),
    ("app.transactions.repository", "insert_transaction", "write: insert the bill"),
    ("app.transactions.service", "_insert_line_items", "write: line items"),
    ("app.transactions.service", "_apply_earning", "write: post points, move standing"),
    ("app.ledger.service", "post_event", "write: ledger post_event"),
    ("app.customers.service", "load_customers", "write: read the customer back"),
    ("app.outbox.service", "_Staged.__call__", "write: outbox flush"),
    ("app.graphql.transactions.mutations.add_transaction", "transaction_added", "map the result"),
    ("app.storage.database", "RequestDatabase._end_snapshot", "end the request's read snapshot"),
    ("app.graphql.core.compiled", "Execution.complete_value", "complete the result"),
]

cpu: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)
depth: dict[str, int] = defaultdict(int)


def wrap(function: Any, label: str) -> Any:
    if asyncio.iscoroutinefunction(function):

        @functools.wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            outer = depth[label] == 0
            depth[label] += 1
            started = time.process_time()
            try:
                return await function(*args, **kwargs)
            finally:
                depth[label] -= 1
                if outer:
                    cpu[label] += time.process_time() - started
                    calls[label] += 1

        return timed_async

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        outer = depth[label] == 0
        depth[label] += 1
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            depth[label] -= 1
            if outer:
                cpu[label] += time.process_time() - started
                calls[label] += 1

    return timed


def install() -> None:
    for module_name, attribute, label in STAGES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, wrap(getattr(owner, name), label))
    # Strawberry binds convert_arguments by name in the schema converter.
    import strawberry.schema.schema_converter as converter

    converter.convert_arguments = importlib.import_module("strawberry.types.arguments").convert_arguments
    from sqlalchemy.ext.asyncio import AsyncConnection

    AsyncConnection.execute = wrap(AsyncConnection.execute, "SQL: AsyncConnection.execute")  # type: ignore[method-assign]


async def run(args: argparse.Namespace) -> None:
    import httpx
    from bench import add_body
    from seed import returning_mobile
    from sqlalchemy import event

    import app.http.app

    install()
    key = json.loads((Path(args.database).parent / ".pointledger-demo-key.json").read_text())
    auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
    application = app.http.app.create_app()
    database = application.state.services.database
    started_at: list[float] = []

    by_statement: dict[str, float] = defaultdict(float)

    def before(*_: Any) -> None:
        started_at.append(time.process_time())

    def after(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        spent = time.process_time() - started_at.pop()
        cpu["SQL: driver cursor.execute"] += spent
        calls["SQL: driver cursor.execute"] += 1
        by_statement[" ".join(statement.split())[:70]] += spent

    for engine in {database.read_engine, database.write_engine}:
        event.listen(engine.sync_engine, "before_cursor_execute", before)
        event.listen(engine.sync_engine, "after_cursor_execute", after)
    tag = f"S{os.getpid()}-{time.time_ns() % 10**9}"
    counter = iter(range(10**9))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://bench") as client:

        async def one() -> None:
            number = next(counter)
            mobile = (
                returning_mobile(number % args.customers)
                if args.kind == "returning"
                else f"96{(os.getpid() * 100_003 + number) % 10**8:08d}"
            )
            response = await client.post(
                "/graphql",
                content=add_body(f"{tag}-{number}", mobile),
                headers={"content-type": "application/json", "authorization": auth},
            )
            if b'"TransactionAdded"' not in response.content:
                raise SystemExit(response.text[:600])

        for _ in range(args.warmup):
            await one()
        cpu.clear()
        calls.clear()
        by_statement.clear()
        total = time.process_time()
        for _ in range(args.count):
            await one()
        total = time.process_time() - total
    await database.dispose()
    per_request = 1000 * total / args.count
    print(f"{args.kind} bill, {args.count} requests: {per_request:.3f} ms CPU a request (client included)")
    for _, _, label in [*STAGES, ("", "", "SQL: AsyncConnection.execute"), ("", "", "SQL: driver cursor.execute")]:
        if calls[label]:
            print(
                f"  {label:<46} {1000 * cpu[label] / args.count:7.3f} ms"
                f"  ({calls[label] / args.count:.1f} calls per request)"
            )
    if args.statements:
        for statement, spent in sorted(by_statement.items(), key=lambda item: -item[1]):
            print(f"    {1000 * spent / args.count:7.3f} ms  {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--kind", choices=["returning", "new"], default="returning")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--customers", type=int, default=1000, help="returning customers seed.py registered")
    parser.add_argument("--statements", action="store_true", help="the driver's CPU per statement")
    args = parser.parse_args()
    os.environ["POINTLEDGER_DATABASE_URL"] = f"sqlite+aiosqlite:///{Path(args.database).resolve()}"
    os.environ.setdefault("POINTLEDGER_ACCESS_LOG", "false")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
