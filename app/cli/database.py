"""`pointledger db ...`: the database schema."""

from __future__ import annotations

import asyncio

import typer

from app.cli.common import console
from app.kernel.settings import get_settings
from app.storage import migrate

db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create the database or migrate it to the latest schema."""
    asyncio.run(migrate.upgrade(get_settings().database_url))
    console.print("database is up to date")
