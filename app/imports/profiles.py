"""What an import profile is: the one interface the import framework (app.imports.service) runs.

A profile knows one file format and what its rows do. The framework reads the file, checks the
header against `columns`, hands each record to `parse` (pure: text in, a typed value or a
RowError out), gathers parsed rows into batches, and for each batch calls either `check` (dry
runs and REJECT_FILE's first pass: reads only) or `apply` (inside the batch's one write
transaction, which also advances the job's checkpoint, so a batch is imported exactly once).
Rows `check`/`apply` refuse come back as RowErrors; the framework stores them as rejects.

To add a profile: subclass `Profile` with its columns, a `configure` that validates the
template configuration into a typed value, and `start` returning a `ProfileRun` for one job;
register it in `app.imports.registry.PROFILES`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from app.imports.errors import ImportFileError
from app.imports.models import ImportProfile
from app.organizations.config import OrgConfig

Value = TypeVar("Value")

NAME_QUOTED_CHARS_MAX = 100  # a header name can be up to a MiB: a message quotes only its start


def quoted(name: str) -> str:
    if len(name) <= NAME_QUOTED_CHARS_MAX:
        return repr(name)
    return f"{name[:NAME_QUOTED_CHARS_MAX]!r}... ({len(name):,} characters)"


Config = TypeVar("Config")


@dataclass(frozen=True, slots=True)
class RowError:
    code: str
    message: str
    column: str | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    """A value the import changed on its own and reports (a country code added to a mobile,
    an unknown store replaced by the configured one): the row was imported with the new value."""

    code: str
    message: str
    column: str | None = None


class ParsedRow(NamedTuple, Generic[Value]):
    """A row as read and parsed (a tuple: an import makes one per row, a frozen dataclass cost more)."""

    row_number: int
    fields: list[str]  # as in the file, for the rejects download
    value: Value


@dataclass
class BatchResult:
    """What a batch did (`apply`) or would do (`check`)."""

    imported: int = 0
    rejects: list[tuple[ParsedRow[Any], RowError]] = field(default_factory=list)
    customers_created: int = 0
    points: Decimal = Decimal(0)
    points_expired: Decimal = Decimal(0)  # of `points`: past their expiry already, expired on import
    corrections: list[tuple[ParsedRow[Any], Correction]] = field(default_factory=list)  # of rows imported

    def extend(self, other: BatchResult) -> None:
        """Add what another part of the same batch did."""
        self.imported += other.imported
        self.rejects += other.rejects
        self.customers_created += other.customers_created
        self.points += other.points
        self.points_expired += other.points_expired
        self.corrections += other.corrections


@dataclass(frozen=True)
class Columns:
    """The header a profile accepts (names in lower case): all of `required`, exactly one of
    each group in `one_of`, any of `optional`; nothing else."""

    required: tuple[str, ...]
    one_of: tuple[tuple[str, ...], ...] = ()
    optional: tuple[str, ...] = ()

    def check(self, header: Sequence[str]) -> None:
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise ImportFileError("DUPLICATE_COLUMN", f"column {quoted(name)} appears twice in the header")
            seen.add(name)
        known = {*self.required, *self.optional, *(name for group in self.one_of for name in group)}
        unknown = [name for name in header if name not in known]
        if unknown:
            raise ImportFileError(
                "UNKNOWN_COLUMN", f"unknown column {quoted(unknown[0])}; the columns are: {', '.join(sorted(known))}"
            )
        missing = [name for name in self.required if name not in seen]
        if missing:
            raise ImportFileError("MISSING_COLUMN", f"the header lacks the column {missing[0]!r}")
        for group in self.one_of:
            present = [name for name in group if name in seen]
            if not present:
                raise ImportFileError("MISSING_COLUMN", f"the header needs one of the columns {' or '.join(group)}")
            if len(present) > 1:
                raise ImportFileError("CONFLICTING_COLUMNS", f"the header has both {' and '.join(present)}: use one")


class ProfileRun(Generic[Value]):
    """One job's use of a profile: the org and configuration bound, state kept across batches."""

    # The job's template identity (or "adhoc:" + configuration hash), set by the framework
    # before the first batch: what a profile keeps stable while a template is unchanged.
    template_identity: str = ""

    def parse(self, row: Mapping[str, str]) -> Value | RowError:
        """A row by column name (every header column present) into a typed value. Pure: no I/O."""
        raise NotImplementedError

    async def check(self, connection: AsyncConnection, rows: Sequence[ParsedRow[Value]], now: datetime) -> BatchResult:
        """What `apply` would do with these rows, reading only (dry runs, REJECT_FILE's first pass).
        Called with the batches in file order; may remember what earlier batches would create."""
        raise NotImplementedError

    async def apply(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[Value]], now: datetime, job_id: int
    ) -> BatchResult:
        """Write these rows in the caller's write transaction (no commit here): set-based, one
        statement per table where it can, locks in the house order (customers, then accounts,
        in id order)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the run kept across batches (the framework calls it when the job's run ends)."""


class Profile(Generic[Config]):
    name: ImportProfile
    columns: Columns

    def configure(self, raw: Mapping[str, Any]) -> Config:
        """The template configuration validated (typed errors naming the field); pure."""
        raise NotImplementedError

    def configuration_document(self, config: Config) -> dict[str, Any]:
        """The configuration as stored (JSON): `configure` of it gives `config` back."""
        raise NotImplementedError

    async def start(self, connection: AsyncConnection, org: OrgConfig, config: Config) -> ProfileRun[Any]:
        """Bind a job: resolve what the configuration names (e.g. the program), or raise a typed error."""
        raise NotImplementedError
