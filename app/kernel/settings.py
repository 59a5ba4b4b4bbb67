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
    # No input takes a longer list (a bill's line items: 1,000); refused before conversion.
    input_list_length_max: int = Field(default=1000, ge=1)
    # Org configuration and API keys are cached in memory for this long; `org apply` and
    # `apikey revoke` from another process take effect within it.
    cache_ttl_seconds: float = 5.0
    # Connections in the PostgreSQL pool (SQLite always has one writer per process).
    pool_size: int = 10
    # Bounded retry on PostgreSQL serialization failures and deadlocks.
    write_retries_max: int = 5
    graphiql: bool = True
    # The server's logs: one JSON object a line ("json") or plain text ("text"), from this level up.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # One line a request (method, path, status, duration). About 40 us of CPU each: a tenth of
    # the cheapest request's time; off where a reverse proxy keeps the access log.
    access_log: bool = True
    # The server's maintenance task (expiry run, promised conversion, old idempotency keys) runs
    # at start and then every this many seconds; 0 turns it off (e.g. when cron runs the CLI).
    maintenance_interval_seconds: float = Field(default=3600, ge=0)
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
