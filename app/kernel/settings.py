"""Settings from the environment (prefix POINTLEDGER_), read once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POINTLEDGER_", env_file=".env", extra="ignore")

    # SQLite is the embedded default; a postgresql+asyncpg:// URL selects PostgreSQL.
    database_url: str = "sqlite+aiosqlite:///./pointledger.db"
    # Bodies above this are refused before parsing: a till never sends megabytes of GraphQL.
    max_body_size_bytes: int = 2 * 1024 * 1024
    # A longer query text is refused before parsing; parsed documents are cached, so this also
    # bounds the parse cache (1,024 documents) at about 32 MiB.
    query_length_max: int = Field(default=32 * 1024, ge=1024)
    # What one document may ask, raised (or lowered) per key role, as JSON: a key gets the most
    # generous of its roles' (app/graphql/core/limits.py; defaults: depth 12, 50 aliases, cost
    # 25,000), e.g. {"admin": {"cost_max": 100000, "depth_max": 15}}.
    query_limits_by_role: dict[str, dict[str, int]] = {}
    # No input takes a longer list (a bill's line items: 1,000); refused before conversion.
    input_list_length_max: int = Field(default=1000, ge=1)
    # Org configuration and API keys are cached in memory for this long; `org apply` and
    # `apikey revoke` from another process take effect within it.
    cache_ttl_seconds: float = 5.0
    # Where rate-limit counts live: "memory://" (this process) or "redis://host:6379/0", shared by
    # every process serving the same database. The limits are per organisation (its file's [rate_limits]).
    rate_limit_storage: str = "memory://"
    # Connections in the PostgreSQL pool (SQLite always has one writer per process).
    pool_size: int = 10
    # The most read connections one organisation's requests hold at once (its further requests
    # wait their turn); unset, the pool size: the pool holds twice that, so a flood of one
    # organisation's reads leaves half of it to the others.
    organization_connections_max: int | None = Field(default=None, ge=1)
    # A query (not a mutation: a write is never cut halfway) still running after this many seconds
    # is cancelled, its connection returned, and answered REQUEST_TIMEOUT.
    request_time_limit_seconds: float = Field(default=10, gt=0)
    # Bounded retry on PostgreSQL serialization failures and deadlocks.
    write_retries_max: int = 5
    # "production": no GraphiQL, introspection only for the roles below, registered operations only
    # when a registry is named (unless REGISTERED_OPERATIONS_ONLY says otherwise), no `demo`.
    environment: Literal["development", "production"] = "development"
    graphiql: bool = True  # GraphiQL in development (never in production)
    # In production, keys holding one of these roles may introspect the schema (__schema, __type;
    # __typename is always allowed). A JSON list: '["admin", "member_care"]'; [] allows no key.
    introspection_roles: list[str] = ["admin"]
    # A directory of .graphql files, each one operation a client may run by the SHA-256 of the
    # file's bytes (Apollo's extensions.persistedQuery.sha256Hash); read once at start.
    registered_operations: str | None = None
    # True refuses any query text that is not a registered operation; unset means true in
    # production when a directory is named above, false otherwise.
    registered_operations_only: bool | None = None
    # The server's logs: one JSON object a line ("json") or plain text ("text"), from this level up.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # One line a request (method, path, status, duration). The server spends 7-8% less CPU on the
    # cheapest request without it; off where a reverse proxy keeps the access log.
    access_log: bool = True
    # Cached documents run through their compiled plan (app/graphql/core/compiled.py); false
    # runs every document through graphql-core (the benchmarks compare both).
    compiled_execution: bool = True
    # The server's young-generation garbage collections run every this many container
    # allocations (Python's default: 700; read at start). A request allocates thousands that
    # their reference counts free: at 700 the collector took ~5% of a bill's CPU sweeping them.
    garbage_young_allocations: int = Field(default=20_000, ge=100)
    # The server's maintenance task (expiry run, promised conversion, old idempotency keys) runs
    # at start and then every this many seconds; 0 turns it off (e.g. when cron runs the CLI).
    maintenance_interval_seconds: float = Field(default=3600, ge=0)
    # Webhook delivery in the server: a pass every this many seconds while there is nothing to send
    # (at once while there is); 0 leaves delivery to `pointledger webhooks deliver`.
    webhook_poll_interval_seconds: float = Field(default=1.0, ge=0)
    # A pass that commits woke comes no sooner than this after the last one began (unless that one
    # sent or took a full batch), so one pass takes up many bills' events (app/http/webhook_delivery.py).
    webhook_pass_spacing_seconds: float = Field(default=0.1, ge=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)  # connect, read, write: each
    webhook_in_flight_per_endpoint_max: int = Field(default=10, ge=1)
    # The maintenance pass deletes webhook deliveries delivered or given up, their attempts (the
    # delivery log) and the outbox's fanned-out queue rows older than this; never the events.
    webhook_retention_days: float = Field(default=30, ge=4)  # beyond the 3-day retry window
    # Idempotency keys are kept at least this long (the API promises 24 hours).
    idempotency_retention_hours: float = Field(default=24, ge=24)
    # Bulk imports: a larger file is refused (FILE_TOO_LARGE) while it is uploaded; uploads are
    # kept under the directory until their job ends (so a crashed import can resume).
    import_size_limit_bytes: int = Field(default=1024 * 1024 * 1024, ge=1, le=2**31 - 1)  # GraphQL Int counts its bytes
    import_directory: str = "./imports"
    # /metrics (Prometheus): with a token, a scrape must send `Authorization: Bearer <token>`;
    # without one, only clients on this host (loopback) may scrape.
    metrics_token: SecretStr | None = None
    # Operation names are client-chosen metric labels: past this many distinct names, "other".
    metrics_operation_names_max: int = Field(default=200, ge=0)
    # Bulk imports: each write transaction ends after this long even when it holds fewer rows than
    # the batch size, so an online write from the server waits at most about this long behind it
    # (well under SQLite's 10 s busy timeout, past which a waiting write fails).
    import_transaction_max_ms: int = Field(default=500, ge=1, le=5000)

    # --- `pointledger serve` (uvicorn): what one client may hold (README "Operating pointledger") ---
    # Both enforce the header size, the read deadlines and the connection cap below (through our
    # subclasses, app/http/read_deadlines.py); httptools parses faster (README "Operating pointledger").
    http_implementation: Literal["h11", "httptools"] = "httptools"
    # A request line and headers larger than this are refused (400) as they arrive.
    header_size_max_bytes: int = Field(default=64 * 1024, ge=1024)
    # A request's headers must arrive within this many seconds of the connection opening (or of
    # the previous response on a kept-alive connection); else the connection is closed.
    header_timeout_seconds: float = Field(default=10, gt=0)
    # A request body gets this many seconds, plus one more for every body_rate_min_bytes it sends
    # (a minimum average rate, as Apache's mod_reqtimeout): a trickling body is closed.
    body_timeout_seconds: float = Field(default=20, gt=0)
    body_rate_min_bytes: int = Field(default=1024, ge=1)
    # An idle kept-alive connection is closed after this many seconds.
    keep_alive_timeout_seconds: int = Field(default=5, ge=1)
    # Past this many open connections or running requests, a request is answered 503 at once.
    limit_concurrency: int = Field(default=500, ge=1)
    # Connections past this many are closed as soon as they are accepted, unread: file
    # descriptors stay for the database and the requests being served.
    connections_max: int = Field(default=2000, ge=1)
    # Connections the kernel queues before the server accepts them.
    backlog: int = Field(default=2048, ge=1)
    # On SIGTERM, requests still running after this many seconds are cancelled.
    graceful_shutdown_timeout_seconds: int = Field(default=20, ge=1)
    # GraphQL subscriptions see events this process commits at once; those other processes commit
    # (another worker, a CLI import) within this many seconds (the live feed's poll).
    subscription_poll_interval_seconds: float = Field(default=2.0, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
