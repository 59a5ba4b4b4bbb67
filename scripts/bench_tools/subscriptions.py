"""What live subscriptions cost a bill, in-process on SQLite: CPU per addTransaction (the whole
ASGI app through httpx, the WebSocket clients included) with no subscriber, and with N
subscribers on other customers plus one on the bill's customer (who receives each bill's two
events), in alternating rounds; and the outbox reads the feed made per bill.

    .venv/bin/python scripts/bench_tools/subscriptions.py [--subscribers 20] [--bills 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


async def run(args: argparse.Namespace) -> None:
    import httpx
    from httpx_ws import aconnect_ws
    from httpx_ws.transport import ASGIWebSocketTransport
    from sqlalchemy import event

    from app.http.app import create_app
    from app.kernel.clock import FrozenClock
    from app.kernel.settings import Settings
    from app.storage import migrate
    from app.storage.database import Database
    from tests.client import Api, buy
    from tests.conftest import TEST_NOW, make_org
    from tests.factories import new_mobile, org_spec
    from tests.test_subscriptions import CUSTOMER_LEDGER, PROTOCOL, last_event_id

    directory = Path(tempfile.mkdtemp(prefix="bench-subscriptions-"))
    url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    await migrate.upgrade(url)
    database = Database(url)
    org = await make_org(database, org_spec("acme"))
    clock = FrozenClock(TEST_NOW)
    app = create_app(Settings(database_url=url, access_log=False), database=database, clock=clock)
    reads = [0]

    def count(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "outbox_events" in statement:
            reads[0] += 1

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        api = Api(client, org, database, clock)
        buyer, others = new_mobile(), [new_mobile() for _ in range(args.subscribers)]
        for mobile in [buyer, *others]:
            await buy(api, mobile, "100")

        async def bills(count_bills: int) -> float:
            started = time.process_time()
            for _ in range(count_bills):
                await buy(api, buyer, "1000")
            return (time.process_time() - started) / count_bills * 1000

        without, with_subscribers, reads_per_bill = [], [], []
        for _ in range(args.rounds):
            without.append(await bills(args.bills))
            async with AsyncExitStack() as stack:
                ws_client = await stack.enter_async_context(
                    httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://bench")
                )
                socket = await stack.enter_async_context(aconnect_ws("/graphql", ws_client, subprotocols=[PROTOCOL]))
                await socket.send_json({"type": "connection_init", "payload": {"Authorization": org.header}})
                await socket.receive_json()
                after = await last_event_id(database, org.org_id)
                for number, mobile in enumerate([buyer, *others]):
                    variables = {"customer": {"type": "MOBILE", "value": mobile}, "after": after}
                    await socket.send_json(
                        {
                            "id": str(number),
                            "type": "subscribe",
                            "payload": {"query": CUSTOMER_LEDGER, "variables": variables},
                        }
                    )

                draining = asyncio.create_task(drain(socket))
                await bills(5)  # every subscription set up and live
                event.listen(database.read_engine.sync_engine, "before_cursor_execute", count)
                reads[0] = 0
                with_subscribers.append(await bills(args.bills))
                reads_per_bill.append(reads[0] / args.bills)
                event.remove(database.read_engine.sync_engine, "before_cursor_execute", count)
                draining.cancel()
    await app.state.services.imports.stop()
    await database.dispose()
    print(f"CPU per bill, no subscriber:      {[round(value, 2) for value in without]} ms")
    print(f"CPU per bill, {args.subscribers + 1} subscribers:    {[round(value, 2) for value in with_subscribers]} ms")
    print(f"ratio (medians): {statistics.median(with_subscribers) / statistics.median(without):.2f}")
    print(f"outbox reads per bill with {args.subscribers + 1} subscribers: {reads_per_bill}")


async def drain(socket: Any) -> None:
    """Read what the subscriptions send, as a client keeping up does."""
    while True:
        await socket.receive_json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--bills", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
