"""What converting a bill's input costs, with the input plans (app/graphql/core/input_conversion.py)
and without them (Strawberry's generic `convert_argument`), interleaved in rounds in one process.

    .venv/bin/python scripts/bench_tools/input_conversion.py [--database /path/bench.db]

1. Conversion alone: the addTransaction argument (3 and 100 line items) and an addTransactions
   batch of 100 bills, as graphql-core coerced them, through Strawberry's `convert_arguments`:
   CPU microseconds per conversion.
2. With --database (seeded as scripts/bench seeds it; see inprocess.py): whole requests through
   the ASGI app in-process (addTransaction with 3 and 100 line items, addTransactions with 10
   bills of 3): CPU milliseconds per request.

The plans are switched off by giving the planned types their `from_input` of None back, and on by
giving them their plan again (request by request, alternating); the app itself always runs with
them. Each figure is min / median / max over the rounds; the share saved compares the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

from bench import add_body, bill_input, graphql_body  # noqa: E402
from documents import ADD_TRANSACTION  # noqa: E402
from seed import returning_mobile  # noqa: E402

ADD_TRANSACTIONS = ADD_TRANSACTION.replace(
    "mutation Add($input: TransactionAddInput!) {\n  addTransaction(input: $input) {",
    "mutation AddMany($input: [TransactionAddInput!]!) {\n  addTransactions(input: $input) {",
)
assert ADD_TRANSACTIONS != ADD_TRANSACTION


def long_bill(number: str, mobile: str, line_items: int) -> dict[str, Any]:
    """bill_input with `line_items` items of 10 each (amounts add up)."""
    bill = bill_input(number, mobile)
    bill["lineItems"] = [
        {"serial": serial, "itemCode": f"ITEM-{serial % 7}", "qty": "1", "rate": "10", "value": "10", "amount": "10"}
        for serial in range(1, line_items + 1)
    ]
    bill["amount"] = bill["grossAmount"] = str(10 * line_items)
    bill["discount"] = "0"
    return bill


class Plans:
    """Switches the schema's input plans off (Strawberry's generic conversion) and on again."""

    def __init__(self) -> None:
        from app.graphql.core.input_conversion import planned_definitions
        from app.graphql.core.schema import schema

        self.hooks = {definition: definition.from_input for definition in planned_definitions(schema)}
        if not self.hooks:
            raise SystemExit("no input type has a plan: is compile_input_conversions called in build_schema?")

    def switch(self, on: bool) -> None:
        for definition, hook in self.hooks.items():
            definition.from_input = hook if on else None


def rounds_table(title: str, unit: str, figures: dict[str, dict[bool, list[float]]]) -> None:
    print(f"\n{title}")
    print(f"{'load':<34} {'Strawberry (min/median/max)':>30} {'plans (min/median/max)':>30} {'saved':>7}")
    for load, by_mode in figures.items():
        cells = [
            "/".join(f"{value:.{3 if unit == 'ms' else 1}f}" for value in (min(v), statistics.median(v), max(v)))
            for v in (by_mode[False], by_mode[True])
        ]
        saved = 1 - statistics.median(by_mode[True]) / statistics.median(by_mode[False])
        print(f"{load:<34} {cells[0] + ' ' + unit:>30} {cells[1] + ' ' + unit:>30} {saved:>6.0%}")


# --- 1. Conversion alone --------------------------------------------------------------------


def coerced_arguments(document: str, field_name: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The field's arguments as graphql-core hands them to the resolver."""
    from graphql import OperationDefinitionNode, parse
    from graphql.execution.values import VariableValues, get_argument_values, get_variable_values

    from app.graphql.core.schema import schema

    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    graphql_schema = schema._schema
    coerced = get_variable_values(graphql_schema, operation.variable_definitions or (), variables)
    assert isinstance(coerced, VariableValues), coerced
    field_node = operation.selection_set.selections[0]
    assert graphql_schema.mutation_type is not None
    field = graphql_schema.mutation_type.fields[field_name]
    return get_argument_values(field, field_node, coerced)  # type: ignore[arg-type]


