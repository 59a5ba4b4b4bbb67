"""`pointledger import points|promotion|tracker FILE ...`: the TALON_ONE_POINTS, CUSTOMER_PROMOTION
and TRACKERS profiles from the command line, one way for all three: a progress bar, exactly once,
--resume JOB, --dry-run, --rejects-out; auto-corrections are counted (and listed with --corrections)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from app.cli.common import command_clock, console, errors, load_org, run
from app.imports import service as imports
from app.imports.errors import ImportInterruptedError
from app.imports.models import ErrorPolicy, ImportProfile
from app.kernel.clock import Clock
from app.kernel.settings import get_settings
from app.organizations.config import OrgConfig
from app.storage.database import Database

import_cli = typer.Typer(
    help='Bulk imports from CSV files (resumable; see README "Bulk imports").', no_args_is_help=True
)

# The options every `import` command has (typer copies an option given as a default, so one
# serves several commands).
ORG_OPTION = typer.Option(..., help="The organisation code.")
ERROR_POLICY_OPTION = typer.Option("KEEP_VALID", "--error-policy", help="KEEP_VALID or REJECT_FILE.")
DRY_RUN_OPTION = typer.Option(False, "--dry-run", help="Validate and report; import nothing.")
IMPORT_KEY_OPTION = typer.Option(None, "--import-key", help="The same key again returns the same job.")
RESUME_OPTION = typer.Option(None, "--resume", help="Resume this job from its last committed batch.")
REJECTS_OUT_OPTION = typer.Option(None, "--rejects-out", help="Write the rejected rows (with reasons) here.")
# The options of the profiles that name customers (or user groups) and stores.
APPEND_COUNTRY_CODE_OPTION = typer.Option(False, "--append-country-code", help="Add the base country code to mobiles.")
STORES_BY_EXTERNAL_ID_OPTION = typer.Option(False, "--stores-by-external-id", help="store_code holds external ids.")
REPLACEMENT_STORE_OPTION = typer.Option(
    None, "--replacement-store", help="Replace unknown stores with this store code."
)
GROUP_IDENTIFIER_TYPE_OPTION = typer.Option("EXTERNAL_ID", "--group-identifier-type", help="EXTERNAL_ID or GROUP_ID.")
CORRECTIONS_OPTION = typer.Option(False, "--corrections", help="List the auto-corrections (first 1,000).")
# Alone, a transaction holds this many rows (fewer, larger commits); with another writer
# waiting it ends sooner (RunOptions.longer_when_alone).
BATCH_SIZE_OPTION = typer.Option(20000, "--batch-size", min=1, max=20000, help="Rows per transaction (at most).")


# Young-generation collections every this many container allocations (Python's default: 700).
GARBAGE_THRESHOLD_ALLOCATIONS = 50_000


@contextmanager
def garbage_collected_seldom() -> Iterator[None]:
    """Within: what exists (modules, the schema) is frozen out of the cyclic collector's sweeps,
    and young collections run 70 times less often; as before after. An import allocates tuples
    by the million, nearly all freed by their reference counts, and the collector's sweeps over
    them cost 14% of its CPU at 200,000 rows (scripts/bench_tools/import_threads.py)."""
    gc.collect()  # nothing unreachable is frozen
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(GARBAGE_THRESHOLD_ALLOCATIONS, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def check_arguments(file: Path | None, resume: int | None, error_policy: str) -> None:
    if (file is None) == (resume is None):
        raise typer.BadParameter("give a FILE to import, or --resume JOB")
    if error_policy not in ErrorPolicy.__members__:
        raise typer.BadParameter("KEEP_VALID or REJECT_FILE", param_hint="--error-policy")


async def submit_file(
    database: Database,
    org_config: OrgConfig,
    request: imports.ImportRequest,
    file: Path,
    now: datetime,
) -> imports.Submitted:
    submitted = await imports.submit(
        database, org_config, request, imports.local_file(file, get_settings().import_size_limit_bytes), now=now
    )
    if submitted.existing:
        console.print(
            f"already submitted as job {submitted.job.id} ({submitted.job.status.value}): nothing imported again"
        )
    return submitted


async def run_with_progress(database: Database, job: imports.JobView, batch_size: int, clock: Clock) -> imports.JobView:
    with Progress(
        TextColumn("job {task.fields[job]} {task.fields[phase]}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(
            "import",
            total=job.file_size_bytes,
            completed=job.bytes_read,
            job=job.id,
            phase=job.phase.value.lower(),
            rows=job.rows_read,
        )

        def show(current: imports.JobView) -> None:
            progress.update(
                task, completed=current.bytes_read, phase=current.phase.value.lower(), rows=current.rows_read
            )

        return await imports.run_job(
            database,
            job.id,
            imports.RunOptions(batch_size=batch_size, on_progress=show, longer_when_alone=True),
            clock=clock,
        )


def write_rejects(job: imports.JobView, rejects_out: Path) -> None:
    async def write(database: Database) -> None:
        with rejects_out.open("wb") as output:
            async for chunk in imports.rejects_csv(database, job):
                output.write(chunk)

    run(write)


def run_import(
    clock: Clock,
    *,
    profile: ImportProfile,
    file: Path | None,
    org: str,
    template: str | None,
    configuration: dict[str, Any] | None,
    error_policy: str,
    dry_run: bool,
    import_key: str | None,
    resume: int | None,
    rejects_out: Path | None,
    batch_size: int,
    show_corrections: bool,
) -> None:
    from app.imports import service as imports

    check_arguments(file, resume, error_policy)

    async def work(database: Database) -> tuple[imports.JobView, int, list[imports.CorrectionView]]:
        org_config = await load_org(database, org)
        if resume is not None:
            async with database.read() as connection:
                job = await imports.get_job(connection, org_config.id, resume)
            if job is None or job.profile is not profile:
                raise imports.ImportJobNotFoundError(f"no {profile.value} import job {resume} in {org}")
        else:
            assert file is not None
            request = imports.ImportRequest(
                profile,
                template_name=template,
                configuration=None if template else configuration,
                error_policy=ErrorPolicy(error_policy),
                dry_run=dry_run,
                import_key=import_key,
            )
            job = (await submit_file(database, org_config, request, file, clock.now())).job
        if job.status.value in ("QUEUED", "RUNNING") or job.error_code == "INTERNAL_ERROR":
            job = await run_with_progress(database, job, batch_size, clock)
        async with database.read() as connection:
            count = await imports.count_corrections(connection, job.id)
            listed = (
                (await imports.correction_page(connection, job.id, first=1000, after_id=None))[0]
                if show_corrections
                else []
            )
        return job, count, listed

    try:
        with garbage_collected_seldom():
            job, corrections, listed = run(work)
    except ImportInterruptedError as error:  # another runner took the job over: it goes on there
        errors.print(f"[yellow]stopped[/yellow]: {error}", highlight=False)
        raise typer.Exit(1) from error
    if rejects_out is not None:
        write_rejects(job, rejects_out)
    console.print(_summary(job, corrections), highlight=False)
    for correction in listed:
        console.print(
            f"  row {correction.row_number} {correction.column or ''}: {correction.code} {correction.message}",
            highlight=False,
        )
    if job.error_code:
        errors.print(f"[red]{job.error_code}[/red]: {job.error_message}")
    if job.status.value == "FAILED":
        raise typer.Exit(1)


def _summary(job: imports.JobView, corrections: int) -> str:
    counts = f"{job.rows_rejected:,} rejected of {job.rows_read:,} rows"
    if job.profile is ImportProfile.TALON_ONE_POINTS:
        would = "would be " if job.dry_run else ""
        imported = "would import" if job.dry_run else "imported"
        return (
            f"job {job.id} {job.status.value}: {job.rows_imported:,} {imported}, {counts}; "
            f"{job.customers_created:,} customers {would}registered"
        )
    expired = (
        f" ({format(job.points_expired.normalize(), 'f')} past their expiry, expired)" if job.points_expired else ""
    )
    return (
        f"job {job.id} {job.status.value}: {job.rows_imported:,} {'would be ' if job.dry_run else ''}imported, "
        f"{counts}; {format(job.points_imported.normalize(), 'f')} points{expired}; {corrections:,} auto-corrections"
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
    run_import(
        command_clock(context),
        profile=ImportProfile.TALON_ONE_POINTS,
        file=file,
        org=org,
        template=template,
        configuration={"program_code": program or "", "register_unknown_customers": register_unknown_customers},
        error_policy=error_policy,
        dry_run=dry_run,
        import_key=import_key,
        resume=resume,
        rejects_out=rejects_out,
        batch_size=batch_size,
        show_corrections=False,
    )


@import_cli.command("promotion")
def import_promotion(
    context: typer.Context,
    file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help="A customer promotion CSV file."),
    org: str = ORG_OPTION,
    promotion_name: str | None = typer.Option(None, "--promotion-name", help="The promotion's name (or --template)."),
    promotion_identifier: str | None = typer.Option(None, "--promotion-identifier", help="User-defined identifier."),
    identifier_type: str = typer.Option(
        "MOBILE", "--identifier-type", help="MOBILE, EMAIL, EXTERNAL_ID, USER_ID, CARD_NUMBER or CARD_EXTERNAL_ID."
    ),
    append_country_code: bool = APPEND_COUNTRY_CODE_OPTION,
    stores_by_external_id: bool = STORES_BY_EXTERNAL_ID_OPTION,
    replacement_store: str | None = REPLACEMENT_STORE_OPTION,
    program: str | None = typer.Option(None, help="The promotion's program (the default program otherwise)."),
    expiry_strategy: str | None = typer.Option(None, "--expiry-strategy", help="The points' expiry strategy."),
    expiry_value: int | None = typer.Option(None, "--expiry-value", help="The strategy's value."),
    user_groups: bool = typer.Option(False, "--user-groups", help="Points go to the groups in user_group_identifier."),
    group_identifier_type: str = GROUP_IDENTIFIER_TYPE_OPTION,
    template: str | None = typer.Option(None, help="A saved CUSTOMER_PROMOTION template."),
    error_policy: str = ERROR_POLICY_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    import_key: str | None = IMPORT_KEY_OPTION,
    resume: int | None = RESUME_OPTION,
    rejects_out: Path | None = REJECTS_OUT_OPTION,
    corrections: bool = CORRECTIONS_OPTION,
    batch_size: int = BATCH_SIZE_OPTION,
) -> None:
    """Import customer promotion points with a progress bar; exactly once, resumable (--resume JOB)."""
    configuration = {
        "promotion_name": promotion_name or "",
        "unique_identifier_type": identifier_type,
        "append_country_code": append_country_code,
        "stores_by_external_id": stores_by_external_id,
        "replacement_store_code": replacement_store,
        "promotion_identifier": promotion_identifier,
        "program_code": program,
        "expiry_strategy": expiry_strategy,
        "expiry_value": expiry_value,
        "user_groups_enabled": user_groups,
        "user_group_identifier_type": group_identifier_type,
    }
    run_import(
        command_clock(context),
        profile=ImportProfile.CUSTOMER_PROMOTION,
        file=file,
        org=org,
        template=template,
        configuration=configuration,
        error_policy=error_policy,
        dry_run=dry_run,
        import_key=import_key,
        resume=resume,
        rejects_out=rejects_out,
        batch_size=batch_size,
        show_corrections=corrections,
    )


@import_cli.command("tracker")
def import_tracker(
    context: typer.Context,
    file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help="A trackers CSV file."),
    org: str = ORG_OPTION,
    tracker: str | None = typer.Option(None, help="The tracker's code (or --template)."),
    bill_identification: str = typer.Option(
        "STANDARD_FIELDS", "--bill-identification", help="STANDARD_FIELDS or LOYALTY_LOG_ID."
    ),
    identifier_type: str = typer.Option("MOBILE", "--identifier-type", help="MOBILE, EMAIL, EXTERNAL_ID or USER_ID."),
    append_country_code: bool = APPEND_COUNTRY_CODE_OPTION,
    stores_by_external_id: bool = STORES_BY_EXTERNAL_ID_OPTION,
    replacement_store: str | None = REPLACEMENT_STORE_OPTION,
    user_groups: bool = typer.Option(False, "--user-groups", help="Values are the groups in user_group_identifier."),
    group_identifier_type: str = GROUP_IDENTIFIER_TYPE_OPTION,
    template: str | None = typer.Option(None, help="A saved TRACKERS template."),
    error_policy: str = ERROR_POLICY_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    import_key: str | None = IMPORT_KEY_OPTION,
    resume: int | None = RESUME_OPTION,
    rejects_out: Path | None = REJECTS_OUT_OPTION,
    corrections: bool = CORRECTIONS_OPTION,
    batch_size: int = BATCH_SIZE_OPTION,
) -> None:
    """Import tracked values on existing bills with a progress bar; exactly once, resumable (--resume JOB)."""
    configuration = {
        "tracker_code": tracker or "",
        "bill_identification": bill_identification,
        "unique_identifier_type": identifier_type,
        "append_country_code": append_country_code,
        "stores_by_external_id": stores_by_external_id,
        "replacement_store_code": replacement_store,
        "user_groups_enabled": user_groups,
        "user_group_identifier_type": group_identifier_type,
    }
    run_import(
        command_clock(context),
        profile=ImportProfile.TRACKERS,
        file=file,
        org=org,
        template=template,
        configuration=configuration,
        error_policy=error_policy,
        dry_run=dry_run,
        import_key=import_key,
        resume=resume,
        rejects_out=rejects_out,
        batch_size=batch_size,
        show_corrections=corrections,
    )


def _customer_column_command(profile: ImportProfile, what: str) -> Any:
    """An import command whose only setting is the customer's column (INTERACTIONS, BEHAVIOURAL_EVENTS)."""

    def command(
        context: typer.Context,
        file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help=f"A CSV file of {what}."),
        org: str = ORG_OPTION,
        identifier_type: str = typer.Option(
            "MOBILE", "--identifier-type", help="MOBILE, EMAIL, EXTERNAL_ID or USER_ID."
        ),
        template: str | None = typer.Option(None, help=f"A saved {profile.value} template."),
        error_policy: str = ERROR_POLICY_OPTION,
        dry_run: bool = DRY_RUN_OPTION,
        import_key: str | None = IMPORT_KEY_OPTION,
        resume: int | None = RESUME_OPTION,
        rejects_out: Path | None = REJECTS_OUT_OPTION,
        batch_size: int = BATCH_SIZE_OPTION,
    ) -> None:
        run_import(
            command_clock(context),
            profile=profile,
            file=file,
            org=org,
            template=template,
            configuration={"unique_identifier_type": identifier_type},
            error_policy=error_policy,
            dry_run=dry_run,
            import_key=import_key,
            resume=resume,
            rejects_out=rejects_out,
            batch_size=batch_size,
            show_corrections=False,
        )

    command.__doc__ = f"Import {what} with a progress bar; exactly once, resumable (--resume JOB)."
    return command


