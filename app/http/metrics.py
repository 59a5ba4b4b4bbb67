"""Prometheus metrics, served at /metrics in the text format.

What is counted, and where:
- `pointledger_graphql_request_duration_seconds{operation,result}` (a histogram: its `_count` is
  the request count): every GraphQL request the server parsed, timed from its body to its answer.
  `operation` is the operation's name (the client's `operationName`, else the document's named
  operation), "anonymous" without one, "other" when the name is not a plain GraphQL name or more
  than `operation_names_max` distinct names were seen (clients choose names: the label must not
  grow without bound). `result` is "ok", the code of the first typed error the answer carries
  (INVALID_INPUT, CUSTOMER_NOT_FOUND, ...: the ErrorCode enum bounds them; or the code of a
  refusal of ours before execution, QUERY_TOO_COMPLEX), "invalid_request"
  (GraphQL itself refused the document or its variables), "bad_request" (refused before GraphQL:
  not JSON, too long, ...) or "unexpected" (a masked "Unexpected error.").
- `pointledger_graphql_errors_total{code}`: typed errors answered (batch items included), and
  UNEXPECTED for masked ones.
- `pointledger_rate_limit_refusals_total{limit}`: requests a rate limit refused (`limit` names
  the limit, from a fixed set).
- `pointledger_database_pool_checked_out{pool}` and `pointledger_database_pool_size{pool}`: read
  at each scrape (SQLite: "read" and "write"; PostgreSQL: "shared").
- `pointledger_import_rows_total{profile,outcome}`: rows of the import jobs this server ran,
  "accepted" or "rejected" (dry runs are not counted).
- `pointledger_maintenance_task_duration_seconds{task,outcome}`: each maintenance step (expiry,
  conversion, idempotency), "ok" or "failed".
- The webhook worker running in this server (`pointledger webhooks deliver` runs its own):
  `pointledger_webhook_events_fanned_out_total` (events handed to the endpoints),
  `pointledger_webhook_attempts_total{result}` (HTTP attempts, "delivered" for a 2xx answer,
  "refused" for any other answer or none), `pointledger_webhook_deliveries_failed_total`
  (deliveries given up after the retry window), `pointledger_webhook_endpoints_disabled_total`.
- The delivery backlog, read from the database at each scrape (every organisation, whichever
  process delivers): `pointledger_outbox_events_queued` and
  `pointledger_outbox_oldest_queued_event_age_seconds` (committed events the worker has not fanned
  out yet), `pointledger_webhook_deliveries_pending` and
  `pointledger_webhook_oldest_pending_delivery_age_seconds` (deliveries waiting to be sent or
  retried). A growing age is the signal to alert on: no worker runs, or an endpoint is down.

Each app has its own registry (tests build many apps in one process and read exact values).
Several uvicorn workers: set PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode; an
empty directory at each start): every worker writes its counts there and a scrape, whichever
worker answers it, sums them; the pool gauges are then the answering worker's.
The request path pays one histogram observation (and a counter per typed error): nothing per field.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import time
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from app.http.auth import json_error
from app.imports.models import JobStatus
from app.imports.service import JobView
from app.kernel.clock import Clock
from app.kernel.errors import DomainError
from app.storage.database import Database
from app.webhooks.operations import Backlog, backlog
from app.webhooks.worker import PassReport

Result = TypeVar("Result")

# A name a client may choose that we are willing to keep as a label value.
OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
ANONYMOUS = "anonymous"
OTHER = "other"
OK = "ok"
INVALID_REQUEST = "invalid_request"
BAD_REQUEST = "bad_request"
UNEXPECTED = "unexpected"
UNEXPECTED_CODE = "UNEXPECTED"
# From a cached `{ __typename }` (about 0.3 ms) to a page past the statement budget.
REQUEST_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
MAINTENANCE_BUCKETS_SECONDS = (0.01, 0.1, 1, 10, 60, 300, 1800, 3600)


def request_outcome(result: Any, error_codes: list[str]) -> tuple[str, list[str]]:
    """A GraphQL answer's result label and the codes of the errors it carries: `error_codes`
    (the typed errors resolvers answered with) and those in its `errors` list."""
    codes = list(error_codes)
    unexpected = invalid = False
    for error in getattr(result, "errors", None) or ():
        if isinstance(error.original_error, DomainError):
            codes.append(error.original_error.code)
        elif error.path is None and error.extensions and "code" in error.extensions:
            codes.append(str(error.extensions["code"]))  # our own refusals: QUERY_TOO_COMPLEX, ...
        elif error.path is None:  # GraphQL's own: syntax, validation, variables
            invalid = True
        else:
            unexpected = True
            codes.append(UNEXPECTED_CODE)
    if unexpected:
        return UNEXPECTED, codes
    if invalid:
        return INVALID_REQUEST, codes
    return (codes[0] if codes else OK), codes


class PoolCollector(Collector):
    """The database pools' use, read when scraped (nothing to keep up to date in between)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterable[Metric]:
        checked_out = GaugeMetricFamily(
            "pointledger_database_pool_checked_out", "Connections in use, by pool.", labels=["pool"]
        )
        size = GaugeMetricFamily(
            "pointledger_database_pool_size", "Connections the pool keeps (overflow not counted).", labels=["pool"]
        )
        for name, pool in self.database.pools().items():
            checked_out.add_metric([name], pool.checkedout())
            size.add_metric([name], pool.size())
        yield checked_out
        yield size


