"""The shape of recording a batch of reports: each item is checked on its own (a bad one is that
item's error and the others go on), the checked ones are written in one write transaction, and
the results come back in the batch's order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.errors import DomainError
from app.storage.database import Database


class Checked(Protocol):
    @property
    def path(self) -> str: ...


InputT = TypeVar("InputT")
CheckedT = TypeVar("CheckedT", bound=Checked)
ResultT = TypeVar("ResultT")


async def record_batch(
    database: Database,
    batch: Sequence[InputT],
    check: Callable[[InputT, str], CheckedT],
    record: Callable[[AsyncConnection, list[CheckedT]], Awaitable[Mapping[str, ResultT | DomainError]]],
) -> list[ResultT | DomainError]:
    """Each item checked as `input[index]`, those that pass recorded by `record` (each result by
    the item's path) on one write transaction; no transaction when none passes."""
    checked: list[CheckedT] = []
    failed: dict[int, DomainError] = {}
    for index, data in enumerate(batch):
        try:
            checked.append(check(data, f"input[{index}]"))
        except DomainError as error:
            failed[index] = error
    written: Mapping[str, ResultT | DomainError] = {}
    if checked:

        async def perform(connection: AsyncConnection) -> Mapping[str, ResultT | DomainError]:
            return await record(connection, checked)

        written = await database.run_write(perform)
    return [failed[index] if index in failed else written[f"input[{index}]"] for index in range(len(batch))]
