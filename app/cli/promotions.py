"""`pointledger promo ...`: promo codes in bulk from the command line (1,000,000 codes at a time
is fine here; the GraphQL mutation stops at 100,000), uploads from a file, and the counters check."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from app.cli.common import command_now, console, errors, load_org
from app.cli.common import run as _run
from app.kernel.errors import DomainError
from app.organizations import service as organizations
from app.promotions import rules
from app.promotions import service as promotions_service
from app.storage.database import Database

promo_cli = typer.Typer(
    help="Code-linked promotions: generate and upload codes, check the counters.", no_args_is_help=True
)


@promo_cli.command("generate")
def generate(
    context: typer.Context,
    org: str = typer.Argument(..., help="The organisation code."),
    promotion_id: int = typer.Argument(..., help="The promotion's id."),
    count: int = typer.Option(..., "--count", help="How many new codes."),
    length: int = typer.Option(8, "--length", help="Random characters after the prefix (4 to 24)."),
    prefix: str | None = typer.Option(None, "--prefix", help="Put before every code."),
    batch_size: int = typer.Option(
        promotions_service.GENERATE_BATCH_SIZE,
        "--batch-size",
        help="Codes per write transaction (other writers get in between).",
    ),
) -> None:
    """Generate unique codes for a promotion, in batches; collisions are topped up."""
    if not 100 <= batch_size <= promotions_service.GENERATE_BATCH_SIZE_MAX:
        raise typer.BadParameter(
            f"between 100 and {promotions_service.GENERATE_BATCH_SIZE_MAX:,}", param_hint="--batch-size"
        )
    try:
        request = rules.check_generation(count, length, prefix, path="promo generate")
    except DomainError as error:
        raise typer.BadParameter(error.message, param_hint=f"--{(error.field or '').rsplit('.', 1)[-1]}") from error
    started = time.perf_counter()
    shown = [0]

    def progress(done: int) -> None:
        if done - shown[0] >= 100_000 or done == count:
            shown[0] = done
            console.print(f"  {done:,} / {count:,} ({time.perf_counter() - started:.1f} s)", highlight=False)

    now = command_now(context)

    async def work(database: Database) -> int:
        config = await load_org(database, org)
        return (
            await promotions_service.generate_codes(
                database, config, promotion_id, request, now=now, batch_size=batch_size, progress=progress
            )
        ).count

    generated = _run(work)
    seconds = time.perf_counter() - started
    console.print(
        f"generated {generated:,} codes in {seconds:.2f} s ({generated / seconds:,.0f} codes/s)", highlight=False
    )


@promo_cli.command("upload")
def upload(
    context: typer.Context,
    org: str = typer.Argument(..., help="The organisation code."),
    promotion_id: int = typer.Argument(..., help="The promotion's id."),
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A CSV file with a `code` column."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Store the valid rows even when others are in error (default: none)."
    ),
) -> None:
    """Add codes from a CSV file; each row in error is listed (row, column, code, message)."""
    policy = (
        promotions_service.UploadPolicy.SKIP_INVALID if skip_invalid else promotions_service.UploadPolicy.REJECT_ALL
    )

    now = command_now(context)
    text = path.read_text(encoding="utf-8-sig")

    async def work(database: Database) -> promotions_service.UploadReport:
        config = await load_org(database, org)
        return await promotions_service.upload_codes(database, config, promotion_id, text, policy, path="file", now=now)

    report = _run(work)
    for error in report.errors:
        errors.print(
            f"row {error.row}, {error.column} {error.code!r}: {error.error_code}: {error.message}", highlight=False
        )
    console.print(f"{report.stored:,} of {report.rows:,} rows stored, {len(report.errors):,} in error", highlight=False)
    if report.errors and not report.stored:
        raise typer.Exit(1)


@promo_cli.command("reconcile")
def reconcile(org: str | None = typer.Option(None, help="Only this organisation.")) -> None:
    """Check every promo-code counter against the redemptions it counts."""

    async def work(database: Database) -> list[promotions_service.CounterDiscrepancy]:
        async with database.read() as connection:
            org_id = await organizations.org_id_by_code(connection, org) if org else None
            return await promotions_service.reconcile_promotions(connection, org_id)

    found = _run(work)
    for item in found:
        errors.print(
            f"{item.counter} {item.row_id}: stored {item.stored} but the redemptions give {item.from_redemptions}"
        )
    console.print(f"{len(found)} discrepancies")
    if found:
        raise typer.Exit(1)
