"""`pointledger referrals ...`: referral codes in bulk."""

from __future__ import annotations

import typer

from app.cli.common import command_now, console, load_org, run
from app.customers.referral_codes import BATCH_SIZE_DEFAULT, BATCH_SIZE_MAX, DrawReport, draw_missing_codes
from app.storage.database import Database

referrals_cli = typer.Typer(help="Referral codes.", no_args_is_help=True)


@referrals_cli.command("draw-codes")
def draw_codes(
    context: typer.Context,
    org: str = typer.Option(..., help="The organisation's code."),
    batch_size: int = typer.Option(
        BATCH_SIZE_DEFAULT, min=1, max=BATCH_SIZE_MAX, help="Customers per write transaction."
    ),
) -> None:
    """Draw a referral code for every customer of the organisation who has none (imported in bulk, or
    registered before referrals). Codes already given stay; running it again draws none."""
    now = command_now(context)

    async def work(database: Database) -> DrawReport:
        org_config = await load_org(database, org)
        return await draw_missing_codes(database, org_config.id, now=now, batch_size=batch_size)

    report = run(work)
    console.print(f"drew {report.drawn} referral codes for {report.customers} customers (the others had one)")
