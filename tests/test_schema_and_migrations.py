"""What is generated from the code stays in step with it, and the CLI's set-up commands hold.

- schema.graphql (committed, exported by scripts/export-schema) equals the schema the code builds;
- the Alembic migrations build exactly the tables app.storage.tables declares (on SQLite and PostgreSQL);
- `pointledger org apply` is idempotent and refuses an invalid file; API keys and reconcile work.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from app.cli.main import cli
from app.customers.bulk import register_customers
from app.graphql.core.schema import schema
from app.kernel.clock import FrozenClock
from app.kernel.enums import IdentifierType
from app.kernel.settings import get_settings
from app.organizations.roles import ALL_ROLES, Role
from app.organizations.service import find_api_key
from app.storage import migrate
from app.storage.columns import FixedDecimal, UTCDateTime
from app.storage.database import Database
from app.storage.tables import registered_tables
from tests.conftest import POSTGRES_URL, TEST_NOW, make_org, org_config
from tests.factories import org_spec

ROOT = Path(__file__).resolve().parents[1]
DEMO_ORG_FILE = ROOT / "demo" / "org.toml"


# --- schema.graphql ---------------------------------------------------------------------------


def test_the_committed_graphql_schema_is_the_one_the_code_builds():
    committed = (ROOT / "schema.graphql").read_text()
    # The same text scripts/export-schema writes: the schema with exactly one trailing newline.
    built = schema.as_str().rstrip("\n") + "\n"
    assert committed == built, "schema.graphql is out of date: run scripts/export-schema and commit it"


# --- migrations -------------------------------------------------------------------------------


async def differences(database: Database, target: sa.MetaData) -> list[Any]:
    """What Alembic autogenerate would put in a new migration to go from the database to `target`.

    compare_type works without a callback: Alembic compares the types as compiled for the
    dialect, where FixedDecimal compiles as its BIGINT impl and UTCDateTime as
    DATETIME / TIMESTAMP WITH TIME ZONE, which is what the migrations create.
    """

    def compare(connection: sa.Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, target)

    async with database.read_engine.connect() as connection:
        return await connection.run_sync(compare)


async def test_the_migrations_build_exactly_the_tables_the_models_declare(database):
    found = await differences(database, registered_tables())

    assert found == [], f"the models and the migrations differ; write a migration for: {found}"


async def test_the_migration_check_sees_a_changed_type_and_a_new_column(database):
    # Guards the check above: a comparison that cannot see a difference proves nothing.
    changed = sa.MetaData()
    for table in registered_tables().sorted_tables:
        table.to_metadata(changed)
    amount = next(
        column for table in changed.sorted_tables for column in table.columns if isinstance(column.type, FixedDecimal)
    )
    moment = next(
        column for table in changed.sorted_tables for column in table.columns if isinstance(column.type, UTCDateTime)
    )
    amount.type = sa.String(20)
    moment.type = sa.String(40)
    changed.sorted_tables[0].append_column(sa.Column("extra_field", sa.Integer, nullable=True))

    found = await differences(database, changed)

    modified = {(item[0][2], item[0][3]) for item in found if isinstance(item, list) and item[0][0] == "modify_type"}
    added = {item[3].name for item in found if isinstance(item, tuple) and item[0] == "add_column"}
    assert modified == {(amount.table.name, amount.name), (moment.table.name, moment.name)}, found
    assert added == {"extra_field"}, found


@asynccontextmanager
async def scratch_database(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database of the kind under test, dropped afterwards."""
    if not POSTGRES_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"scratch_{uuid.uuid4().hex}"
    server = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    async with server.connect() as connection:
        await connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with server.connect() as connection:
            await connection.execute(sa.text(f'DROP DATABASE "{name}"'))
        await server.dispose()


async def test_keys_from_before_roles_keep_working_admin_keys_with_every_role(tmp_path):
    async with scratch_database(tmp_path) as url:
        await migrate.upgrade(url, "0007")
        database = Database(url, pool_size=2)
        try:
            # Written as of 0007 (today's code writes columns that came later).
            organization = sa.text(
                "INSERT INTO organizations (code, name, time_zone, base_country, bill_number_unique_in_days,"
                " primary_identifier, skip_secondary_id_on_primary_mismatch, created_at, updated_at)"
                " VALUES ('acme', 'Acme', 'Asia/Kolkata', 'IN', 30, 'mobile', false, :now, :now) RETURNING id"
            )
            org_id = await database.run_write(
                lambda connection: _scalar(connection.execute(organization, {"now": TEST_NOW}))
            )
            insert = sa.text(
                "INSERT INTO api_keys (org_id, key_id, secret_hash, name, created_at, is_admin)"
                " VALUES (:org_id, :key_id, 'hash', '', :now, :is_admin)"
            )
            for key_id, is_admin in (("pk_admin", True), ("pk_ordinary", False)):
                await database.run_write(
                    lambda connection, key_id=key_id, is_admin=is_admin: connection.execute(
                        insert, {"org_id": org_id, "key_id": key_id, "now": TEST_NOW, "is_admin": is_admin}
                    )
                )
            await database.dispose()
            await migrate.upgrade(url)
            database = Database(url, pool_size=2)
            async with database.read() as connection:
                admin = await find_api_key(connection, "pk_admin")
                ordinary = await find_api_key(connection, "pk_ordinary")
        finally:
            await database.dispose()

    assert admin is not None
    assert ordinary is not None
    assert admin.roles == ALL_ROLES
    assert ordinary.roles == {Role.TILL, Role.APP, Role.MEMBER_CARE}


