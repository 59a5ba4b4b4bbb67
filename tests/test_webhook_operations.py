"""Webhook delivery as its operator sees it: the worker's passes counted in /metrics and the
backlog read at each scrape, with exact values; the maintenance pass deleting delivery
bookkeeping past the retention (delivered and failed deliveries, their attempts, the outbox's
fanned-out queue rows), never pending deliveries nor the events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.outbox import feed
from app.outbox.models import OutboxDelivery, OutboxEvent
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.client import Api, buy
from tests.conftest import make_org
from tests.factories import new_mobile
from tests.test_metrics import metrics_server, scrape
from tests.test_webhooks import BILL_EVENTS, created, log, outbox, private_spec
from tests.webhook_receiver import running_receiver

BACKLOG = (
    "pointledger_outbox_events_queued",
    "pointledger_outbox_oldest_queued_event_age_seconds",
    "pointledger_webhook_deliveries_pending",
    "pointledger_webhook_oldest_pending_delivery_age_seconds",
)
WORKER = (
    "pointledger_webhook_events_fanned_out_total",
    "pointledger_webhook_attempts_total",
    "pointledger_webhook_deliveries_failed_total",
    "pointledger_webhook_endpoints_disabled_total",
)


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


@pytest.fixture
async def server(database, clock) -> AsyncIterator[tuple[Any, Api]]:
    """An app whose worker and maintenance run only when the test says (services, the org's Api)."""
    credentials = await make_org(database, private_spec())
    async with metrics_server(database, clock, webhook_poll_interval_seconds=0, maintenance_interval_seconds=0) as (
        services,
        client,
    ):
        yield services, Api(client, credentials, database, clock)


def backlog_and_worker(samples: dict[str, dict[tuple, float]]) -> dict[str, dict[tuple, float]]:
    return {name: samples.get(name, {}) for name in BACKLOG + WORKER}


async def rows(database: Any, model: Any) -> list[dict]:
    table = model.__table__
    async with database.read() as connection:
        found = (await connection.execute(select(table).order_by(*table.primary_key.columns))).all()
    return [row._asdict() for row in found]


async def test_the_backlog_is_read_at_each_scrape_and_the_worker_s_passes_are_counted(
    server, database, receiver, clock
):
    services, api = server
    await created(api, receiver.endpoint())  # transaction.added and points.earned
    idle = await scrape(api.client)
    await buy(api, new_mobile(), "500")
    await buy(api, new_mobile(), "700")
    events = await outbox(database)
    [refused] = [event for event in events if event["type"] == "points.earned"][:1]
    receiver.script_by_webhook_id[str(refused["id"])] = [500]
    clock.advance(timedelta(seconds=90))

    queued = await scrape(api.client)
    await services.webhooks.run_once()
    clock.advance(timedelta(seconds=60))
    after_pass = await scrape(api.client)

    assert backlog_and_worker(idle) == {
        "pointledger_outbox_events_queued": {(): 0},
        "pointledger_outbox_oldest_queued_event_age_seconds": {(): 0},
        "pointledger_webhook_deliveries_pending": {(): 0},
        "pointledger_webhook_oldest_pending_delivery_age_seconds": {(): 0},
        "pointledger_webhook_events_fanned_out_total": {(): 0},
        "pointledger_webhook_attempts_total": {},
        "pointledger_webhook_deliveries_failed_total": {(): 0},
        "pointledger_webhook_endpoints_disabled_total": {(): 0},
    }
    assert backlog_and_worker(queued)["pointledger_outbox_events_queued"] == {(): len(events)}
    assert backlog_and_worker(queued)["pointledger_outbox_oldest_queued_event_age_seconds"] == {(): 90}
    assert backlog_and_worker(after_pass) == {
        "pointledger_outbox_events_queued": {(): 0},
        "pointledger_outbox_oldest_queued_event_age_seconds": {(): 0},
        "pointledger_webhook_deliveries_pending": {(): 1},  # the refused points.earned, to be retried
        "pointledger_webhook_oldest_pending_delivery_age_seconds": {(): 60},
        "pointledger_webhook_events_fanned_out_total": {(): len(events)},
        "pointledger_webhook_attempts_total": {("delivered",): 3, ("refused",): 1},
        "pointledger_webhook_deliveries_failed_total": {(): 0},
        "pointledger_webhook_endpoints_disabled_total": {(): 0},
    }
    assert len(receiver.received) == 4


async def test_deliveries_given_up_are_counted_as_failed(server, receiver, clock):
    services, api = server
    await created(api, receiver.endpoint(), ["points.earned"])
    receiver.default = 500
    await buy(api, new_mobile(), "500")

    await services.webhooks.run_once()
    clock.advance(timedelta(days=3, seconds=1))  # past the retry window
    await services.webhooks.run_once()

    samples = backlog_and_worker(await scrape(api.client))
    assert samples["pointledger_webhook_attempts_total"] == {("delivered",): 0, ("refused",): 2}
    assert samples["pointledger_webhook_deliveries_failed_total"] == {(): 1}
    assert samples["pointledger_webhook_deliveries_pending"] == {(): 0}


async def test_the_maintenance_pass_forgets_finished_deliveries_and_their_attempts_past_the_retention(
    server, database, receiver, clock
):
    services, api = server
    endpoint_id, _ = await created(api, receiver.endpoint())
    start = clock.now()
    await buy(api, new_mobile(), "500")
    await services.webhooks.run_once()  # delivered at the start
    clock.set(start + timedelta(days=30))
    await buy(api, new_mobile(), "700")
    await services.webhooks.run_once()  # delivered 30 days later
    recent_attempts = (await log(api, endpoint_id))["attempts"][:2]
    events = await rows(database, OutboxEvent)
    recent_queue_rows = [row for row in await rows(database, OutboxDelivery) if row["delivered_at"] > start]
    recent_deliveries = [row for row in await rows(database, WebhookDelivery) if row["created_at"] > start]
    clock.set(start + timedelta(days=30, seconds=1))  # the first bill's deliveries are now older than 30 days

    await services.maintenance.run_once()

    assert await rows(database, WebhookDelivery) == recent_deliveries
    assert [row["delivery_id"] for row in await rows(database, WebhookAttempt)] == [
        row["id"] for row in recent_deliveries
    ]
    assert (await log(api, endpoint_id))["attempts"] == recent_attempts
    assert await rows(database, OutboxDelivery) == recent_queue_rows
    assert await rows(database, OutboxEvent) == events  # the events stay
    samples = await scrape(api.client)
    assert samples["pointledger_maintenance_task_duration_seconds_count"][("ok", "webhook_retention")] == 1


async def test_pending_deliveries_are_kept_whatever_their_age_and_failed_ones_go_after_the_retention(
    server, database, receiver, clock
):
    services, api = server
    await created(api, receiver.endpoint(), ["points.earned"])
    receiver.default = 500
    start = clock.now()
    await buy(api, new_mobile(), "500")
    await services.webhooks.run_once()
    clock.set(start + timedelta(days=3, seconds=1))
    await services.webhooks.run_once()  # the first bill's delivery gives up: FAILED
    await buy(api, new_mobile(), "700")
    await services.webhooks.run_once()  # the second bill's delivery is refused once: PENDING
    [failed, pending] = await rows(database, WebhookDelivery)
    assert (failed["status"], pending["status"]) == ("FAILED", "PENDING")
    pending_attempts = [row for row in await rows(database, WebhookAttempt) if row["delivery_id"] == pending["id"]]
    clock.set(start + timedelta(days=40))  # both older than 30 days

    await services.maintenance.run_once()

    assert await rows(database, WebhookDelivery) == [pending]
    assert await rows(database, WebhookAttempt) == pending_attempts
    assert await rows(database, OutboxDelivery) == []  # both events were fanned out more than 30 days ago
    assert len(await rows(database, OutboxEvent)) == len(await outbox(database))


async def test_the_retention_is_a_setting(database, clock, receiver):
    credentials = await make_org(database, private_spec())
    async with metrics_server(
        database, clock, webhook_poll_interval_seconds=0, maintenance_interval_seconds=0, webhook_retention_days=40
    ) as (services, client):
        api = Api(client, credentials, database, clock)
        await created(api, receiver.endpoint())
        start = clock.now()
        await buy(api, new_mobile(), "500")
        await services.webhooks.run_once()
        delivered = await rows(database, WebhookDelivery)
        clock.set(start + timedelta(days=39))

        await services.maintenance.run_once()

        assert [row["status"] for row in delivered] == ["DELIVERED", "DELIVERED"]
        assert await rows(database, WebhookDelivery) == delivered


async def received(receiver: Any, count: int, timeout_seconds: float = 30) -> int:
    """Waits in a thread (the server's worker runs in this event loop) until the receiver got
    `count` requests, failing after the timeout; how many it got."""
    await asyncio.to_thread(receiver.wait_for, count, timeout_seconds)
    return len(receiver.received)


async def test_a_commit_that_emitted_events_wakes_the_server_s_worker(database, clock, receiver):
    credentials = await make_org(database, private_spec())
    # Polling once an hour: only the wake-up after the commit can deliver within the test.
    async with metrics_server(database, clock, webhook_poll_interval_seconds=3600, maintenance_interval_seconds=0) as (
        services,
        client,
    ):
        api = Api(client, credentials, database, clock)
        await created(api, receiver.endpoint())
        services.webhooks.start()
        try:
            await buy(api, new_mobile(), "500")
            first = await received(receiver, 2)
            await buy(api, new_mobile(), "700")
            second = await received(receiver, 4)
        finally:
            await services.webhooks.stop()

    assert (first, second) == (2, 4)
    assert sorted(request.webhook_id for request in receiver.received) == sorted(
        str(event["id"]) for event in await outbox(database) if event["type"] in BILL_EVENTS
    )


async def test_a_stream_of_bills_is_fanned_out_by_a_pass_per_spacing_not_a_pass_per_bill(database, clock, monkeypatch):
    """Every bill's commit wakes the server's worker; its passes come at most one per spacing (a
    pass per bill cost each bill two write transactions more), and every event still leaves the
    queue. The org has no endpoint: the passes fan out to nobody and send nothing."""
    credentials = await make_org(database, private_spec())
    spacing_seconds, bills = 1.0, 12
    async with metrics_server(
        database,
        clock,
        webhook_poll_interval_seconds=3600,  # only the commits wake the worker
        webhook_pass_spacing_seconds=spacing_seconds,
        maintenance_interval_seconds=0,
    ) as (services, client):
        api = Api(client, credentials, database, clock)
        worker = services.webhooks.worker
        passes = 0
        run_once = worker.run_once

        async def counted_pass() -> Any:
            nonlocal passes
            passes += 1
            return await run_once()

        monkeypatch.setattr(worker, "run_once", counted_pass)
        loop = asyncio.get_running_loop()
        services.webhooks.start()
        try:
            started = loop.time()
            for _ in range(bills):
                await buy(api, new_mobile(), "500")
            elapsed_seconds = loop.time() - started
            passes_during_the_stream = passes
            async with asyncio.timeout(30):  # the last pass comes within a spacing
                while True:
                    if not await queued(database):
                        break
                    await asyncio.sleep(0.05)
        finally:
            await services.webhooks.stop()

    # The task's first pass at its start, then one per spacing begun while the bills came.
    assert 1 <= passes_during_the_stream <= 2 + elapsed_seconds // spacing_seconds, (passes, elapsed_seconds)
    assert await queued(database) == 0


async def queued(database: Any) -> int:
    """Events in the outbox's queue not fanned out yet."""
    async with database.read() as connection:
        statement = select(func.count()).select_from(OutboxDelivery).where(OutboxDelivery.delivered_at.is_(None))
        return (await connection.execute(statement)).scalar_one()


async def test_an_idle_worker_reads_whether_work_waits_and_opens_no_write_transaction(
    database, clock, receiver, monkeypatch
):
    credentials = await make_org(database, private_spec())
    async with metrics_server(database, clock, webhook_poll_interval_seconds=0.01, maintenance_interval_seconds=0) as (
        services,
        client,
    ):
        api = Api(client, credentials, database, clock)
        await created(api, receiver.endpoint(), ["points.earned"])
        worker = services.webhooks.worker
        receiver.default = 500
        await buy(api, new_mobile(), "500")
        waiting_with_a_bill = await worker.work_waiting()
        await services.webhooks.run_once()  # refused: due again in 5 seconds
        waiting_before_the_retry = await worker.work_waiting()
        clock.advance(timedelta(seconds=5))
        waiting_at_the_retry = await worker.work_waiting()
        await services.webhooks.run_once()  # refused again: due in 5 minutes

        polls, writes = 0, 0
        enough = asyncio.Event()
        checked = worker.work_waiting
        run_write = database.run_write

        async def counted_check() -> bool:
            nonlocal polls
            polls += 1
            if polls == 5:
                enough.set()
            return await checked()

        def counted_write(*args: Any, **kwargs: Any) -> Any:
            nonlocal writes
            writes += 1
            return run_write(*args, **kwargs)

        monkeypatch.setattr(worker, "work_waiting", counted_check)
        monkeypatch.setattr(database, "run_write", counted_write)
        services.webhooks.start()
        try:
            await asyncio.wait_for(enough.wait(), 30)
            writes_after_the_first_pass = writes  # the task's first pass runs at once
        finally:
            await services.webhooks.stop()

    assert (waiting_with_a_bill, waiting_before_the_retry, waiting_at_the_retry) == (True, False, True)
    assert writes_after_the_first_pass == 2  # that first pass's fan-out and lease: nothing to send
    assert len(receiver.received) == 2


async def test_a_failing_listener_of_committed_events_does_not_fail_the_write(api, database):
    called: list[int] = []

    def failing(org_id: int) -> None:
        called.append(org_id)
        raise RuntimeError("listener broke")

    feed.listen_for_committed_events(failing)
    try:
        added = await buy(api, new_mobile(), "500")
    finally:
        feed.stop_listening_for_committed_events(failing)

    assert added["__typename"] == "TransactionAdded"
    assert called == [api.credentials.org_id]
    assert [event["type"] for event in await outbox(database)] == ["transaction.added", "points.earned"]
