"""Every test gets a fresh, migrated database, a frozen clock and a client that calls the API
in-process.

Time is an input: the app reads only the clock it is given. Every test starts at TEST_NOW, so
the dates written in tests (bills of January 2026, an expiry run on February 1) mean the same
whatever today's date is; a test that needs another moment sets or advances `clock`.

SQLite (default): the schema is migrated once into a template file, copied for each test.
PostgreSQL (POINTLEDGER_TEST_DATABASE_URL set, as `scripts/test --postgres` does): migrated
once, and every table is truncated before each test.

Fixtures, all here (no test module imports one): database, clock, app_client, client_with (a
client of an app built with other settings), org (a module may override it with another spec),
api, org_api (the Api of another organisation), client_api (a server with its own import
directory) and count_statements. What tests import instead:
tests.client (the API client and the calls it makes), tests.factories (request bodies),
tests.documents (GraphQL documents), tests.ledger_checks, tests.import_checks, tests.snapshots,
tests.server (uvicorn in its own process, for real workers and sockets).
"""

from __future__ import annotations

import contextvars
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from app.graphql.core.schema import RequestExecutionContext
from app.http.app import create_app
from app.kernel.clock import Clock, FrozenClock
from app.kernel.settings import Settings
from app.organizations.config import OrgConfig, load_org_config
from app.organizations.roles import ALL_ROLES, Role
from app.organizations.service import apply_spec, create_api_key
from app.organizations.spec import OrganizationSpec
from app.storage import migrate
from app.storage.database import Database
from app.storage.tables import registered_tables
from tests.client import Api, Credentials
from tests.compiled_checks import REFERENCE_RUN, Mismatch, compared_execute_operation
from tests.factories import org_spec

POSTGRES_URL = os.environ.get("POINTLEDGER_TEST_DATABASE_URL")
# Every query that runs compiled runs through graphql-core too, compared byte for byte (0: off).
COMPARE_COMPILED = os.environ.get("POINTLEDGER_TEST_COMPARE_COMPILED", "1") != "0"
TEST_NOW = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)  # 12:00 in Asia/Kolkata, the test org's zone


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite (a fresh file per test)'}"


@pytest.fixture(scope="session")
async def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    if POSTGRES_URL:
        await migrate.upgrade(POSTGRES_URL)
        return POSTGRES_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    await migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


@pytest.fixture
async def database(migrated_template: str, tmp_path: Path) -> AsyncIterator[Database]:
    if POSTGRES_URL:
        database = Database(POSTGRES_URL, pool_size=20)
        tables = ", ".join(table.name for table in registered_tables().sorted_tables)
        async with database.write_engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        path = tmp_path / "pointledger.db"
        shutil.copyfile(migrated_template, path)
        database = Database(f"sqlite+aiosqlite:///{path}", pool_size=5)
    yield database
    await database.dispose()


async def make_org(database: Database, spec: dict[str, Any]) -> Credentials:
    """An organisation and an API key, as created at TEST_NOW."""
    parsed = OrganizationSpec.model_validate(spec)

    async def work(connection: Any) -> Credentials:
        report = await apply_spec(connection, parsed, now=TEST_NOW)
        key = await create_api_key(connection, report.org_id, "tests", now=TEST_NOW, roles=ALL_ROLES)
        return Credentials(report.org_id, key.key_id, key.secret)

    return await database.run_write(work)


async def make_key(database: Database, org_id: int, roles: frozenset[Role], name: str = "tests") -> Credentials:
    """Another API key of the organisation, holding these roles."""
    key = await database.run_write(
        lambda connection: create_api_key(connection, org_id, name, now=TEST_NOW, roles=roles)
    )
    return Credentials(org_id, key.key_id, key.secret)


async def org_config(database: Database, org_id: int) -> OrgConfig | None:
    """The organisation's configuration, as the services are given it."""
    async with database.read() as connection:
        return await load_org_config(connection, org_id)