import_cli.command("interactions")(_customer_column_command(ImportProfile.INTERACTIONS, "interactions"))
import_cli.command("events")(_customer_column_command(ImportProfile.BEHAVIOURAL_EVENTS, "behavioural events"))


def _program_command(profile: ImportProfile, what: str) -> Any:
    """An import command whose only setting is the program (POINTS_DEBITS, OPENING_BALANCES)."""

    def command(
        context: typer.Context,
        file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help=f"A CSV file of {what}."),
        org: str = ORG_OPTION,
        program: str | None = typer.Option(None, help="The program the points are in (or --template)."),
        template: str | None = typer.Option(None, help=f"A saved {profile.value} template."),
        error_policy: str = ERROR_POLICY_OPTION,
        dry_run: bool = DRY_RUN_OPTION,
        import_key: str | None = IMPORT_KEY_OPTION,
        resume: int | None = RESUME_OPTION,
        rejects_out: Path | None = REJECTS_OUT_OPTION,
        batch_size: int = BATCH_SIZE_OPTION,
    ) -> None:
        run_import(
            command_clock(context),
            profile=profile,
            file=file,
            org=org,
            template=template,
            configuration={"program_code": program or ""},
            error_policy=error_policy,
            dry_run=dry_run,
            import_key=import_key,
            resume=resume,
            rejects_out=rejects_out,
            batch_size=batch_size,
            show_corrections=False,
        )

    command.__doc__ = f"Import {what} with a progress bar; exactly once, resumable (--resume JOB)."
    return command


import_cli.command("debits")(_program_command(ImportProfile.POINTS_DEBITS, "historic redemptions and expiries"))
import_cli.command("opening-balances")(
    _program_command(ImportProfile.OPENING_BALANCES, "opening balances (PointsLedgerBulkJob)")
)
