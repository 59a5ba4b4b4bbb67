"""What every `pointledger` command shares: running async work on a short-lived database and
reporting a domain error as one line (its code, message and field) with exit status 2."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import typer
from rich.console import Console

from app.kernel.clock import Clock, SystemClock
from app.kernel.errors import DomainError
from app.kernel.settings import get_settings
from app.organizations.config import OrgConfig, load_org_config
from app.organizations.service import org_id_by_code
from app.storage.database import Database, missing_sqlite_file

Result = TypeVar("Result")

console = Console()
errors = Console(stderr=True)


def command_clock(context: typer.Context) -> Clock:
    """The clock a command runs by: the one its caller put in the command's context (tests invoke
    the CLI with `obj=FrozenClock(...)`), else the system's."""
    given = context.find_root().obj
    return given if isinstance(given, Clock) else SystemClock()


def command_now(context: typer.Context) -> datetime:
    """A command's one reading of the clock, taken where it starts."""
    return command_clock(context).now()


async def load_org(database: Database, code: str) -> OrgConfig:
    """The organisation a command names by its code (NOT_FOUND, exit status 2, when there is none)."""
    async with database.read() as connection:
        org_config = await load_org_config(connection, await org_id_by_code(connection, code))
    assert org_config is not None
    return org_config


def run(work: Callable[[Database], Awaitable[Result]]) -> Result:
    url = get_settings().database_url
    missing = missing_sqlite_file(url)
    if missing is not None:  # SQLite would create an empty file and every command would then fail on it
        errors.print(
            f"[red]error[/red] no database at {missing}: run `pointledger db upgrade` first "
            "(or set POINTLEDGER_DATABASE_URL)"
        )
        raise typer.Exit(2)

    async def main() -> Result:
        database = Database(url, pool_size=2)
        try:
            return await work(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except DomainError as error:
        errors.print(f"[red]error[/red] {error.code}: {error.message}" + (f" ({error.field})" if error.field else ""))
        raise typer.Exit(2) from error