@pytest.fixture(autouse=True)
def queries_compared_with_graphql_core(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Mismatch]]:
    """Each query the test sends that runs compiled also runs through graphql-core in the same
    request, and the test fails when the two answers' bytes differ (tests/compiled_checks.py)."""
    mismatches: list[Mismatch] = []
    if COMPARE_COMPILED:
        monkeypatch.setattr(RequestExecutionContext, "execute_operation", compared_execute_operation(mismatches))
    yield mismatches
    assert not mismatches, "\n\n".join(str(mismatch) for mismatch in mismatches)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(TEST_NOW)


@pytest.fixture
async def app_client(database: Database, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # Uploads go to the test's directory, never to ./imports of the checkout.
    settings = Settings(database_url=database.url, import_directory=str(tmp_path / "imports"))
    app = create_app(settings, database=database, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as client:
        yield client
    await stop_background_work(app)


async def stop_background_work(app: Any) -> None:
    """An import a test left running must not outlive it: on PostgreSQL the next test empties the
    tables it writes to (and the two deadlock)."""
    await app.state.services.imports.stop()
    await app.state.services.maintenance.stop()


@pytest.fixture
async def client_with(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[tuple[httpx.AsyncClient, Any]]]]:
    """A client over an app built with these settings (and the test database)."""
    clients = []

    async def build(**settings: Any) -> tuple[httpx.AsyncClient, Any]:
        settings.setdefault("import_directory", str(tmp_path / "imports"))
        application = create_app(Settings(database_url=database.url, **settings), database=database, clock=clock)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver")
        clients.append(client)
        return client, application

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def org(database: Database) -> Credentials:
    return await make_org(database, org_spec("acme"))


@pytest.fixture
async def api(app_client: httpx.AsyncClient, org: Credentials, database: Database, clock: FrozenClock) -> Api:
    return Api(app_client, org, database, clock)


@pytest.fixture
def org_api(
    app_client: httpx.AsyncClient, database: Database, clock: FrozenClock
) -> Callable[[dict[str, Any]], Awaitable[Api]]:
    """Makes another organisation from a spec and returns its Api: `other = await org_api(org_spec("other"))`."""

    async def make(spec: dict[str, Any]) -> Api:
        return Api(app_client, await make_org(database, spec), database, clock)

    return make


@asynccontextmanager
async def import_server(
    database: Any, tmp_path: Path, clock: Clock, *, size_limit_bytes: int, client_timeout: float
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose imports go to this test's own directory, held to this size."""
    settings = Settings(
        database_url=database.url, import_directory=str(tmp_path / "imports"), import_size_limit_bytes=size_limit_bytes
    )
    app = create_app(settings, database=database, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=client_timeout
    ) as client:
        yield client
    await stop_background_work(app)


@pytest.fixture
async def client_api(database: Database, tmp_path: Path, clock: FrozenClock, org: Credentials) -> AsyncIterator[Api]:
    """The org's Api on a server whose imports go to this test's own directory, files up to 64 KB."""
    async with import_server(database, tmp_path, clock, size_limit_bytes=64 * 1024, client_timeout=60) as client:
        yield Api(client, org, database, clock)


# Set in the test's own context once it counts: statements of the requests it makes are counted,
# not those of background work (a cache refresh, which runs in a context of its own).
COUNTING = contextvars.ContextVar("COUNTING", default=False)


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        if COUNTING.get() and not REFERENCE_RUN.get():  # not graphql-core's second run of a compared query
            self.count += 1


@pytest.fixture
def count_statements(database: Database) -> Any:
    """Count SQL statements answered on the read engine (where list queries run). Answered, not
    sent: a direct read over its time budget is interrupted and runs again through SQLAlchemy
    (app/storage/direct_statements.py), which a slow machine can make happen anywhere; the
    interrupted attempt reaches no `after_cursor_execute` listener."""
    counters: list[StatementCounter] = []

    def start() -> StatementCounter:
        COUNTING.set(True)
        counter = StatementCounter()
        event.listen(database.read_engine.sync_engine, "after_cursor_execute", counter)
        counters.append(counter)
        return counter

    yield start
    for counter in counters:
        event.remove(database.read_engine.sync_engine, "after_cursor_execute", counter)
