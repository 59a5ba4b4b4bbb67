"""The delivery machinery seen by its operator: the backlog (for /metrics) and the retention of
delivery bookkeeping (for the maintenance pass).

Retention deletes what only records how events were delivered: webhook deliveries delivered or
given up longer ago than the retention, with their attempts (the delivery log), and the outbox's
queue rows of events fanned out longer ago. Pending deliveries are never deleted, and neither are
the events themselves (outbox_events): subscribers resume from them, replayWebhooks resends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.storage.database import Database
from app.webhooks import repository

DELIVERY_RETENTION_DEFAULT = timedelta(days=30)  # settings.webhook_retention_days
RETENTION_BATCH = 1000  # rows deleted in one write transaction (the SQLite writer is held briefly)


@dataclass(frozen=True)
class Backlog:
    queued_events: int  # committed events not yet handed to the endpoints (the fan-out queue)
    oldest_queued_age_seconds: float  # 0 when none is queued
    pending_deliveries: int  # deliveries not yet delivered nor given up (retries included)
    oldest_pending_age_seconds: float  # since the oldest pending delivery was made; 0 when none


async def backlog(database: Database, *, now: datetime) -> Backlog:
    async with database.read() as connection:
        queued, queued_since, pending, pending_since = await repository.backlog(connection)
    return Backlog(queued, _age_seconds(queued_since, now), pending, _age_seconds(pending_since, now))


def _age_seconds(since: datetime | None, now: datetime) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


@dataclass(frozen=True)
class Forgotten:
    deliveries: int = 0
    attempts: int = 0
    queue_rows: int = 0


async def forget_delivery_bookkeeping(database: Database, *, now: datetime, retention: timedelta) -> Forgotten:
    """Delete the delivery bookkeeping older than `retention` (see the module doc), in batches of
    RETENTION_BATCH rows, each its own write transaction; returns what was deleted."""
    cutoff = now - retention
    deliveries = attempts = queue_rows = 0
    while True:
        deleted, attempts_deleted = await database.run_write(
            lambda connection: repository.forget_finished_deliveries(connection, cutoff=cutoff, limit=RETENTION_BATCH)
        )
        deliveries += deleted
        attempts += attempts_deleted
        if deleted < RETENTION_BATCH:
            break
    while True:
        deleted = await database.run_write(
            lambda connection: repository.forget_fanned_out_queue_rows(connection, cutoff=cutoff, limit=RETENTION_BATCH)
        )
        queue_rows += deleted
        if deleted < RETENTION_BATCH:
            break
    return Forgotten(deliveries, attempts, queue_rows)
