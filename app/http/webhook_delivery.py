"""Webhook delivery in the server process: the worker's passes in the event loop, one after
another while there is work, then every poll interval. A failed pass is logged and the next one
comes at the next tick; `stop` cancels a pass in flight (its leases run out and any worker sends
those deliveries again)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from app.http.metrics import Metrics
from app.kernel.clock import Clock
from app.kernel.settings import Settings
from app.storage.database import Database
from app.webhooks.worker import PassReport, WebhookWorker, WorkerSettings

logger = logging.getLogger(__name__)


def worker_settings(settings: Settings) -> WorkerSettings:
    return WorkerSettings(
        timeout_seconds=settings.webhook_timeout_seconds,
        in_flight_max=settings.webhook_in_flight_per_endpoint_max,
        poll_interval_seconds=settings.webhook_poll_interval_seconds,
    )


async def deliver_forever(worker: WebhookWorker, observe: Callable[[PassReport], None] | None = None) -> None:
    """Passes until cancelled: the next at once after one that did something, else after the poll
    interval. `observe` sees each pass's report (the server's metrics)."""
    while True:
        try:
            report = await worker.run_once()
            if observe is not None:
                observe(report)
            busy = bool(report.fanned_out or report.sent)
        except Exception:
            logger.exception("webhook delivery pass failed")
            busy = False
        if not busy:
            await asyncio.sleep(worker.settings.poll_interval_seconds)


class WebhookDeliveryTask:
    def __init__(self, database: Database, clock: Clock, settings: Settings, metrics: Metrics | None = None) -> None:
        self.worker = WebhookWorker(database, clock, settings=worker_settings(settings))
        self.metrics = metrics
        self._task: asyncio.Task[None] | None = None

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
            self._task = asyncio.create_task(deliver_forever(self.worker, self._observe), name="pointledger-webhooks")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.worker.close()
