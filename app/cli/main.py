"""The `pointledger` command line: database, organisations, API keys, reconciliation, serving."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError as SpecError
from rich.table import Table

from app.cli.common import command_clock, command_now, console, errors
from app.cli.common import run as _run
from app.cli.imports import (
    DRY_RUN_OPTION,
    ERROR_POLICY_OPTION,
    IMPORT_KEY_OPTION,
    ORG_OPTION,
    REJECTS_OUT_OPTION,
    RESUME_OPTION,
    add_profile_commands,
)
from app.cli.promotions import promo_cli
from app.conversions.service import convert_promised_points
from app.kernel.settings import get_settings
from app.ledger.expiry import RunReport, expire_points, org_clocks, start_of_local_day
from app.ledger.service import reconcile as reconcile_ledger
from app.organizations import service as organizations
from app.organizations.spec import load_spec_file
from app.storage import migrate
from app.storage.database import Database

cli = typer.Typer(
    help="pointledger: a loyalty engine with a GraphQL API.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)
org_cli = typer.Typer(help="Organisations, from their declarative files.", no_args_is_help=True)
key_cli = typer.Typer(help="An organisation's API keys (HTTP Basic credentials).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(org_cli, name="org")
cli.add_typer(key_cli, name="apikey")
cli.add_typer(promo_cli, name="promo")
import_cli = typer.Typer(
    help='Bulk imports from CSV files (resumable; see README "Bulk imports").', no_args_is_help=True
)
cli.add_typer(import_cli, name="import")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create the database or migrate it to the latest schema."""
    asyncio.run(migrate.upgrade(get_settings().database_url))
    console.print("database is up to date")


def apply_file(path: Path, now: datetime) -> organizations.ApplyReport:
    try:
        spec = load_spec_file(path)
    except SpecError as error:
        for problem in error.errors():
            location = ".".join(str(part) for part in problem["loc"])
            errors.print(f"[red]invalid[/red] {path}: {location}: {problem['msg']}")
        raise typer.Exit(2) from error
    return _run(
        lambda database: database.run_write(lambda connection: organizations.apply_spec(connection, spec, now=now))
    )


@org_cli.command("apply")
def org_apply(
    context: typer.Context,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .toml or .yaml organisation file."),
) -> None:
    """Create or update an organisation from its file. Running it twice changes nothing."""
    report = apply_file(path, command_now(context))
    for change in report.changes:
        console.print(f"  {change}")
    console.print(f"organisation applied ({len(report.changes)} changes)")


@key_cli.command("create")
def key_create(
    context: typer.Context,
    org: str = typer.Argument(..., help="The organisation code."),
    name: str = typer.Option("", help="A label."),
    admin: bool = typer.Option(False, "--admin", help="May also run organisation-wide checks (reconciliation)."),
) -> None:
    """Create an API key. The secret is shown once and never stored."""
    now = command_now(context)

    async def work(database: Database) -> organizations.CreatedApiKey:
        async def create(connection: Any) -> organizations.CreatedApiKey:
            org_id = await organizations.org_id_by_code(connection, org)
            return await organizations.create_api_key(connection, org_id, name, now=now, is_admin=admin)

        return await database.run_write(create)

    key = _run(work)
    console.print(
        f"key id: {key.key_id}\nsecret: {key.secret}\n{'admin key' if admin else 'key'} created"
        " (the secret is shown only now)"
    )


@key_cli.command("list")
def key_list(org: str = typer.Argument(..., help="The organisation code.")) -> None:
    """List an organisation's API keys (never their secrets)."""

    async def work(database: Database) -> list[Any]:
        async with database.read() as connection:
            return await organizations.list_api_keys(connection, await organizations.org_id_by_code(connection, org))

    table = Table("key id", "name", "admin", "created", "revoked")
    for row in _run(work):
        table.add_row(
            row.key_id,
            row.name,
            "yes" if row.is_admin else "",
            row.created_at.isoformat(),
            row.revoked_at.isoformat() if row.revoked_at else "",
        )
    console.print(table)


@key_cli.command("revoke")
def key_revoke(context: typer.Context, key_id: str = typer.Argument(...)) -> None:
    """Revoke an API key; servers stop accepting it within their cache time (5 s by default)."""
    now = command_now(context)
    _run(
        lambda database: database.run_write(
            lambda connection: organizations.revoke_api_key(connection, key_id, now=now)
        )
    )
    console.print(f"revoked {key_id}")


