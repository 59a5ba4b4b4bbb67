"""`pointledger reconcile`, `expire`, `convert-promised` and `expire-tiers`: the ledger's checks
and runs, for cron or an operator (the server's maintenance task runs the last three itself)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

import typer

from app.cli.common import command_now, console, errors, run
from app.conversions.service import convert_promised_points
from app.customers.tiers import expire_tiers
from app.kernel.times import start_of_local_day
from app.ledger.expiry import RunReport, expire_points, notify_expiring_points, org_clocks
from app.ledger.service import reconcile as reconcile_ledger
from app.organizations import service as organizations
from app.storage.database import Database

ledger_cli = typer.Typer()  # its commands sit at the top level
Report = TypeVar("Report")
ReportCovariant = TypeVar("ReportCovariant", covariant=True)


@ledger_cli.command()
def reconcile(org: str | None = typer.Option(None, help="Only this organisation's accounts.")) -> None:
    """Recompute every balance from the ledger and list accounts where they differ."""

    async def work(database: Database) -> list[Any]:
        async with database.read() as connection:
            org_id = await organizations.org_id_by_code(connection, org) if org else None
            return await reconcile_ledger(connection, org_id=org_id)

    found = run(work)
    for item in found:
        errors.print(
            f"account {item.account_id} ({item.category}, customer {item.customer_id}): {item.counter} "
            f"stored {item.stored} but the entries give {item.from_entries}"
        )
    console.print(f"{len(found)} discrepancies")
    if found:
        raise typer.Exit(1)


AS_OF_HELP = (
    "A date (YYYY-MM-DD: as that day begins in each organisation's time zone) or a time with an offset "
    "(2026-02-01T06:00:00+05:30); now when omitted. Never later than now."
)


def _parse_as_of(value: str | None) -> date | datetime | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(
            "must be a date (YYYY-MM-DD) or a time with an offset", param_hint="--as-of"
        ) from error
    if moment.tzinfo is None:
        raise typer.BadParameter("a time needs an offset (e.g. +05:30 or Z)", param_hint="--as-of")
    return moment.astimezone(UTC)


def _for_each_org(
    now: datetime,
    as_of: str | None,
    org: str | None,
    operation: OrgRun[Report],
    describe: Callable[[Report], str],
) -> None:
    """Run `operation` for each organisation (or the one named) as of its own reading of --as-of,
    printing what `describe` says of each organisation's report."""
    given = _parse_as_of(as_of)
    clocks = run(lambda database: org_clocks(database, org))
    moments = {}
    for clock in clocks:
        if given is None:
            moments[clock.id] = now
        elif isinstance(given, datetime):
            moments[clock.id] = given
        else:
            moments[clock.id] = start_of_local_day(given, clock.time_zone)
        if moments[clock.id] > now:
            raise typer.BadParameter(
                f"{moments[clock.id].isoformat()} is later than now: points are never expired or "
                "converted ahead of their time",
                param_hint="--as-of",
            )

    async def work(database: Database) -> list[Report]:
        return [await operation(database, moments[clock.id], clock.id, now=now) for clock in clocks]

    for clock, report in zip(clocks, run(work), strict=True):
        console.print(
            f"{clock.code}: {describe(report)} (as of {moments[clock.id].astimezone(clock.time_zone).isoformat()})",
            highlight=False,
        )


def _points_moved(done: str) -> Callable[[RunReport], str]:
    def describe(report: RunReport) -> str:
        points = format(report.points.normalize(), "f") if report.points else "0"
        return f"{done} {points} points from {report.lots} lots in {report.accounts} accounts"

    return describe


class OrgRun(Protocol[ReportCovariant]):
    """A maintenance run over one organisation's accounts as of a moment (expiry, conversion, tiers)."""

    def __call__(
        self, database: Database, as_of: datetime, org_id: int | None = None, *, now: datetime
    ) -> Awaitable[ReportCovariant]: ...


def _org_run_command(operation: OrgRun[Report], describe: Callable[[Report], str], summary: str) -> Any:
    """A command running `operation` for each organisation (or the one named) as of --as-of."""

    def command(
        context: typer.Context,
        as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
        org: str | None = typer.Option(None, help="Only this organisation."),
    ) -> None:
        _for_each_org(command_now(context), as_of, org, operation, describe)

    command.__doc__ = summary
    return command


ledger_cli.command("expire")(
    _org_run_command(
        expire_points,
        _points_moved("expired"),
        "Expire every lot past its expiry date: one Points Expiry debit per account, exactly once.",
    )
)
ledger_cli.command("convert-promised")(
    _org_run_command(
        convert_promised_points,
        _points_moved("converted"),
        "Convert PROMISED points whose start date has come into REGULAR points, exactly once.",
    )
)
ledger_cli.command("notify-expiring")(
    _org_run_command(
        notify_expiring_points,
        lambda count: f"emitted {count} points.expiring notices",
        "Emit points.expiring for lots expiring within the organisation's notice window, once per lot.",
    )
)
ledger_cli.command("expire-tiers")(
    _org_run_command(
        expire_tiers,
        lambda count: f"expired the tiers of {count} customers",
        "Move customers whose tier validity ended back to the base tier, with their slab history, exactly once.",
    )
)
