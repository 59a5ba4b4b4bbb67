"""`pointledger webhooks deliver`: the webhook delivery worker on its own, for deployments that
run it apart from the servers (set POINTLEDGER_WEBHOOK_POLL_INTERVAL_SECONDS=0 on those)."""

from __future__ import annotations

import typer

from app.cli.common import command_clock, console, run
from app.http.webhook_delivery import deliver_forever, worker_settings
from app.kernel.settings import get_settings
from app.storage.database import Database
from app.webhooks.worker import WebhookWorker

webhooks_cli = typer.Typer(help="Webhook delivery.", no_args_is_help=True)


@webhooks_cli.command()
def deliver(
    context: typer.Context,
    until_idle: bool = typer.Option(False, help="Stop after a pass that finds nothing to send (cron, tests)."),
) -> None:
    """Send due webhook deliveries, with retries, until stopped (Ctrl-C) or, with --until-idle, until none is due."""
    clock = command_clock(context)

    async def work(database: Database) -> None:
        worker = WebhookWorker(database, clock, settings=worker_settings(get_settings()))
        try:
            if until_idle:
                report = await worker.run_until_idle()
                console.print(
                    f"{report.fanned_out} events fanned out, {report.sent} attempts, {report.delivered} delivered, "
                    f"{report.failed} failed, {len(report.disabled_endpoints)} endpoints disabled"
                )
            else:
                await deliver_forever(worker)
        finally:
            await worker.close()

    run(work)