@cli.command()
def reconcile(org: str | None = typer.Option(None, help="Only this organisation's accounts.")) -> None:
    """Recompute every balance from the ledger and list accounts where they differ."""

    async def work(database: Database) -> list[Any]:
        async with database.read() as connection:
            org_id = await organizations.org_id_by_code(connection, org) if org else None
            return await reconcile_ledger(connection, org_id=org_id)

    found = _run(work)
    for item in found:
        errors.print(
            f"account {item.account_id} ({item.category}, customer {item.customer_id}): {item.counter} "
            f"stored {item.stored} but the entries give {item.from_entries}"
        )
    console.print(f"{len(found)} discrepancies")
    if found:
        raise typer.Exit(1)


AS_OF_HELP = (
    "A date (YYYY-MM-DD: as that day begins in each organisation's time zone) or a time with an offset "
    "(2026-02-01T06:00:00+05:30); now when omitted. Never later than now."
)


def _parse_as_of(value: str | None) -> date | datetime | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(
            "must be a date (YYYY-MM-DD) or a time with an offset", param_hint="--as-of"
        ) from error
    if moment.tzinfo is None:
        raise typer.BadParameter("a time needs an offset (e.g. +05:30 or Z)", param_hint="--as-of")
    return moment.astimezone(UTC)


def _run_per_org(
    now: datetime,
    as_of: str | None,
    org: str | None,
    run: Callable[[Database, datetime, int, datetime], Awaitable[RunReport]],
    done: str,
) -> None:
    """Run `run` for each organisation (or the one named) as of its own reading of --as-of."""
    given = _parse_as_of(as_of)
    clocks = _run(lambda database: org_clocks(database, org))
    moments = {}
    for clock in clocks:
        if given is None:
            moments[clock.id] = now
        elif isinstance(given, datetime):
            moments[clock.id] = given
        else:
            moments[clock.id] = start_of_local_day(given, clock.time_zone)
        if moments[clock.id] > now:
            raise typer.BadParameter(
                f"{moments[clock.id].isoformat()} is later than now: points are never expired or "
                "converted ahead of their time",
                param_hint="--as-of",
            )

    async def work(database: Database) -> list[RunReport]:
        return [await run(database, moments[clock.id], clock.id, now) for clock in clocks]

    for clock, report in zip(clocks, _run(work), strict=True):
        points = format(report.points.normalize(), "f") if report.points else "0"
        console.print(
            f"{clock.code}: {done} {points} points from {report.lots} lots in {report.accounts} accounts "
            f"(as of {moments[clock.id].astimezone(clock.time_zone).isoformat()})",
            highlight=False,
        )


@cli.command()
def expire(
    context: typer.Context,
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    org: str | None = typer.Option(None, help="Only this organisation."),
) -> None:
    """Expire every lot past its expiry date: one Points Expiry debit per account, exactly once."""
    _run_per_org(
        command_now(context),
        as_of,
        org,
        lambda database, moment, org_id, now: expire_points(database, moment, org_id, now=now),
        "expired",
    )


@cli.command("convert-promised")
def convert_promised(
    context: typer.Context,
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    org: str | None = typer.Option(None, help="Only this organisation."),
) -> None:
    """Convert PROMISED points whose start date has come into REGULAR points, exactly once."""
    _run_per_org(
        command_now(context),
        as_of,
        org,
        lambda database, moment, org_id, now: convert_promised_points(database, moment, org_id, now=now),
        "converted",
    )


