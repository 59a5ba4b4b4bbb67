"""Webhook delivery figures, in-process on a fresh SQLite file: bills posted through the ASGI app
(one request at a time) with and without one endpoint subscribed, interleaved in rounds so the
machine's other load falls on both, then the worker delivering their events to a Starlette
receiver on a loopback port (the tests' receiver, uvicorn in a thread of this process).

    .venv/bin/python scripts/bench_tools/webhooks.py [--bills 200] [--rounds 3]

Prints, per mode: CPU ms per bill (the bill's request alone), CPU ms per bill with the worker's
pass for its events (fan-out, and with the endpoint: signing, sending, recording), and with the
endpoint the events delivered per second (wall clock, receiver answering 200 at once). CPU is this
process's (time.process_time: the receiver's thread included).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


async def run(args: argparse.Namespace) -> None:
    import httpx

    from app.http.app import create_app
    from app.kernel.clock import SystemClock
    from app.kernel.settings import Settings
    from app.storage import migrate
    from app.storage.database import Database
    from app.webhooks import service
    from app.webhooks.worker import WebhookWorker, WorkerSettings
    from tests.client import Api, buy
    from tests.conftest import make_org, org_config
    from tests.factories import new_mobile, org_spec
    from tests.webhook_receiver import running_receiver

    directory = Path(tempfile.mkdtemp(prefix="pointledger-webhooks-bench-"))
    try:
        url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
        await migrate.upgrade(url)
        database = Database(url)
        clock = SystemClock()
        credentials = await make_org(database, {**org_spec("bench"), "webhooks": {"allow_private_addresses": True}})
        org = await org_config(database, credentials.org_id)
        assert org is not None
        application = create_app(
            Settings(database_url=url, webhook_poll_interval_seconds=0), database=database, clock=clock
        )
        worker = WebhookWorker(database, clock, settings=WorkerSettings(timeout_seconds=10))
        figures: dict[str, dict[str, list[float]]] = {"without": {}, "with": {}}
        with running_receiver() as receiver:
            endpoint = await service.create_endpoint(
                database,
                org,
                service.EndpointRequest(receiver.endpoint(), ["transaction.added", "points.earned"]),
                now=clock.now(),
            )
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                api = Api(client, credentials, database, clock)  # type: ignore[arg-type]
                for _ in range(args.rounds):
                    for mode in ("without", "with"):
                        await service.update_endpoint(
                            database,
                            org,
                            endpoint.endpoint.id,
                            service.EndpointChanges(enabled=mode == "with"),
                            now=clock.now(),
                        )
                        received = len(receiver.received)
                        started = time.process_time()
                        for _ in range(args.bills):
                            await buy(api, new_mobile(), "500")
                        bills_cpu = time.process_time() - started
                        wall = time.perf_counter()
                        await worker.run_until_idle(passes_max=10_000)
                        wall = time.perf_counter() - wall
                        total_cpu = time.process_time() - started
                        delivered = len(receiver.received) - received
                        found = figures[mode]
                        found.setdefault("bill_ms", []).append(bills_cpu / args.bills * 1000)
                        found.setdefault("bill_and_delivery_ms", []).append(total_cpu / args.bills * 1000)
                        found.setdefault("delivered", []).append(delivered)
                        found.setdefault("events_per_second", []).append(delivered / wall if delivered else 0.0)
        await worker.close()
        await database.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # the bench's throwaway database

    def median(mode: str, name: str) -> float:
        return statistics.median(figures[mode][name])

    print(f"{args.rounds} rounds of {args.bills} bills each, interleaved; medians")
    for mode in ("without", "with"):
        print(
            f"  {mode:7} endpoint: {median(mode, 'bill_ms'):6.2f} ms CPU a bill, "
            f"{median(mode, 'bill_and_delivery_ms'):6.2f} ms with its delivery pass, "
            f"{median(mode, 'delivered'):5.0f} events delivered, {median(mode, 'events_per_second'):7.1f} events/s"
        )
    print(
        f"  bills/s ratio with / without (CPU): {median('without', 'bill_ms') / median('with', 'bill_ms'):.3f}; "
        f"with delivery: {median('without', 'bill_and_delivery_ms') / median('with', 'bill_and_delivery_ms'):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bills", type=int, default=200, help="bills a round, per mode")
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
