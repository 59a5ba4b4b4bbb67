"""A batch mutation's results: one per item, in the batch's order, or one error alone when the
batch as a whole is refused. The request's error codes count every item's error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from app.graphql.core.context import Info
from app.graphql.core.errors import to_graphql_error
from app.kernel.errors import DomainError

ResultT = TypeVar("ResultT")


async def batch_results(
    info: Info, recording: Awaitable[Sequence[ResultT | DomainError]], payload: Callable[[ResultT], Any]
) -> list[Any]:
    """Each recorded item as `payload` maps it, each failed one as its error type."""
    try:
        results = await recording
    except DomainError as error:  # the batch as a whole is refused: one result says why
        info.context.error_codes.append(error.code)
        return [to_graphql_error(error)]
    info.context.error_codes.extend(result.code for result in results if isinstance(result, DomainError))
    return [to_graphql_error(result) if isinstance(result, DomainError) else payload(result) for result in results]