@import_cli.command("points")
def import_points(
    context: typer.Context,
    file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help="A Talon.One loyalty points CSV file."),
    org: str = ORG_OPTION,
    program: str | None = typer.Option(None, help="The program the points go to (or --template)."),
    template: str | None = typer.Option(None, help="A saved TALON_ONE_POINTS template."),
    error_policy: str = ERROR_POLICY_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    import_key: str | None = IMPORT_KEY_OPTION,
    register_unknown_customers: bool = typer.Option(
        True, " /--no-register-unknown-customers", help="Refuse unknown customerprofileids instead of registering them."
    ),
    resume: int | None = RESUME_OPTION,
    rejects_out: Path | None = REJECTS_OUT_OPTION,
    # 25,000: each commit rewrites every index page it touched, so larger batches write fewer
    # pages per row (200,000 rows: 2,000 a batch 47 s, 10,000 34 s, 25,000 31 s, 50,000 29 s but
    # over 300 MB). A batch holds SQLite's writer a few seconds; the server's imports keep 2,000.
    batch_size: int = typer.Option(25000, "--batch-size", min=1, max=100000, help="Rows per transaction."),
) -> None:
    """Import loyalty points (Talon.One format) with a progress bar; exactly once, resumable (--resume JOB)."""
    from app.cli import imports as commands
    from app.imports import service as imports
    from app.imports.models import ErrorPolicy, ImportProfile

    commands.check_arguments(file, resume, error_policy)
    clock = command_clock(context)

    async def work(database: Database) -> imports.JobView:
        org_config = await commands.load_org(database, org)
        if resume is not None:
            async with database.read() as connection:
                job = await imports.get_job(connection, org_config.id, resume)
            if job is None:
                raise imports.ImportJobNotFoundError(f"no import job {resume} in {org}")
        else:
            assert file is not None
            configuration = (
                None
                if template
                else {"program_code": program or "", "register_unknown_customers": register_unknown_customers}
            )
            request = imports.ImportRequest(
                ImportProfile.TALON_ONE_POINTS,
                template_name=template,
                configuration=configuration,
                error_policy=ErrorPolicy(error_policy),
                dry_run=dry_run,
                import_key=import_key,
            )
            submitted = await commands.submit_file(database, console, org_config, request, file, clock.now())
            job = submitted.job
            if submitted.existing:
                return job
        return await commands.run_with_progress(database, console, job, batch_size, clock)

    job = _run(work)
    if rejects_out is not None:
        commands.write_rejects(_run, job, rejects_out)
    verb = "would import" if job.dry_run else "imported"
    console.print(
        f"job {job.id} {job.status.value}: {job.rows_imported:,} {verb if job.dry_run else 'imported'}, "
        f"{job.rows_rejected:,} rejected of {job.rows_read:,} rows; {job.customers_created:,} customers "
        f"{'would be ' if job.dry_run else ''}registered",
        highlight=False,
    )
    if job.error_code:
        errors.print(f"[red]{job.error_code}[/red]: {job.error_message}")
    if job.status.value == "FAILED":
        raise typer.Exit(1)


add_profile_commands(import_cli, _run, console, errors)  # import promotion, import tracker

DEMO_FILE = Path("demo/org.toml")
DEMO_KEY_FILE = Path(".pointledger-demo-key.json")


@cli.command()
def demo(context: typer.Context, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Migrate, apply the demo organisation, and print its credentials and a ready curl line."""
    now = command_now(context)
    asyncio.run(migrate.upgrade(get_settings().database_url))
    report = apply_file(DEMO_FILE, now)
    key = _demo_key(report.org_id, now)
    console.print(
        f"[bold]Demo organisation ready.[/bold] API key id: {key['key_id']}  secret: {key['secret']}", soft_wrap=True
    )
    console.print(f"GraphiQL: http://{host}:{port}/graphql (sign in with the key id and secret)")
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

    async def work(database: Database) -> dict[str, str]:
        if DEMO_KEY_FILE.exists():
            saved = json.loads(DEMO_KEY_FILE.read_text())
            async with database.read() as connection:
                stored = await organizations.find_api_key(connection, saved["key_id"])
            if stored is not None and stored.is_active and organizations.secret_matches(stored, saved["secret"]):
                return saved
        key = await database.run_write(
            lambda connection: organizations.create_api_key(connection, org_id, "demo", now=now)
        )
        return {"key_id": key.key_id, "secret": key.secret}

    saved = _run(work)
    DEMO_KEY_FILE.write_text(json.dumps(saved))
    return saved


@cli.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Migrate and serve the API (one worker: SQLite has one writer; scale writes with PostgreSQL)."""
    import uvicorn

    asyncio.run(migrate.upgrade(get_settings().database_url))
    uvicorn.run(
        "app.http.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
    )


def main() -> None:
    cli()
