"""The delivery worker: moves outbox events into deliveries (one per subscribed endpoint), sends
the due ones signed as Standard Webhooks define, and records every attempt.

One pass (`run_once`): fan out queued events, lease due deliveries (at most `in_flight_max` per
endpoint at once, a customer's next event only after the previous one is done where the endpoint
asks for order), send them concurrently with timeouts and no redirects, then record the outcomes
in one write: 2xx delivered; anything else tried again after a backoff with jitter
(rules.RETRY_DELAYS) until the retry window ends, then failed; an endpoint failing for
rules.FAILING_ENDPOINT_DISABLED_AFTER is disabled with a reason. The clock is injected: `now`
comes from it, so tests move time instead of waiting for hours.

The same worker runs in the server (app/http/webhook_delivery.py) and alone (`pointledger
webhooks deliver`); workers in several processes share the work through their leases.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection
from standardwebhooks import Webhook

from app.kernel.clock import Clock
from app.organizations.repository import orgs_allowing_private_webhook_addresses
from app.storage.database import Database
from app.webhooks import repository
from app.webhooks.addresses import AddressRefusedError, destination
from app.webhooks.models import ERROR_LENGTH_MAX
from app.webhooks.rules import FAILING_ENDPOINT_DISABLED_AFTER, next_attempt_at

logger = logging.getLogger(__name__)

USER_AGENT = "pointledger-webhooks/1"
# A lease outlives the request's timeout by this much, so that a slow answer is recorded before
# another worker may take the delivery again.
LEASE_MARGIN = timedelta(seconds=5)


@dataclass(frozen=True)
class WorkerSettings:
    timeout_seconds: float = 10.0  # connect, read, write: each
    in_flight_max: int = 10  # leased deliveries per endpoint at once (over all workers)
    batch: int = 200  # events fanned out, deliveries leased, in one pass
    poll_interval_seconds: float = 1.0  # between passes that found nothing to do
    pass_spacing_seconds: float = 0.1  # from a pass's start to the next one that commits woke


@dataclass
class PassReport:
    fanned_out: int = 0  # events handed to endpoints
    sent: int = 0  # attempts made
    delivered: int = 0
    failed: int = 0  # deliveries that gave up (retry window over)
    disabled_endpoints: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookWorker:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        settings: WorkerSettings = WorkerSettings(),
        client: httpx.AsyncClient | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.database = database
        self.clock = clock
        self.settings = settings
        self.jitter = jitter  # in [0, 1): how much of rules.JITTER_SHARE a retry's delay loses
        self._client = client
        self._own_client = client is None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.timeout_seconds),
                follow_redirects=False,  # a redirect could lead anywhere, a private address included
                trust_env=False,  # no proxy from the environment between the check and the send
                headers={"user-agent": USER_AGENT},
            )
        return self._client

    async def close(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self) -> PassReport:
        """One pass: fan out, lease, send, record."""
        report = PassReport()
        now = self.clock.now()
        report.fanned_out = await self.database.run_write(
            lambda connection: repository.fan_out(connection, now=now, batch=self.settings.batch)
        )
        lease_end = now + timedelta(seconds=self.settings.timeout_seconds) + LEASE_MARGIN
        leased = await self.database.run_write(
            lambda connection: repository.claim_due(
                connection,
                now=now,
                lease_end=lease_end,
                batch=self.settings.batch,
                in_flight_max=self.settings.in_flight_max,
            )
        )
        if not leased:
            return report
        async with self.database.read() as connection:
            allowed = await orgs_allowing_private_webhook_addresses(connection, sorted({row.org_id for row in leased}))
        outcomes = await asyncio.gather(*(self._send(row, now, row.org_id in allowed) for row in leased))
        await self.database.run_write(lambda connection: self._record(connection, leased, outcomes, report))
        return report

    async def work_waiting(self) -> bool:
        """Whether a pass now would find anything to do (a read: no write transaction)."""
        now = self.clock.now()
        async with self.database.read() as connection:
            return await repository.work_waiting(connection, now=now)

    async def run_until_idle(self, passes_max: int = 100) -> PassReport:
        """Passes until one finds nothing to do (tests, `webhooks deliver --until-idle`); the sum."""
        total = PassReport()
        for _ in range(passes_max):
            report = await self.run_once()
            total.fanned_out += report.fanned_out
            total.sent += report.sent
            total.delivered += report.delivered
            total.failed += report.failed
            total.disabled_endpoints += report.disabled_endpoints
            if not report.fanned_out and not report.sent:
                break
        return total

    async def _send(self, row: Any, now: datetime, allow_private_addresses: bool) -> _Outcome:
        body = orjson.dumps(
            {"type": row.event_type, "timestamp": row.event_created_at.isoformat(), "data": row.payload}
        )
        message_id = str(row.event_id)  # the same for every delivery of the event: receivers dedupe by it
        secrets = [row.secret]
        if row.previous_secret is not None and row.previous_secret_expires_at > now:
            secrets.append(row.previous_secret)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(Webhook(secret).sign(message_id, now, body) for secret in secrets),
        }
        started = time.perf_counter()
        try:
            # Checked again at every delivery (DNS answers change), and the request goes to the
            # checked address, so a second lookup cannot lead elsewhere.
            target = await destination(row.url, allow_private_addresses=allow_private_addresses)
            url, extensions = _pinned(row.url, target.address)
            headers["host"] = urlsplit(row.url).netloc
            if urlsplit(row.url).scheme == "https":
                extensions["sni_hostname"] = target.host
            async with self.client.stream(
                "POST", url, content=body, headers=headers, extensions=extensions
            ) as response:
                status_code = response.status_code
            error = None if 200 <= status_code < 300 else f"HTTP {status_code}"
            return _Outcome(status_code, _elapsed_ms(started), error)
        except AddressRefusedError as refused:
            return _Outcome(None, _elapsed_ms(started), f"refused: {refused}"[:ERROR_LENGTH_MAX])
        except httpx.TimeoutException as timeout:
            return _Outcome(None, _elapsed_ms(started), f"timeout: {type(timeout).__name__}")
        except httpx.HTTPError as failure:
            return _Outcome(None, _elapsed_ms(started), f"{type(failure).__name__}: {failure}"[:ERROR_LENGTH_MAX])

    async def _record(
        self, connection: AsyncConnection, leased: Sequence[Any], outcomes: Sequence[_Outcome], report: PassReport
    ) -> None:
        now = self.clock.now()
        attempt_rows, finished, succeeded, failed = [], [], set(), set()
        # An endpoint deleted meanwhile took its deliveries along: nothing to record for them.
        remaining = await repository.still_there(connection, [row.id for row in leased])
        for row, outcome in zip(leased, outcomes, strict=True):
            if row.id not in remaining:
                continue
            attempt_rows.append(
                {
                    "org_id": row.org_id,
                    "endpoint_id": row.endpoint_id,
                    "delivery_id": row.id,
                    "attempt_number": row.attempts,
                    "attempted_at": now,
                    "status_code": outcome.status_code,
                    "latency_ms": outcome.latency_ms,
                    "error": outcome.error,
                }
            )
            report.sent += 1
            if outcome.succeeded:
                report.delivered += 1
                succeeded.add(row.endpoint_id)
                status, due = repository.DELIVERED, None
            else:
                failed.add(row.endpoint_id)
                due = next_attempt_at(
                    attempts=row.attempts, created_at=row.created_at, now=now, jitter_fraction=self.jitter()
                )
                status = repository.PENDING if due is not None else repository.FAILED
                report.failed += due is None
            finished.append(
                {
                    "delivery_id": row.id,
                    "status": status,
                    "next_at": due or now,
                    "finished_at": now if due is None else None,
                }
            )
        if not attempt_rows:
            return
        await repository.record_attempts(connection, attempt_rows)
        await repository.finish_deliveries(connection, finished)
        # An endpoint with a success in this pass is not failing, whatever else failed.
        if succeeded:
            await repository.endpoints_succeeded(connection, sorted(succeeded))
        if failed - succeeded:
            disabled = await repository.endpoints_failed(
                connection,
                sorted(failed - succeeded),
                now=now,
                failing_before=now - FAILING_ENDPOINT_DISABLED_AFTER,
                reason=f"every delivery failed for {FAILING_ENDPOINT_DISABLED_AFTER.days} days",
            )
            report.disabled_endpoints += disabled
            for endpoint_id in disabled:
                logger.warning(
                    "webhook endpoint %d disabled: failing for %s", endpoint_id, FAILING_ENDPOINT_DISABLED_AFTER
                )


def _pinned(url: str, address: str) -> tuple[str, dict[str, Any]]:
    """The URL with its host replaced by the checked address (brackets for IPv6)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), {}


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