@pytest.mark.skipif(bool(POSTGRES_URL), reason="PostgreSQL stores timestamps, not text: 0013e changes nothing there")
async def test_times_the_bulk_paths_wrote_at_a_whole_second_compare_as_core_writes_them_after_0013e(tmp_path):
    async with scratch_database(tmp_path) as url:
        await migrate.upgrade(url, "0012d")
        database = Database(url, pool_size=2)
        try:
            org = await make_org(database, org_spec("acme"))
            config = await org_config(database, org.org_id)
            await database.run_write(
                lambda connection: register_customers(
                    connection, config, IdentifierType.EXTERNAL_ID, ["E1", "E2"], TEST_NOW.replace(microsecond=0)
                )
            )
            # As the bulk paths wrote them before 0013e (sqlite3's own datetime text).
            await database.run_write(
                lambda connection: connection.execute(
                    sa.text("UPDATE customers SET registered_on = substr(registered_on, 1, 19) WHERE id = 1")
                )
            )
            await database.dispose()
            await migrate.upgrade(url)
            database = Database(url, pool_size=2)
            async with database.read() as connection:
                stored = (await connection.execute(sa.text("SELECT registered_on FROM customers ORDER BY id"))).all()
                since = (
                    await connection.execute(
                        sa.text("SELECT count(*) FROM customers WHERE registered_on >= :since"),
                        {"since": "2026-11-25 06:30:00.000000"},
                    )
                ).scalar_one()
        finally:
            await database.dispose()

    assert [row[0] for row in stored] == ["2026-11-25 06:30:00.000000", "2026-11-25 06:30:00.000000"]
    assert since == 2


async def _scalar(result) -> object:
    return (await result).scalar_one()


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FrozenClock):
    """Runs `pointledger ...` in-process against a fresh SQLite file in a scratch directory.

    Plain (sync) tests use it: the commands call asyncio.run themselves.
    """
    monkeypatch.chdir(tmp_path)  # .env, the demo key file and relative paths stay out of the repo
    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, exit_code: int = 0) -> str:
        # A wide console, so that rich neither wraps messages nor shortens table cells.
        result = runner.invoke(
            cli, [str(arg) for arg in args], env={"COLUMNS": "250"}, catch_exceptions=False, obj=clock
        )
        assert result.exit_code == exit_code, result.output
        return result.output

    run("db", "upgrade")
    yield run
    get_settings.cache_clear()


def test_applying_the_same_org_file_twice_changes_nothing_the_second_time(command_line):
    first = command_line("org", "apply", DEMO_ORG_FILE)
    second = command_line("org", "apply", DEMO_ORG_FILE)

    created = re.search(r"organisation applied \((\d+) changes\)", first)
    assert created, first
    assert int(created.group(1)) > 0, first
    assert second.strip() == "organisation applied (0 changes)"


def test_an_invalid_org_file_is_refused_naming_the_field(command_line, tmp_path):
    (tmp_path / "bad.toml").write_text(DEMO_ORG_FILE.read_text().replace('"Asia/Kolkata"', '"Mars/Olympus_Mons"'))

    output = command_line("org", "apply", "bad.toml", exit_code=2)

    assert "organization.time_zone" in output
    assert "unknown time zone 'Mars/Olympus_Mons'" in output
    # Nothing was written: the valid file still creates the organisation from scratch.
    assert "(0 changes)" not in command_line("org", "apply", DEMO_ORG_FILE)


def test_api_keys_are_created_listed_and_revoked(command_line):
    command_line("org", "apply", DEMO_ORG_FILE)

    created = command_line("apikey", "create", "demo", "--name", "till sync", "--role", "till")
    key_id = re.search(r"key id: (pk_\w+)", created).group(1)
    assert re.search(r"secret: \S{20,}", created)
    listed = [line for line in command_line("apikey", "list", "demo").splitlines() if key_id in line]
    assert len(listed) == 1
    assert "till sync" in listed[0]
    assert re.search(r"\btill\b", listed[0].replace("till sync", "")), "the key's roles are listed"
    assert not re.search(r"\d{4}-\d\d-\d\dT.*\d{4}-\d\d-\d\dT", listed[0]), "a new key is not revoked"

    assert command_line("apikey", "revoke", key_id).strip() == f"revoked {key_id}"
    listed = [line for line in command_line("apikey", "list", "demo").splitlines() if key_id in line]
    assert re.search(r"\d{4}-\d\d-\d\dT.*\d{4}-\d\d-\d\dT", listed[0]), "created and revoked times shown"
    assert "no active API key" in command_line("apikey", "revoke", key_id, exit_code=2)
    assert "no organisation with code 'nope'" in command_line("apikey", "create", "nope", "--role", "app", exit_code=2)


def test_reconcile_finds_nothing_on_a_fresh_organisation(command_line):
    command_line("org", "apply", DEMO_ORG_FILE)

    assert command_line("reconcile").strip() == "0 discrepancies"
    assert command_line("reconcile", "--org", "demo").strip() == "0 discrepancies"
