"""The server's periodic maintenance: expire what is due, convert promised points that came
due, emit notices of points expiring soon, expire tiers whose validity ended, forget old
idempotency keys. Every pass is safe to run twice or from two processes at once (each step is
exactly-once by itself), so several servers may all run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.conversions.service import convert_promised_points
from app.customers.tiers import expire_tiers
from app.http.metrics import Metrics
from app.idempotency import service as idempotency
from app.kernel.clock import Clock
from app.ledger.expiry import RunReport, expire_points, notify_expiring_points
from app.storage.database import Database
from app.webhooks.operations import DELIVERY_RETENTION_DEFAULT, forget_delivery_bookkeeping

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaintenanceReport:
    expired: RunReport
    converted: RunReport
    idempotency_keys_forgotten: int
    tiers_expired: int = 0  # standings moved back to the base tier
    expiry_notices: int = 0  # points.expiring events emitted (lots within their org's notice window)
    webhook_deliveries_forgotten: int = 0  # finished deliveries past the retention (their attempts went too)


async def _untimed(task: str, work: Awaitable[Any]) -> Any:
    return await work


async def maintain(
    database: Database,
    *,
    as_of: datetime,
    idempotency_retention: timedelta,
    timed: Callable[[str, Awaitable[Any]], Awaitable[Any]] = _untimed,
    webhook_retention: timedelta = DELIVERY_RETENTION_DEFAULT,
) -> MaintenanceReport:
    """One maintenance pass: expire what is due, then convert promised points that came due
    (a promised lot past its expiry expires where it is, it is not converted first), then tell
    of points expiring within each organisation's notice window (points.expiring), then move
    customers whose tier validity ended back to the base tier, then forget idempotency keys
    older than the retention (at least 24 hours), then delete webhook delivery bookkeeping older
    than `webhook_retention` (app/webhooks/operations.py; never the events). `timed` awaits each
    step by its task name (the server's metrics time them)."""
    expired = await timed("expiry", expire_points(database, as_of, now=as_of))
    converted = await timed("conversion", convert_promised_points(database, as_of, now=as_of))
    # After the conversion: a promised lot converting now is noticed once, as the lot it became.
    notices = await timed("expiry_notice", notify_expiring_points(database, as_of, now=as_of))
    tiers_expired = await timed("tier_expiry", expire_tiers(database, as_of, now=as_of))
    forgotten = await timed(
        "idempotency",
        database.run_write(
            lambda connection: idempotency.forget_expired(connection, now=as_of, retention=idempotency_retention)
        ),
    )
    webhooks = await timed(
        "webhook_retention", forget_delivery_bookkeeping(database, now=as_of, retention=webhook_retention)
    )
    return MaintenanceReport(
        expired=expired,
        converted=converted,
        idempotency_keys_forgotten=forgotten,
        tiers_expired=tiers_expired,
        expiry_notices=notices,
        webhook_deliveries_forgotten=webhooks.deliveries,
    )


class MaintenanceTask:
    """Runs `maintain` at start and then every `interval_seconds` in the server's event loop.

    A failed pass is logged and the next one comes at the next tick: maintenance never takes the
    server down. `stop` cancels it; a batch in flight rolls back (each batch is one transaction),
    and the next start picks up where it left off.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        interval_seconds: float,
        idempotency_retention: timedelta,
        metrics: Metrics | None = None,
        webhook_retention: timedelta = DELIVERY_RETENTION_DEFAULT,
    ) -> None:
        self.database = database
        self.metrics = metrics
        self.clock = clock
        self.interval_seconds = interval_seconds
        self.idempotency_retention = idempotency_retention
        self.webhook_retention = webhook_retention
        self.passes = 0  # passes finished, whether they succeeded or failed
        self._finished = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.interval_seconds > 0

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="pointledger-maintenance")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def wait_for_passes(self, count: int) -> None:
        """Until `count` passes have finished (tests and operators watching a start-up pass)."""
        async with self._finished:
            await self._finished.wait_for(lambda: self.passes >= count)

    async def run_once(self) -> MaintenanceReport | None:
        try:
            report = await maintain(
                self.database,
                as_of=self.clock.now(),
                idempotency_retention=self.idempotency_retention,
                webhook_retention=self.webhook_retention,
                timed=self.metrics.time_task if self.metrics is not None else _untimed,
            )
        except Exception:
            logger.exception("maintenance pass failed; the next one runs in %s s", self.interval_seconds)
            return None
        finally:
            async with self._finished:
                self.passes += 1
                self._finished.notify_all()
        if report.tiers_expired:
            logger.info("maintenance: %d customers' tiers expired", report.tiers_expired)
        if report.webhook_deliveries_forgotten:
            logger.info("maintenance: forgot %d finished webhook deliveries", report.webhook_deliveries_forgotten)
        if report.expiry_notices:
            logger.info("maintenance: %d lots' points.expiring notices emitted", report.expiry_notices)
        if report.expired.lots or report.converted.lots or report.idempotency_keys_forgotten:
            logger.info(
                "maintenance: expired %s points (%d lots, %d accounts); converted %s promised points (%d lots, "
                "%d accounts); forgot %d idempotency keys",
                report.expired.points,
                report.expired.lots,
                report.expired.accounts,
                report.converted.points,
                report.converted.lots,
                report.converted.accounts,
                report.idempotency_keys_forgotten,
            )
        return report

    async def _loop(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval_seconds)
