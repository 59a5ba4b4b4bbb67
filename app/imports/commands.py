"""`pointledger import promotion FILE ...` and `pointledger import tracker FILE ...`: the
CUSTOMER_PROMOTION and TRACKERS profiles from the command line, like `import points`: a
progress bar, exactly once, --resume JOB, --dry-run, --rejects-out; auto-corrections are counted
(and listed with --corrections)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from app.config import get_settings
from app.db import Database
from app.imports.models import ImportProfile

Runner = Callable[[Callable[[Database], Awaitable[Any]]], Any]


def run_import(run: Runner, console: Console, errors: Console, *, profile: ImportProfile, file: Path | None, org: str,
               template: str | None, configuration: dict[str, Any] | None, error_policy: str, dry_run: bool,
               import_key: str | None, resume: int | None, rejects_out: Path | None, batch_size: int,
               show_corrections: bool) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from app.imports import service as imports
    from app.imports.models import ErrorPolicy
    from app.organizations import service as organizations
    from app.organizations.config import load_org_config

    if (file is None) == (resume is None):
        raise typer.BadParameter("give a FILE to import, or --resume JOB")
    if error_policy not in ErrorPolicy.__members__:
        raise typer.BadParameter("KEEP_VALID or REJECT_FILE", param_hint="--error-policy")
    settings = get_settings()

    async def work(database: Database) -> tuple[imports.JobView, int, list[imports.CorrectionView]]:
        async with database.read() as connection:
            org_config = await load_org_config(connection, await organizations.org_id_by_code(connection, org))
        assert org_config is not None
        if resume is not None:
            async with database.read() as connection:
                job = await imports.get_job(connection, org_config.id, resume)
            if job is None or job.profile is not profile:
                raise imports.ImportJobNotFoundError(f"no {profile.value} import job {resume} in {org}")
        else:
            assert file is not None
            request = imports.ImportRequest(profile, template_name=template, configuration=None if template else configuration,
                                            error_policy=ErrorPolicy(error_policy), dry_run=dry_run, import_key=import_key)
            submitted = await imports.submit(database, org_config, request,
                                             imports.local_file(file, settings.import_size_limit_bytes))
            job = submitted.job
            if submitted.existing:
                console.print(f"already submitted as job {job.id} ({job.status.value}): nothing imported again")
        if job.status.value in ("QUEUED", "RUNNING") or job.error_code == "INTERNAL_ERROR":
            with Progress(TextColumn("job {task.fields[job]} {task.fields[phase]}"), BarColumn(), DownloadColumn(),
                          TextColumn("{task.fields[rows]:,} rows"), TimeRemainingColumn(), console=console) as progress:
                task = progress.add_task("import", total=job.file_size_bytes, completed=job.bytes_read, job=job.id,
                                         phase=job.phase.value.lower(), rows=job.rows_read)

                def show(current: imports.JobView) -> None:
                    progress.update(task, completed=current.bytes_read, phase=current.phase.value.lower(),
                                    rows=current.rows_read)

                job = await imports.run_job(database, job.id, imports.RunOptions(batch_size=batch_size, on_progress=show))
        async with database.read() as connection:
            count = await imports.count_corrections(connection, job.id)
            listed = (await imports.correction_page(connection, job.id, first=1000, after_id=None))[0] if show_corrections else []
        return job, count, listed

    job, corrections, listed = run(work)
    if rejects_out is not None:
        async def write_rejects(database: Database) -> None:
            with rejects_out.open("wb") as output:
                async for chunk in imports.rejects_csv(database, job):
                    output.write(chunk)
        run(write_rejects)
    would = job.dry_run
    console.print(f"job {job.id} {job.status.value}: {job.rows_imported:,} {'would be ' if would else ''}imported, "
                  f"{job.rows_rejected:,} rejected of {job.rows_read:,} rows; {format(job.points_imported.normalize(), 'f')} points; "
                  f"{corrections:,} auto-corrections", highlight=False)
    for correction in listed:
        console.print(f"  row {correction.row_number} {correction.column or ''}: {correction.code} {correction.message}",
                      highlight=False)
    if job.error_code:
        errors.print(f"[red]{job.error_code}[/red]: {job.error_message}")
    if job.status.value == "FAILED":
        raise typer.Exit(1)


def add_profile_commands(import_cli: typer.Typer, run: Runner, console: Console, errors: Console) -> None:
    """Register `import promotion` and `import tracker` on the CLI's `import` group."""

    @import_cli.command("promotion")
    def import_promotion(
        file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help="A customer promotion CSV file."),
        org: str = typer.Option(..., help="The organisation code."),
        promotion_name: str | None = typer.Option(None, "--promotion-name", help="The promotion's name (or --template)."),
        promotion_identifier: str | None = typer.Option(None, "--promotion-identifier", help="User-defined identifier."),
        identifier_type: str = typer.Option("MOBILE", "--identifier-type",
                                            help="MOBILE, EMAIL, EXTERNAL_ID, USER_ID, CARD_NUMBER or CARD_EXTERNAL_ID."),
        append_country_code: bool = typer.Option(False, "--append-country-code", help="Add the base country code to mobiles."),
        stores_by_external_id: bool = typer.Option(False, "--stores-by-external-id", help="store_code holds external ids."),
        replacement_store: str | None = typer.Option(None, "--replacement-store", help="Replace unknown stores with this store code."),
        program: str | None = typer.Option(None, help="The promotion's program (the default program otherwise)."),
        expiry_strategy: str | None = typer.Option(None, "--expiry-strategy", help="The points' expiry strategy."),
        expiry_value: int | None = typer.Option(None, "--expiry-value", help="The strategy's value."),
        user_groups: bool = typer.Option(False, "--user-groups", help="Points go to the groups in user_group_identifier."),
        group_identifier_type: str = typer.Option("EXTERNAL_ID", "--group-identifier-type", help="EXTERNAL_ID or GROUP_ID."),
        template: str | None = typer.Option(None, help="A saved CUSTOMER_PROMOTION template."),
        error_policy: str = typer.Option("KEEP_VALID", "--error-policy", help="KEEP_VALID or REJECT_FILE."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; import nothing."),
        import_key: str | None = typer.Option(None, "--import-key", help="The same key again returns the same job."),
        resume: int | None = typer.Option(None, "--resume", help="Resume this job from its last committed batch."),
        rejects_out: Path | None = typer.Option(None, "--rejects-out", help="Write the rejected rows (with reasons) here."),
        corrections: bool = typer.Option(False, "--corrections", help="List the auto-corrections (first 1,000)."),
        batch_size: int = typer.Option(2000, "--batch-size", min=1, max=20000, help="Rows per transaction."),
    ) -> None:
        """Import customer promotion points with a progress bar; exactly once, resumable (--resume JOB)."""
        configuration = {
            "promotion_name": promotion_name or "", "unique_identifier_type": identifier_type,
            "append_country_code": append_country_code, "stores_by_external_id": stores_by_external_id,
            "replacement_store_code": replacement_store, "promotion_identifier": promotion_identifier,
            "program_code": program, "expiry_strategy": expiry_strategy, "expiry_value": expiry_value,
            "user_groups_enabled": user_groups, "user_group_identifier_type": group_identifier_type,
        }
        run_import(run, console, errors, profile=ImportProfile.CUSTOMER_PROMOTION, file=file, org=org, template=template,
                   configuration=configuration, error_policy=error_policy, dry_run=dry_run, import_key=import_key,
                   resume=resume, rejects_out=rejects_out, batch_size=batch_size, show_corrections=corrections)

    @import_cli.command("tracker")
    def import_tracker(
        file: Path | None = typer.Argument(None, exists=True, dir_okay=False, help="A trackers CSV file."),
        org: str = typer.Option(..., help="The organisation code."),
        tracker: str | None = typer.Option(None, help="The tracker's code (or --template)."),
        bill_identification: str = typer.Option("STANDARD_FIELDS", "--bill-identification",
                                                help="STANDARD_FIELDS or LOYALTY_LOG_ID."),
        identifier_type: str = typer.Option("MOBILE", "--identifier-type", help="MOBILE, EMAIL, EXTERNAL_ID or USER_ID."),
        append_country_code: bool = typer.Option(False, "--append-country-code", help="Add the base country code to mobiles."),
        stores_by_external_id: bool = typer.Option(False, "--stores-by-external-id", help="store_code holds external ids."),
        replacement_store: str | None = typer.Option(None, "--replacement-store", help="Replace unknown stores with this store code."),
        user_groups: bool = typer.Option(False, "--user-groups", help="Values are the groups in user_group_identifier."),
        group_identifier_type: str = typer.Option("EXTERNAL_ID", "--group-identifier-type", help="EXTERNAL_ID or GROUP_ID."),
        template: str | None = typer.Option(None, help="A saved TRACKERS template."),
        error_policy: str = typer.Option("KEEP_VALID", "--error-policy", help="KEEP_VALID or REJECT_FILE."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; import nothing."),
        import_key: str | None = typer.Option(None, "--import-key", help="The same key again returns the same job."),
        resume: int | None = typer.Option(None, "--resume", help="Resume this job from its last committed batch."),
        rejects_out: Path | None = typer.Option(None, "--rejects-out", help="Write the rejected rows (with reasons) here."),
        corrections: bool = typer.Option(False, "--corrections", help="List the auto-corrections (first 1,000)."),
        batch_size: int = typer.Option(2000, "--batch-size", min=1, max=20000, help="Rows per transaction."),
    ) -> None:
        """Import tracked values on existing bills with a progress bar; exactly once, resumable (--resume JOB)."""
        configuration = {
            "tracker_code": tracker or "", "bill_identification": bill_identification,
            "unique_identifier_type": identifier_type, "append_country_code": append_country_code,
            "stores_by_external_id": stores_by_external_id, "replacement_store_code": replacement_store,
            "user_groups_enabled": user_groups, "user_group_identifier_type": group_identifier_type,
        }
        run_import(run, console, errors, profile=ImportProfile.TRACKERS, file=file, org=org, template=template,
                   configuration=configuration, error_policy=error_policy, dry_run=dry_run, import_key=import_key,
                   resume=resume, rejects_out=rejects_out, batch_size=batch_size, show_corrections=corrections)
