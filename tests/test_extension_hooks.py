"""The planned extension runner runs exactly the hooks Strawberry's own runner runs, in the same
order, with the same results, for each kind of hook (sync and async generators, plain callables),
when a hook or the operation fails too (app/graphql/core/extension_hooks.py)."""

from __future__ import annotations

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from app.graphql.core.extension_hooks import PlannedExtensionsRunner

events: list[str] = []


class Generators(SchemaExtension):
    def on_operation(self):
        events.append("operation start")
        yield
        events.append("operation end")

    def on_parse(self):
        events.append("parse start")
        yield
        events.append("parse end")


class AsyncGenerators(SchemaExtension):
    async def on_validate(self):
        events.append("validate start")
        yield
        events.append("validate end")

    async def on_execute(self):
        events.append("execute start")
        try:
            yield
        finally:
            events.append("execute end")


class Callables(SchemaExtension):
    def on_operation(self):
        events.append("plain operation")

    async def on_execute(self):
        events.append("plain execute")


class RefusesAtExecution(SchemaExtension):
    def on_execute(self):
        raise ValueError("refused by an extension")
        yield  # a generator hook


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> int:
        events.append("resolve")
        return 1

    @strawberry.field
    def broken(self) -> int:
        raise RuntimeError("resolver failed")


class PlannedSchema(strawberry.Schema):
    def create_extensions_runner(self, execution_context, extensions):
        return PlannedExtensionsRunner(execution_context=execution_context, extensions=extensions)


async def _run(schema_class, extensions, query):
    events.clear()
    result = await schema_class(query=Query, extensions=extensions).execute(query)
    return list(events), result.data, [error.message for error in result.errors or []]


@pytest.mark.parametrize(
    ("extensions", "query"),
    [
        ([Generators, AsyncGenerators, Callables], "{ ok }"),
        ([Generators, AsyncGenerators, Callables], "{ ok broken }"),
        ([Callables, Generators], "{ ok "),  # a syntax error: parsing fails, validation never runs
        ([Generators, RefusesAtExecution, AsyncGenerators], "{ ok }"),
        ([], "{ ok }"),
    ],
)
async def test_the_planned_runner_runs_what_strawberrys_runner_runs(extensions, query):
    planned = await _run(PlannedSchema, extensions, query)
    strawberrys = await _run(strawberry.Schema, extensions, query)

    assert planned == strawberrys
    assert planned[0]  # something ran: the comparison is not between two empty lists
