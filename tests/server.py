"""The server as an operator runs it: uvicorn in its own process on loopback, over a SQLite file
the test prepared (tests that need real workers, a real socket, or the whole stack end to end)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.storage.database import Database
from tests.client import Credentials
from tests.conftest import make_org
from tests.factories import org_spec


async def database_with_org(migrated_template: str, directory: Path) -> tuple[str, Credentials]:
    """A copy of the migrated SQLite template in `directory` with the test organisation: (its
    URL, the organisation's key)."""
    path = directory / "pointledger.db"
    shutil.copyfile(migrated_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    database = Database(url)
    try:
        credentials = await make_org(database, org_spec("acme"))
    finally:
        await database.dispose()
    return url, credentials


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path


@contextmanager
def running_server(database_url: str, directory: Path, *, workers: int = 1, **environment: str) -> Iterator[str]:
    """uvicorn serving the app (`app_factory`) with these POINTLEDGER_ settings and environment:
    its base URL. The server's log goes to stderr when it stops (pytest shows it on failure)."""
    with running_server_process(database_url, directory, workers=workers, **environment) as server:
        yield server.base_url


@contextmanager
def running_server_process(
    database_url: str, directory: Path, *, workers: int = 1, **environment: str
) -> Iterator[ServerProcess]:
    """`running_server`, handing over the process too (a test may kill it)."""
    port = _free_port()
    settings = {
        "POINTLEDGER_DATABASE_URL": database_url,
        "POINTLEDGER_IMPORT_DIRECTORY": str(directory / "imports"),
        "POINTLEDGER_MAINTENANCE_INTERVAL_SECONDS": "0",
        "POINTLEDGER_WEBHOOK_POLL_INTERVAL_SECONDS": "0",
        "POINTLEDGER_ACCESS_LOG": "false",
        "POINTLEDGER_LOG_LEVEL": "WARNING",
        "POINTLEDGER_LOG_FORMAT": "text",
    }
    log_path = directory / f"server-{port}.log"
    command = [sys.executable, "-m", "uvicorn", "--factory", "app.http.app:app_factory", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env={**os.environ, **settings, **environment},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts Python slowly
        while True:
            try:
                if httpx.get(f"{base_url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield ServerProcess(process, base_url, log_path)
    finally:
        process.terminate()
        process.wait(timeout=30)
        sys.stderr.write(log_path.read_text())
