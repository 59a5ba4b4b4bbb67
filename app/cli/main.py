"""The `pointledger` command line, assembled from one module per command group."""

from __future__ import annotations

import typer

from app.cli.api_keys import key_cli
from app.cli.database import db_cli
from app.cli.imports import import_cli
from app.cli.ledger import ledger_cli
from app.cli.organizations import org_cli
from app.cli.promotions import promo_cli
from app.cli.referrals import referrals_cli
from app.cli.server import server_cli
from app.cli.webhooks import webhooks_cli

cli = typer.Typer(
    help="pointledger: a loyalty engine with a GraphQL API.", no_args_is_help=True, pretty_exceptions_enable=False
)
cli.add_typer(db_cli, name="db")
cli.add_typer(org_cli, name="org")
cli.add_typer(key_cli, name="apikey")
cli.add_typer(promo_cli, name="promo")
cli.add_typer(import_cli, name="import")
cli.add_typer(ledger_cli)
cli.add_typer(server_cli)
cli.add_typer(webhooks_cli, name="webhooks")
cli.add_typer(referrals_cli, name="referrals")


def main() -> None:
    cli()
