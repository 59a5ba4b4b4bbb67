"""A query still running after the request time limit is cancelled: its read connection goes back
to the pool and the client gets REQUEST_TIMEOUT. Mutations are not cut: a write stopped halfway
would leave the client unsure whether it happened; their inputs and the cost limit bound them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

REQUEST_TIMEOUT = "REQUEST_TIMEOUT"


class QueryTimeLimit(SchemaExtension):
    """Arms the request's deadline (`context.deadline`, an `asyncio.Timeout` the HTTP layer holds
    around the operation) once the operation is known to be a query."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        deadline: asyncio.Timeout | None = getattr(context, "deadline", None)
        if deadline is not None and self.execution_context.operation_type is OperationType.QUERY:
            limit = context.settings.request_time_limit_seconds
            deadline.reschedule(asyncio.get_running_loop().time() + limit)
        yield


def timeout_error(limit_seconds: float) -> GraphQLError:
    return GraphQLError(
        f"The query ran longer than {limit_seconds:g} s and was stopped: ask for less (smaller pages, fewer fields).",
        extensions={"code": REQUEST_TIMEOUT},
    )
