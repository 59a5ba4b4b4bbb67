"""`pointledger apikey ...`: an organisation's API keys (HTTP Basic credentials)."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from app.cli.common import command_now, console, run
from app.organizations import service as organizations
from app.organizations.roles import Role, parse_roles, stored_roles
from app.storage.database import Database

key_cli = typer.Typer(help="An organisation's API keys (HTTP Basic credentials).", no_args_is_help=True)


@key_cli.command("create")
def key_create(
    context: typer.Context,
    org: str = typer.Argument(..., help="The organisation code."),
    name: str = typer.Option("", help="A label."),
    role: list[str] = typer.Option(
        [],
        "--role",
        help="A role the key holds (repeat for several): till, app, member_care, admin. At least one.",
    ),
) -> None:
    """Create an API key holding the roles named. The secret is shown once and never stored."""
    now = command_now(context)

    async def work(database: Database) -> tuple[organizations.CreatedApiKey, frozenset[Role]]:
        roles = parse_roles(role, field="--role")  # refused (exit 2, one line) before anything is written

        async def create(connection: Any) -> organizations.CreatedApiKey:
            org_id = await organizations.org_id_by_code(connection, org)
            return await organizations.create_api_key(connection, org_id, name, now=now, roles=roles)

        return await database.run_write(create), roles

    key, roles = run(work)
    console.print(
        f"key id: {key.key_id}\nsecret: {key.secret}\nkey created with roles {stored_roles(roles)}"
        " (the secret is shown only now)"
    )


@key_cli.command("list")
def key_list(org: str = typer.Argument(..., help="The organisation code.")) -> None:
    """List an organisation's API keys (never their secrets)."""

    async def work(database: Database) -> list[Any]:
        async with database.read() as connection:
            return await organizations.list_api_keys(connection, await organizations.org_id_by_code(connection, org))

    table = Table("key id", "name", "roles", "created", "revoked")
    for row in run(work):
        table.add_row(
            row.key_id,
            row.name,
            row.roles,
            row.created_at.isoformat(),
            row.revoked_at.isoformat() if row.revoked_at else "",
        )
    console.print(table)


@key_cli.command("revoke")
def key_revoke(context: typer.Context, key_id: str = typer.Argument(...)) -> None:
    """Revoke an API key; servers stop accepting it within their cache time (5 s by default)."""
    now = command_now(context)
    run(
        lambda database: database.run_write(
            lambda connection: organizations.revoke_api_key(connection, key_id, now=now)
        )
    )
    console.print(f"revoked {key_id}")