def converter(field_name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    from strawberry.types.arguments import convert_arguments

    from app.graphql.core.schema import schema

    mutation = schema.get_type_by_name("Mutation")
    field = next(field for field in mutation.fields if schema.config.name_converter.from_field(field) == field_name)
    registry, config = schema.schema_converter.scalar_registry, schema.config
    return lambda arguments: convert_arguments(arguments, field.arguments, registry, config)


def conversion_alone(plans: Plans, rounds: int) -> None:
    loads = {
        "addTransaction, 3 line items": ("addTransaction", ADD_TRANSACTION, {"input": bill_input("B-1", "9800000001")}),
        "addTransaction, 100 line items": (
            "addTransaction",
            ADD_TRANSACTION,
            {"input": long_bill("B-1", "9800000001", 100)},
        ),
        "addTransactions, 100 bills of 3": (
            "addTransactions",
            ADD_TRANSACTIONS,
            {"input": [bill_input(f"B-{index}", returning_mobile(index)) for index in range(100)]},
        ),
    }
    figures: dict[str, dict[bool, list[float]]] = {}
    for load, (field_name, document, variables) in loads.items():
        arguments = coerced_arguments(document, field_name, variables)
        convert = converter(field_name)
        plans.switch(False)
        generic = convert(arguments)
        plans.switch(True)
        if convert(arguments) != generic:
            raise SystemExit(f"{load}: the plans build another value than Strawberry")
        # About 20 ms of conversions per measurement.
        started = time.process_time()
        convert(arguments)
        repeat = max(1, int(0.02 / max(time.process_time() - started, 1e-6)))
        figures[load] = {False: [], True: []}
        for _ in range(rounds):
            for on in (False, True):
                plans.switch(on)
                started = time.process_time()
                for _ in range(repeat):
                    convert(arguments)
                figures[load][on].append(1e6 * (time.process_time() - started) / repeat)
    plans.switch(True)
    rounds_table(f"Converting the arguments alone ({rounds} rounds)", "us", figures)


# --- 2. Whole requests in-process -----------------------------------------------------------


async def whole_requests(plans: Plans, database: Path, rounds: int, count: int) -> None:
    import httpx

    import app.http.app

    key = json.loads((database.parent / ".pointledger-demo-key.json").read_text())
    auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
    application = app.http.app.create_app()
    numbers = iter(range(10**9))
    prefix = f"CONV-{os.getpid()}"

    def mobile(number: int) -> str:  # as inprocess.py: half new customers, half returning
        return f"9890{number:06d}" if number % 2 else returning_mobile((number * 7919) % 200)

    def add3() -> str:
        number = next(numbers)
        return add_body(f"{prefix}-{number}", mobile(number))

    def add100() -> str:
        number = next(numbers)
        return graphql_body(ADD_TRANSACTION, {"input": long_bill(f"{prefix}-{number}", mobile(number), 100)}, "Add")

    def batch10() -> str:
        bills = []
        for _ in range(10):
            number = next(numbers)
            bills.append(bill_input(f"{prefix}-{number}", mobile(number)))
        return graphql_body(ADD_TRANSACTIONS, {"input": bills}, "AddMany")

    loads: dict[str, Callable[[], str]] = {
        "addTransaction, 3 line items": add3,
        "addTransaction, 100 line items": add100,
        "addTransactions, 10 bills of 3": batch10,
    }
    figures: dict[str, dict[bool, list[float]]] = {load: {False: [], True: []} for load in loads}
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def one(body: str) -> None:
            response = await client.post(
                "/graphql", content=body, headers={"content-type": "application/json", "authorization": auth}
            )
            bills = 10 if '"AddMany"' in body else 1
            if response.status_code != 200 or response.content.count(b'"__typename":"TransactionAdded"') != bills:
                raise SystemExit(f"{response.status_code} {response.text[:300]}")

        for make in loads.values():  # warm-up
            for _ in range(5):
                await one(make())
        for _ in range(rounds):
            for load, make in loads.items():
                # Request by request, the two modes alternate (which goes first, too): the machine's
                # other load falls on both alike.
                spent = {False: 0.0, True: 0.0}
                for index in range(count):
                    for on in (False, True) if index % 2 else (True, False):
                        plans.switch(on)
                        body = make()
                        started = time.process_time()
                        await one(body)
                        spent[on] += time.process_time() - started
                for on, seconds in spent.items():
                    figures[load][on].append(1000 * seconds / count)
    plans.switch(True)
    await application.state.services.database.dispose()
    rounds_table(f"Whole requests in-process ({rounds} rounds of {count} requests)", "ms", figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, help="a seeded SQLite file (its directory holds the demo key)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=20, help="requests per round and load (default 20)")
    args = parser.parse_args()
    if args.database:
        os.environ["POINTLEDGER_DATABASE_URL"] = f"sqlite+aiosqlite:///{args.database.resolve()}"
    plans = Plans()
    conversion_alone(plans, args.rounds)
    if args.database:
        asyncio.run(whole_requests(plans, args.database, args.rounds, args.count))


if __name__ == "__main__":
    main()
