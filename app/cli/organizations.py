"""`pointledger org ...`: organisations, from their declarative files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from pydantic import ValidationError as SpecError

from app.cli.common import command_now, console, errors, run
from app.organizations import service as organizations
from app.organizations.spec import load_spec_file

org_cli = typer.Typer(help="Organisations, from their declarative files.", no_args_is_help=True)


def apply_file(path: Path, now: datetime) -> organizations.ApplyReport:
    try:
        spec = load_spec_file(path)
    except SpecError as error:
        for problem in error.errors():
            location = ".".join(str(part) for part in problem["loc"])
            errors.print(f"[red]invalid[/red] {path}: {location}: {problem['msg']}")
        raise typer.Exit(2) from error
    return run(
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
