"""Webhook delivery in the server process: the worker's passes in the event loop, one after
another while a pass sends or takes a full batch. Then it waits: a commit of this process that
emitted events wakes it (app/outbox/feed.py's after-commit call: the pass comes at once, or the
pass spacing after the last one began, so one pass takes up many bills' events); otherwise every
poll interval it reads whether anything is queued or due (events committed by another process,
retries coming due) and runs a pass only then, so an idle server opens no write transaction for
webhooks. A failed pass is logged and the next one comes at the next tick; `stop` cancels a pass
in flight (its leases run out and any worker sends those deliveries again)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable

from app.http.metrics import Metrics
from app.kernel.clock import Clock
from app.kernel.settings import Settings
from app.kernel.waiting import wait_at_most
from app.outbox.feed import listen_for_committed_events, stop_listening_for_committed_events
from app.storage.database import Database
from app.webhooks.worker import PassReport, WebhookWorker, WorkerSettings

logger = logging.getLogger(__name__)


def worker_settings(settings: Settings) -> WorkerSettings:
    return WorkerSettings(
        timeout_seconds=settings.webhook_timeout_seconds,
        in_flight_max=settings.webhook_in_flight_per_endpoint_max,
        poll_interval_seconds=settings.webhook_poll_interval_seconds,
        pass_spacing_seconds=settings.webhook_pass_spacing_seconds,
    )


async def deliver_forever(
    worker: WebhookWorker,
    observe: Callable[[PassReport], None] | None = None,
    woken: asyncio.Event | None = None,
) -> None:
    """Passes until cancelled: the next at once after one that sent something (more may be due
    behind the in-flight limit) or fanned out a full batch (more is queued); else wait until
    `woken` is set (events committed) or the poll interval passed, then a pass if there is work
    (woken: at once; polled: when a read finds some), never sooner than the pass spacing after the
    last pass began. `observe` sees each pass's report.

    The spacing: under a stream of bills every commit wakes the worker, and a pass per bill (two
    write transactions, however few events it fans out) cost each bill 1-2 ms more CPU once a
    process had time to spare between requests, as with two workers on PostgreSQL
    (scripts/bench_tools/bill_contention.py: 2.0 transactions committed per bill instead of 1.25).
    A pass now takes up what the spacing gathered; an event leaves at most that much later."""
    woken = woken or asyncio.Event()
    loop = asyncio.get_running_loop()
    more_waiting, last_started = True, -math.inf
    while True:
        try:
            if more_waiting or woken.is_set() or await worker.work_waiting():
                if not more_waiting:
                    await asyncio.sleep(last_started + worker.settings.pass_spacing_seconds - loop.time())
                last_started = loop.time()
                woken.clear()
                report = await worker.run_once()
                if observe is not None:
                    observe(report)
                more_waiting = report.sent > 0 or report.fanned_out >= worker.settings.batch
            else:
                more_waiting = False
        except Exception:
            logger.exception("webhook delivery pass failed")
            more_waiting = False
        if not more_waiting and not woken.is_set():
            await wait_at_most(woken, worker.settings.poll_interval_seconds)


class WebhookDeliveryTask:
    def __init__(self, database: Database, clock: Clock, settings: Settings, metrics: Metrics | None = None) -> None:
        self.worker = WebhookWorker(database, clock, settings=worker_settings(settings))
        self.metrics = metrics
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _wake(self, org_id: int) -> None:
        task = self._task
        # Only a running task's loop may be woken (an app not shut down leaves its listener behind).
        if task is not None and not task.done() and not task.get_loop().is_closed():
            self._woken.set()

    def _observe(self, report: PassReport) -> None:
        if self.metrics is not None:
            self.metrics.count_webhook_pass(report)

    async def run_once(self) -> PassReport:
        """One pass of the worker, counted in the metrics (tests; the task runs them itself)."""
        report = await self.worker.run_once()
        self._observe(report)
        return report

    @property
    def enabled(self) -> bool:
        return self.worker.settings.poll_interval_seconds > 0

    def start(self) -> None:
        if self.enabled and self._task is None:
            listen_for_committed_events(self._wake)
            self._task = asyncio.create_task(
                deliver_forever(self.worker, self._observe, self._woken), name="pointledger-webhooks"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        stop_listening_for_committed_events(self._wake)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.worker.close()
