"""Compiled execution (app/graphql/core/compiled.py) answers byte for byte as graphql-core does.

`compared_execute_operation` replaces the executor's execute_operation for a test (conftest's
autouse fixture): a query that runs compiled is then run a second time, in the same request
(same read snapshot, context, variables and loaders), through graphql-core's own
execute_operation, and the two answers' JSON bytes are compared; a difference is recorded and
fails the test. The compiled answer is the one the client gets, so the statement counts, batches
and results tests assert are the compiled path's.

The second run must leave no trace: its SQL statements are not counted (`REFERENCE_RUN`, read by
conftest's statement counter), the typed error codes it notes are dropped, and its root fields
count against no rate limit. A request a rate limit refused in part is not compared (the second
run would not be refused the same way). Mutations run once: test_compiled_execution.py runs them
through each path on fresh identical states.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import OperationType, print_ast
from graphql.pyutils import is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.graphql.core.compiled import execute_compiled, program_for
from app.graphql.core.context import Context
from app.graphql.core.rate_limits import RequestRateLimits
from app.graphql.core.schema import RequestExecutionContext

REFERENCE_RUN: ContextVar[bool] = ContextVar("reference_run", default=False)


@dataclass
class Mismatch:
    document: str
    variables: dict[str, Any]
    compiled: bytes
    graphql_core: bytes

    def __str__(self) -> str:
        return (
            f"compiled execution differs from graphql-core's for\n{self.document}\nvariables {self.variables}\n"
            f"compiled:     {self.compiled.decode()}\ngraphql-core: {self.graphql_core.decode()}"
        )


def response_bytes(result: Any) -> bytes:
    """The answer as the HTTP view encodes it (data, then the errors as formatted)."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    return orjson.dumps(body)


def graphql_core_execute_operation(executor: RequestExecutionContext) -> Any:
    """graphql-core's execute_operation, on a copy of the executor with its own collected errors."""
    return StrawberryGraphQLCoreExecutionContext.execute_operation(executor.create_sub_executor())


def compared_execute_operation(mismatches: list[Mismatch]) -> Any:
    original = RequestExecutionContext.execute_operation  # taken before the fixture replaces it

    def execute_operation(self: RequestExecutionContext, serially: bool | None = None) -> Any:
        root = program_for(self) if serially is None else None
        if root is None or self.operation.operation is not OperationType.QUERY:
            return original(self, serially)
        compiled = execute_compiled(self, root)

        async def compared() -> Any:
            result = await compiled if is_awaitable(compiled) else compiled
            reference = await _reference_run(self)
            if reference is not None and response_bytes(result) != response_bytes(reference):
                mismatches.append(
                    Mismatch(
                        print_ast(self.operation),
                        dict(self.variable_values.coerced),
                        response_bytes(result),
                        response_bytes(reference),
                    )
                )
            return result

        return compared()

    return execute_operation


async def _reference_run(executor: RequestExecutionContext) -> Any:
    context = executor.context_value
    if not isinstance(context, Context) or context.rate_limits.refused:
        return None
    rate_limits, codes_noted = context.rate_limits, len(context.error_codes)
    context.rate_limits = RequestRateLimits(None, context.org, context.roles)
    marked = REFERENCE_RUN.set(True)
    try:
        result = graphql_core_execute_operation(executor)
        return await result if is_awaitable(result) else result
    finally:
        REFERENCE_RUN.reset(marked)
        context.rate_limits = rate_limits
        del context.error_codes[codes_noted:]
