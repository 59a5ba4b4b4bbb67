"""`pointledger serve` and `pointledger demo`: run the server, or set up a demo organisation."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from app.cli.common import command_now, console, errors, run
from app.cli.organizations import apply_file
from app.http.logs import configure_logging
from app.kernel.settings import Settings, get_settings
from app.organizations import service as organizations
from app.organizations.roles import ALL_ROLES
from app.storage import migrate
from app.storage.database import Database

server_cli = typer.Typer()  # its commands sit at the top level


DEMO_FILE = Path("demo/org.toml")
DEMO_KEY_FILE = Path(".pointledger-demo-key.json")


@server_cli.command()
def demo(context: typer.Context, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Migrate, apply the demo organisation, and print its credentials (a key with every role)
    and a ready curl line. Refused in production (POINTLEDGER_ENVIRONMENT=production)."""
    if get_settings().environment == "production":
        errors.print("error: `pointledger demo` does not run in production (POINTLEDGER_ENVIRONMENT=production)")
        raise typer.Exit(1)
    if not DEMO_FILE.is_file():
        errors.print(f"error: no {DEMO_FILE} here: run `pointledger demo` in the checkout (it applies that file)")
        raise typer.Exit(2)
    now = command_now(context)
    asyncio.run(migrate.upgrade(get_settings().database_url))
    report = apply_file(DEMO_FILE, now)
    key = _demo_key(report.org_id, now)
    console.print(
        f"[bold]Demo organisation ready.[/bold] API key id: {key['key_id']}  secret: {key['secret']}", soft_wrap=True
    )
    console.print(f"GraphiQL: http://{host}:{port}/graphql (sign in with the key id and secret)")
    console.print(f"Member-care console: http://{host}:{port}/console/ (the same key)")
    query = '{"query":"{ organization { code name programs { code tiers { name } } } }"}'
    console.print(
        f"curl -s -u '{key['key_id']}:{key['secret']}' -H 'content-type: application/json' "
        f"-d '{query}' http://{host}:{port}/graphql",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )


def _demo_key(org_id: int, now: datetime) -> dict[str, str]:
    """Reuse the demo key this checkout created before while it is still active."""

    saved = json.loads(DEMO_KEY_FILE.read_text()) if DEMO_KEY_FILE.exists() else None

    async def work(database: Database) -> dict[str, str]:
        if saved is not None:
            async with database.read() as connection:
                stored = await organizations.find_api_key(connection, saved["key_id"])
            if (
                stored is not None
                and stored.is_active
                and stored.roles == ALL_ROLES  # a key from before roles may lack some
                and organizations.secret_matches(stored, saved["secret"])
            ):
                return saved
        key = await database.run_write(
            lambda connection: organizations.create_api_key(connection, org_id, "demo", now=now, roles=ALL_ROLES)
        )
        return {"key_id": key.key_id, "secret": key.secret}

    key = run(work)
    # The secret in plain text: readable by this user only (created so, never widened after).
    descriptor = os.open(DEMO_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as output:
        output.write(json.dumps(key))
    DEMO_KEY_FILE.chmod(0o600)  # a file an older version left readable
    return key


WORKER_HEALTHCHECK_SECONDS = 60


@server_cli.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Migrate and serve the API (one worker: SQLite has one writer; scale writes with PostgreSQL)."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_format == "json")  # uvicorn's start-up lines too
    asyncio.run(migrate.upgrade(settings.database_url))
    uvicorn.run(
        "app.http.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # uvicorn kills a worker that does not answer its ping within 5 s, and a worker still importing
        # the app on a busy machine does not: it was killed and respawned in a loop.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        log_config=None,  # the app configures logging (JSON lines) when uvicorn builds it
        access_log=False,
        **http_limits(settings),
    )


# Our subclasses add read deadlines and the connection cap (uvicorn has neither), and a header
# size limit to httptools (h11 has its own, `h11_max_incomplete_event_size`).
HTTP_PROTOCOLS = {
    "h11": "app.http.read_deadlines:DeadlineH11Protocol",
    "httptools": "app.http.read_deadlines:DeadlineHttpToolsProtocol",
}


def http_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for what one client may hold (README "Operating pointledger")."""
    return {
        "http": HTTP_PROTOCOLS[settings.http_implementation],
        "h11_max_incomplete_event_size": settings.header_size_max_bytes,
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
        "limit_concurrency": settings.limit_concurrency,
        "backlog": settings.backlog,
        "timeout_graceful_shutdown": settings.graceful_shutdown_timeout_seconds,
    }