class BacklogCollector(Collector):
    """The webhook delivery backlog as last read (the scrape reads it first: collect cannot await)."""

    def __init__(self) -> None:
        self.backlog: Backlog | None = None

    def collect(self) -> Iterable[Metric]:
        if self.backlog is None:
            return
        for name, documentation, value in (
            (
                "pointledger_outbox_events_queued",
                "Committed events not yet fanned out to webhook endpoints.",
                self.backlog.queued_events,
            ),
            (
                "pointledger_outbox_oldest_queued_event_age_seconds",
                "Age of the oldest event not yet fanned out.",
                self.backlog.oldest_queued_age_seconds,
            ),
            (
                "pointledger_webhook_deliveries_pending",
                "Webhook deliveries waiting to be sent or retried.",
                self.backlog.pending_deliveries,
            ),
            (
                "pointledger_webhook_oldest_pending_delivery_age_seconds",
                "Age of the oldest webhook delivery waiting to be sent or retried.",
                self.backlog.oldest_pending_age_seconds,
            ),
        ):
            yield GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    def __init__(
        self,
        database: Database,
        *,
        operation_names_max: int,
        token: SecretStr | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=False)
        self.operation_names_max = operation_names_max
        self._operation_names: set[str] = set()
        self._request_series: dict[tuple[str, str], Any] = {}  # (operation, result): its histogram
        self._token = token.get_secret_value().encode() if token is not None else None
        self.requests = Histogram(
            "pointledger_graphql_request_duration_seconds",
            "GraphQL requests by operation and result, from the body read to the answer.",
            ["operation", "result"],
            buckets=REQUEST_BUCKETS_SECONDS,
            registry=self.registry,
        )
        self.errors = Counter(
            "pointledger_graphql_errors",
            "Typed errors answered, by code (UNEXPECTED: masked).",
            ["code"],
            registry=self.registry,
        )
        self.rate_limit_refusals = Counter(
            "pointledger_rate_limit_refusals",
            "Requests a rate limit refused, by limit.",
            ["limit"],
            registry=self.registry,
        )
        self.import_rows = Counter(
            "pointledger_import_rows",
            "Rows of the import jobs this server ran, by profile and outcome (accepted, rejected).",
            ["profile", "outcome"],
            registry=self.registry,
        )
        self.maintenance = Histogram(
            "pointledger_maintenance_task_duration_seconds",
            "Maintenance steps by task (expiry, conversion, idempotency) and outcome (ok, failed).",
            ["task", "outcome"],
            buckets=MAINTENANCE_BUCKETS_SECONDS,
            registry=self.registry,
        )
        self.webhook_events_fanned_out = Counter(
            "pointledger_webhook_events_fanned_out",
            "Outbox events handed to the webhook endpoints subscribed to them.",
            registry=self.registry,
        )
        self.webhook_attempts = Counter(
            "pointledger_webhook_attempts",
            "Webhook HTTP attempts by result (delivered: a 2xx answer; refused: any other answer or none).",
            ["result"],
            registry=self.registry,
        )
        self.webhook_deliveries_failed = Counter(
            "pointledger_webhook_deliveries_failed",
            "Webhook deliveries given up after the retry window.",
            registry=self.registry,
        )
        self.webhook_endpoints_disabled = Counter(
            "pointledger_webhook_endpoints_disabled",
            "Webhook endpoints the worker disabled after failing for days.",
            registry=self.registry,
        )
        self.registry.register(PoolCollector(database))
        self.backlog = BacklogCollector()
        self.registry.register(self.backlog)
        self.scraped = self.registry
        # prometheus-client reads this variable itself, at import, to write values to files.
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            self.scraped = CollectorRegistry(auto_describe=False)
            MultiProcessCollector(self.scraped)
            self.scraped.register(PoolCollector(database))
            self.scraped.register(self.backlog)

    def operation_label(self, name: str | None) -> str:
        """The label for a client's operation name, bounded (see the module doc)."""
        if not name:
            return ANONYMOUS
        if name in self._operation_names:
            return name
        if len(self._operation_names) >= self.operation_names_max or not OPERATION_NAME.fullmatch(name):
            return OTHER
        self._operation_names.add(name)
        return name

    def record_request(
        self, operation_name: str | None, result: str, error_codes: Iterable[str], *, seconds: float
    ) -> None:
        """One GraphQL request: its operation, result label, the codes of its errors, its time."""
        key = (self.operation_label(operation_name), result)
        series = self._request_series.get(key)
        if series is None:  # labels() takes a lock and checks its values: a third of the cost
            series = self._request_series[key] = self.requests.labels(*key)
        series.observe(seconds)
        for code in error_codes:
            self.errors.labels(code).inc()

    def count_rate_limit_refusals(self, limit: str, count: int = 1) -> None:
        """Calls (or batch items) refused by the rate limit named `limit` (a key role: a fixed
        name, never a caller's value)."""
        self.rate_limit_refusals.labels(limit).inc(count)

    def count_import_rows(self, job: JobView) -> None:
        """The rows of a job the runner finished (a dry run imports nothing: not counted)."""
        if job.dry_run or job.status not in (JobStatus.DONE, JobStatus.FAILED):
            return
        self.import_rows.labels(job.profile.value, "accepted").inc(job.rows_imported)
        self.import_rows.labels(job.profile.value, "rejected").inc(job.rows_rejected)

    def count_webhook_pass(self, report: PassReport) -> None:
        """One pass of the server's webhook worker."""
        self.webhook_events_fanned_out.inc(report.fanned_out)
        self.webhook_attempts.labels("delivered").inc(report.delivered)
        self.webhook_attempts.labels("refused").inc(report.sent - report.delivered)
        self.webhook_deliveries_failed.inc(report.failed)
        self.webhook_endpoints_disabled.inc(len(report.disabled_endpoints))

    async def time_task(self, task: str, work: Awaitable[Result]) -> Result:
        """Await one maintenance step, timed and counted as ok or failed."""
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await work
            outcome = OK
            return result
        finally:
            self.maintenance.labels(task, outcome).observe(time.perf_counter() - started)

    def allows(self, request: Request) -> bool:
        """With a token set, the scrape must send it as a bearer token; without one, only a
        client on this host (loopback) may scrape."""
        if self._token is not None:
            header = request.headers.get("authorization", "").encode()
            return hmac.compare_digest(header, b"Bearer " + self._token)
        host = request.client.host if request.client is not None else ""
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    async def endpoint(self, request: Request) -> Response:
        if not self.allows(request):
            return json_error(
                401,
                "UNAUTHENTICATED",
                "Metrics are served to this host only, or with the bearer token (POINTLEDGER_METRICS_TOKEN).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if self.clock is not None:
            self.backlog.backlog = await backlog(self.database, now=self.clock.now())
        return Response(generate_latest(self.scraped), media_type=CONTENT_TYPE_LATEST)
