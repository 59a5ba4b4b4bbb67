"""Compiled execution (app/graphql/core/compiled.py) answers byte for byte what graphql-core does.

Over the API: documents with unions, interfaces, aliases, named and inline fragments, @include and
@skip from variables and `__typename` at every level are sent twice, compiled and through
graphql-core (the module's switch off), and the bodies compared; a mutation runs once through each
path, each on a fresh identical database. On a small schema of its own (what the product's does
not have: resolvers that raise, non-null fields that fail, lists of lists, a batching loader):
the same documents through the compiled executor and graphql-core's, results compared as bytes.

The autouse comparison of conftest is off here: these tests compare by sending each document
through each path themselves, and check that the compiled path did run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
import pytest
import strawberry
from sqlalchemy import text
from strawberry.dataloader import DataLoader

import app.graphql.core.schema as schema_module
from app.catalog.repository import cached_product_ids
from app.graphql.core import compiled
from app.graphql.core.row_objects import RowForm, RowObjects, build_from_row
from app.graphql.core.schema import RequestExecutionContext
from app.graphql.ledger.types import LEDGER_ENTRY_FORM, EntryContext, LedgerEntry
from app.kernel.enums import IdentifierType
from app.ledger.views import LedgerEntryView
from app.organizations.config import OrgConfig
from app.storage.database import Database
from app.storage.tables import registered_tables
from tests.client import Api, add
from tests.compiled_checks import Mismatch, response_bytes
from tests.conftest import POSTGRES_URL, make_org
from tests.documents import ADD_TRANSACTION
from tests.factories import bill, org_spec


@pytest.fixture(autouse=True)
def queries_compared_with_graphql_core() -> list[Mismatch]:
    """Off in this module: each test sends its documents through both paths itself."""
    return []


@pytest.fixture
def compiled_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operations that ran compiled, by name."""
    runs: list[str] = []

    def recorded(executor: Any, root: Any) -> Any:
        runs.append(executor.operation.name.value if executor.operation.name else "")
        return compiled.execute_compiled(executor, root)

    monkeypatch.setattr(schema_module, "execute_compiled", recorded)
    return runs


async def body_of(api: Api, document: str, variables: dict[str, Any]) -> bytes:
    response = await api.client.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={"Authorization": api.credentials.header},
    )
    assert response.status_code == 200, response.text
    return response.content


async def both_paths(
    api: Api, monkeypatch: pytest.MonkeyPatch, document: str, variables: dict[str, Any]
) -> tuple[bytes, bytes]:
    """The body compiled, then through graphql-core, on the same state."""
    compiled_body = await body_of(api, document, variables)
    monkeypatch.setattr(compiled, "ENABLED", False)
    graphql_core_body = await body_of(api, document, variables)
    monkeypatch.setattr(compiled, "ENABLED", True)
    return compiled_body, graphql_core_body


LEDGER_SHAPES = """
query Shapes($customer: CustomerLookupInput!, $withPages: Boolean!, $withoutCodes: Boolean!) {
  __typename
  first: ledgerEntries(customer: $customer, first: 2) {
    __typename
    ...Page @include(if: $withPages)
    ... on Error { __typename code message field }
  }
  again: ledgerEntries(customer: $customer, first: 1) {
    ... on LedgerEntryPage {
      customerId
      rows: entries { kind: entryKind points ...Codes @skip(if: $withoutCodes) __typename }
    }
  }
  missing: ledgerEntries(customer: {type: MOBILE, value: "9999999999"}) {
    __typename
    ... on NotFoundError { code }
    ...Failure
  }
}

fragment Page on LedgerEntryPage {
  customerId
  entries { id eventType balanceAfter createdAt ... on LedgerEntry { __typename id } }
  pageInfo { hasNextPage endCursor __typename }
}

fragment Codes on LedgerEntry { programCode storeCode tillCode transactionId }

fragment Failure on Error { message field }
"""


async def test_a_document_of_unions_interfaces_aliases_fragments_and_conditions_answers_as_graphql_core(
    api: Api, monkeypatch: pytest.MonkeyPatch, compiled_runs: list[str]
) -> None:
    # Given a customer with a purchase (an opening balance and an award in the ledger)
    await add(api, bill(customer={"mobile": "9876500001"}))
    customer = {"type": "MOBILE", "value": "9876500001"}

    for with_pages, without_codes in [(True, False), (False, True)]:
        # When the document is answered compiled and by graphql-core, pages included or not
        variables = {"customer": customer, "withPages": with_pages, "withoutCodes": without_codes}
        compiled_body, graphql_core_body = await both_paths(api, monkeypatch, LEDGER_SHAPES, variables)

        # Then the bytes are the same
        assert compiled_body == graphql_core_body

    # And both variants ran compiled, each variant answering what its conditions select
    assert compiled_runs == ["Add", "Shapes", "Shapes"]
    answer = orjson.loads(compiled_body)["data"]
    assert answer["first"] == {"__typename": "LedgerEntryPage"}
    assert answer["again"]["rows"] == [{"kind": "POINTS_ALLOCATION", "points": "18", "__typename": "LedgerEntry"}]
    assert answer["missing"] == {
        "__typename": "NotFoundError",
        "code": "CUSTOMER_NOT_FOUND",
        "message": answer["missing"]["message"],
        "field": "customer",
    }


LEDGER_LEAVES = """
query Leaves($customer: CustomerLookupInput!) {
  ledgerEntries(customer: $customer) {
    ... on LedgerEntryPage {
      entries {
        id eventLogId eventType entryKind entryType programCode pointsCategory points pointsOnEvent balanceAfter
        eventSource storeCode tillCode transactionId transactionNumber createdAt __typename reason importJobId
        trackerValueId alternateCurrency
      }
    }
  }
}
"""


async def test_a_ledger_page_of_leaf_fields_reads_its_entries_from_the_rows(
    api: Api, monkeypatch: pytest.MonkeyPatch, compiled_runs: list[str]
) -> None:
    # Given a customer with a purchase, and entries counted as they are built
    await add(api, bill(customer={"mobile": "9876500002"}))
    customer = {"type": "MOBILE", "value": "9876500002"}
    built: list[int] = []
    build = LedgerEntry.from_row.__func__  # type: ignore[attr-defined]

    def counted(cls: type[LedgerEntry], view: Any, context: Any) -> LedgerEntry:
        built.append(view.id)
        return build(cls, view, context)

    monkeypatch.setattr(LedgerEntry, "from_row", classmethod(counted))

    # When a page of leaf fields is answered compiled
    compiled_body = await body_of(api, LEDGER_LEAVES, {"customer": customer})

    # Then no entry was built, and graphql-core, building each, answers the same bytes
    assert built == []
    monkeypatch.setattr(compiled, "ENABLED", False)
    graphql_core_body = await body_of(api, LEDGER_LEAVES, {"customer": customer})
    assert compiled_body == graphql_core_body
    entries = orjson.loads(compiled_body)["data"]["ledgerEntries"]["entries"]
    assert [int(entry["id"]) for entry in entries] == built
    assert [entry["entryKind"] for entry in entries] == ["POINTS_ALLOCATION"] + ["OPENING_BALANCE"] * 6

    # And a selection the rows cannot serve (an object field) builds every entry, compiled too
    monkeypatch.setattr(compiled, "ENABLED", True)
    built.clear()
    document = LEDGER_LEAVES.replace("alternateCurrency", "alternateCurrency customerPromotion { name }")
    compiled_body, graphql_core_body = await both_paths(api, monkeypatch, document, {"customer": customer})
    assert compiled_body == graphql_core_body
    assert built == [int(entry["id"]) for entry in entries] * 2  # compiled, then graphql-core
    assert compiled_runs == ["Add", "Leaves", "Leaves"]


def test_an_entrys_readers_never_raise_on_codes_the_organisation_does_not_have() -> None:
    # Given an entry whose program, store, till, kinds and category no organisation names
    view = LedgerEntryView(
        id=7, event_id=8, event_type="NO_SUCH_EVENT", entry_type="SIDEWAYS", entry_kind="NONE", created_at=None,
        program_id=999_999, category="NO_SUCH_CATEGORY", points=None, balance_after=None, points_on_event=None,
        source=None, store_id=999_999, till_id=999_999, transaction_id=None, transaction_number=None,
    )  # fmt: skip
    org = OrgConfig(
        id=1, code="empty", name="Empty", time_zone=ZoneInfo("UTC"), base_country="IN", bill_number_unique_in_days=1,
        primary_identifier=IdentifierType.MOBILE, skip_secondary_id_on_primary_mismatch=False,
        updated_at=datetime(2026, 12, 8, tzinfo=UTC), programs=(), stores=(), tills=(),
    )  # fmt: skip
    context = EntryContext(org, {})

    # When every attribute is read, then none raises: what it cannot name reads as None
    values = {name: read(view, context) for name, read in LEDGER_ENTRY_FORM.items()}
    assert values["id"] == "7"
    assert [values[name] for name in ("event_type", "entry_kind", "entry_type", "program_code")] == [None] * 4
    assert [values[name] for name in ("points_category", "alternate_currency", "store_code", "till_code")] == [None] * 4


async def test_a_refused_document_and_variables_answer_as_graphql_core(
    api: Api, monkeypatch: pytest.MonkeyPatch, compiled_runs: list[str]
) -> None:
    # Given a variable of the wrong type (coercion fails before execution)
    document = """
        query Wrong($first: Int!) {
          ledgerEntries(customer: {type: MOBILE, value: "1"}, first: $first) { __typename }
        }
    """

    # When it is sent through each path
    compiled_body, graphql_core_body = await both_paths(api, monkeypatch, document, {"first": "ten"})

    # Then the errors are the same, and nothing executed
    assert compiled_body == graphql_core_body
    assert orjson.loads(compiled_body)["data"] is None
    assert compiled_runs == []


async def test_introspection_runs_through_graphql_core(
    api: Api, monkeypatch: pytest.MonkeyPatch, compiled_runs: list[str]
) -> None:
    # When a document asks for the schema's types
    compiled_body, graphql_core_body = await both_paths(
        api, monkeypatch, "query Types { __schema { queryType { name } } __typename }", {}
    )

    # Then graphql-core answered it, both times
    assert (
        compiled_body
        == graphql_core_body
        == b'{"data":{"__schema":{"queryType":{"name":"Query"}},"__typename":"Query"}}'
    )
    assert compiled_runs == []


async def emptied(database: Database) -> None:
    """Every table empty and every id sequence back at its start, and the process's product ids
    of this database forgotten (they are cached as rows never deleted)."""
    tables = [table.name for table in registered_tables().sorted_tables]
    async with database.write_engine.begin() as connection:
        cached_product_ids(connection).clear()
        if POSTGRES_URL:
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            return
        for table in reversed(tables):
            await connection.execute(text(f"DELETE FROM {table}"))
        if (await connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"))).first():
            await connection.execute(text("DELETE FROM sqlite_sequence"))


async def test_a_mutation_answers_as_graphql_core_on_a_fresh_identical_state(
    api: Api, database: Database, monkeypatch: pytest.MonkeyPatch, compiled_runs: list[str]
) -> None:
    bodies = []
    for enabled in (True, False):
        # Given a fresh organisation on an empty database, the same each time
        await emptied(database)
        api.credentials = await make_org(database, org_spec("acme"))
        monkeypatch.setattr(compiled, "ENABLED", enabled)

        # When a new customer's bill is added
        variables = {"input": bill(number="BILL-COMPILED-1", customer={"mobile": "9876500002"})}
        bodies.append(await body_of(api, ADD_TRANSACTION, variables))

    # Then the compiled answer and graphql-core's are the same bytes
    assert bodies[0] == bodies[1]
    assert compiled_runs == ["Add"]
    assert orjson.loads(bodies[0])["data"]["addTransaction"]["__typename"] == "TransactionAdded"


# A schema of its own, for what the product's schema does not do.


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Person(Named):
    age: int


@strawberry.type
class Place(Named):
    code: str


Found = Annotated[Person | Place, strawberry.union("Found")]


@strawberry.type
class Item:
    name: str
    grid: list[list[int | None]]

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError(f"{self.name} is broken")

    @strawberry.field
    def required(self) -> str:
        if self.name == "b":
            raise ValueError("b has nothing")
        return self.name.upper()

    @strawberry.field
    async def later(self, info: strawberry.Info) -> str:
        return str(await info.context["loader"].load(self.name))

    @strawberry.field
    def maybe_none(self) -> str:
        return None  # type: ignore[return-value]  # a non-null field answering null


ITEMS = [Item(name="a", grid=[[1, 2], [None]]), Item(name="b", grid=[]), Item(name="c", grid=[[3]])]


@strawberry.enum
class Unit(Enum):
    GRAM = "g"
    METRE = "m"


@strawberry.type
class Reading:
    label: str
    amount: int
    unit: Unit | None
    note: str | None

    @strawberry.field
    def shout(self) -> str:
        return self.label.upper()


# A reading's attributes from its row (label, amount, unit's symbol); the context names the notes.
READING_FORM: RowForm[tuple[Any, ...], dict[str, str]] = {
    "label": lambda row, _: row[0],
    "amount": lambda row, _: row[1],
    "unit": lambda row, _: Unit(row[2]) if row[2] else None,
    "note": lambda row, notes: notes.get(row[0]),
}
READING_ROWS = [("a", 1, "g"), (None, 2, None), ("c", 3, "m")]  # the second's non-null label is null
# The second's amount is a text Int refuses; of the odd rows, building the third raises (a form's
# readers must not raise, or a selection that skips the raising one would differ: this build does,
# to show where a row that cannot be built fails when every row is built).
REFUSED_ROWS = [("a", 1, "g"), ("b", "two", None), ("c", 3, "m")]
ODD_ROWS = [("a", 1, "g"), ("b", "two", None), ("boom", 3, "m"), ("d", 4, None)]
READINGS_BUILT: list[tuple[Any, ...]] = []


def build_reading(row: tuple[Any, ...], notes: dict[str, str]) -> Reading:
    READINGS_BUILT.append(row)
    if row[0] == "boom":
        raise ValueError("this row cannot be built")
    return build_from_row(Reading, READING_FORM, row, notes)


@strawberry.type
class EngineQuery:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS

    @strawberry.field
    def strict_items(self) -> list[Item]:  # non-null items: one failing nulls the whole list
        return ITEMS

    @strawberry.field
    def named(self) -> list[Named]:
        return [Person(name="Ada", age=36), Place(name="Pune", code="PNQ")]

    @strawberry.field
    def found(self, kinds: list[str]) -> list[Found]:
        return [Person(name="Ada", age=36) if kind == "person" else Place(name="Pune", code="PNQ") for kind in kinds]

    @strawberry.field
    async def slow_number(self, value: int) -> int:
        return value * 2

    @strawberry.field
    def readings(self) -> list[Reading | None]:
        return RowObjects(READING_ROWS, READING_FORM, {"c": "checked"}, build_reading)  # type: ignore[return-value]

    @strawberry.field
    def strict_readings(self) -> list[Reading]:  # non-null items: one failing nulls the list and the root
        return RowObjects(READING_ROWS, READING_FORM, {}, build_reading)  # type: ignore[return-value]

    @strawberry.field
    def refused_readings(self) -> list[Reading | None]:
        return RowObjects(REFUSED_ROWS, READING_FORM, {}, build_reading)  # type: ignore[return-value]

    @strawberry.field
    def odd_readings(self) -> list[Reading | None] | None:
        return RowObjects(ODD_ROWS, READING_FORM, {}, build_reading)  # type: ignore[return-value]


compiled_schema = strawberry.Schema(query=EngineQuery, execution_context_class=RequestExecutionContext)
graphql_core_schema = strawberry.Schema(query=EngineQuery)


async def run_in(schema: strawberry.Schema, document: str, variables: dict[str, Any]) -> tuple[bytes, list[list[str]]]:
    batches: list[list[str]] = []

    async def load(keys: list[str]) -> list[int]:
        batches.append(list(keys))
        return [ord(key) for key in keys]

    result = await schema.execute(document, variables, context_value={"loader": DataLoader(load_fn=load)})
    return response_bytes(result), batches


ENGINE_DOCUMENTS = {
    "a raising resolver and a non-null field failing into its nullable parent": """
        query Failing { items { name broken required } }
    """,
    "a failing non-null item nulling the nearest nullable parent (the root)": """
        query Strict { strictItems { name required } n: named { name } }
    """,
    "a non-null field answering null": "query Null { items { name maybeNone } }",
    "lists of lists with nulls": "query Grid { items { name grid } }",
    "interfaces and inline fragments with __typename": """
        query Named { named { __typename name ... on Person { age } ... on Place { code __typename } } }
    """,
    "unions by variable, aliases and fragment spreads": """
        query Found($kinds: [String!]!) {
          found(kinds: $kinds) { __typename ...Who ... on Place { where: code } }
          again: found(kinds: ["place"]) { ... on Place { name } }
        }
        fragment Who on Person { name years: age }
    """,
    "async resolvers batching through one loader": """
        query Later { items { name later } double: slowNumber(value: 21) }
    """,
    "a selection whose every field is skipped": "query Empty($yes: Boolean!) { items { name @skip(if: $yes) } }",
    "@include and @skip by variable": """
        query Conditions($yes: Boolean!, $no: Boolean!) {
          items { name @include(if: $yes) grid @skip(if: $yes) ... on Item @include(if: $no) { broken } }
        }
    """,
}
ENGINE_VARIABLES: dict[str, Any] = {"kinds": ["person", "place", "person"], "yes": True, "no": False}


@pytest.mark.parametrize("name", ENGINE_DOCUMENTS)
async def test_the_compiled_executor_answers_as_graphql_core(name: str, compiled_runs: list[str]) -> None:
    document = ENGINE_DOCUMENTS[name]
    variables = {key: value for key, value in ENGINE_VARIABLES.items() if f"${key}" in document}

    # When the document runs compiled and through graphql-core
    compiled_body, compiled_batches = await run_in(compiled_schema, document, variables)
    graphql_core_body, graphql_core_batches = await run_in(graphql_core_schema, document, variables)

    # Then the answers are the same bytes, the loader was called with the same batches, and the
    # compiled path did run
    assert compiled_body == graphql_core_body
    assert compiled_batches == graphql_core_batches
    assert len(compiled_runs) == 1


async def test_errors_and_null_propagation_are_graphql_cores() -> None:
    # When a resolver raises and a non-null field fails, compiled
    body, _ = await run_in(
        compiled_schema,
        ENGINE_DOCUMENTS["a raising resolver and a non-null field failing into its nullable parent"],
        {},
    )

    # Then the raising field is null with its error, and the item whose non-null field failed is null
    assert orjson.loads(body) == {
        "data": {
            "items": [
                {"name": "a", "broken": None, "required": "A"},
                None,
                {"name": "c", "broken": None, "required": "C"},
            ]
        },
        "errors": [
            {"message": "a is broken", "locations": [{"line": 2, "column": 38}], "path": ["items", 0, "broken"]},
            {"message": "b is broken", "locations": [{"line": 2, "column": 38}], "path": ["items", 1, "broken"]},
            {"message": "b has nothing", "locations": [{"line": 2, "column": 45}], "path": ["items", 1, "required"]},
            {"message": "c is broken", "locations": [{"line": 2, "column": 38}], "path": ["items", 2, "broken"]},
        ],
    }


async def test_a_loader_batches_every_item_of_a_list_into_one_call() -> None:
    # When every item of a list loads through the request's loader, compiled
    body, batches = await run_in(compiled_schema, ENGINE_DOCUMENTS["async resolvers batching through one loader"], {})

    # Then one batch held every key
    assert batches == [["a", "b", "c"]]
    assert orjson.loads(body) == {
        "data": {
            "items": [{"name": "a", "later": "97"}, {"name": "b", "later": "98"}, {"name": "c", "later": "99"}],
            "double": 42,
        }
    }


@pytest.mark.parametrize(
    ("selection", "built_compiled"),
    [
        ("__typename label amount unit note", [READING_ROWS[1]]),
        ("label note shout", READING_ROWS),
    ],
    ids=["leaf fields: only the failing row is built", "a resolver field: every row is built"],
)
async def test_a_list_answered_as_rows_builds_only_the_items_that_need_an_object(
    selection: str, built_compiled: list[tuple[Any, ...]], compiled_runs: list[str]
) -> None:
    document = f"query Readings {{ readings {{ {selection} }} }}"

    # When the readings are answered compiled, then by graphql-core
    READINGS_BUILT.clear()
    compiled_body, _ = await run_in(compiled_schema, document, {})
    built = list(READINGS_BUILT)
    READINGS_BUILT.clear()
    graphql_core_body, _ = await run_in(graphql_core_schema, document, {})

    # Then the bytes are the same: the row whose non-null label is null is null, with its error
    assert compiled_body == graphql_core_body
    answer = orjson.loads(compiled_body)
    assert answer["data"]["readings"][1] is None
    assert [error["path"] for error in answer["errors"]] == [["readings", 1, "label"]]
    # And compiled execution built only what it had to; graphql-core built every row
    assert built == built_compiled
    assert READINGS_BUILT == READING_ROWS
    assert len(compiled_runs) == 1


async def test_readings_read_from_rows_answer_every_value_as_built_objects_do() -> None:
    body, _ = await run_in(compiled_schema, "query R { readings { __typename label amount unit note } }", {})
    assert orjson.loads(body)["data"] == {
        "readings": [
            {"__typename": "Reading", "label": "a", "amount": 1, "unit": "GRAM", "note": None},
            None,
            {"__typename": "Reading", "label": "c", "amount": 3, "unit": "METRE", "note": "checked"},
        ]
    }


@pytest.mark.parametrize(
    ("document", "built_compiled", "paths"),
    [
        (
            "query Strict { strictReadings { label amount } n: named { name } }",
            [READING_ROWS[1]],
            [["strictReadings", 1, "label"]],
        ),
        # The second row's amount is refused: built, its error where graphql-core puts it
        (
            "query Refused { refusedReadings { label amount } }",
            [REFUSED_ROWS[1]],
            [["refusedReadings", 1, "amount"]],
        ),
        # A selection the form cannot serve builds the rows as reached: the second's error is kept,
        # then the third cannot be built and the list fails (graphql-core iterates the same way)
        (
            "query OddAll { oddReadings { label amount shout } }",
            ODD_ROWS[:3],
            [["oddReadings", 1, "amount"], ["oddReadings"]],
        ),
    ],
    ids=["a null in a non-null list", "a refused value", "a row that cannot be built"],
)
async def test_rows_fail_where_built_objects_fail(
    document: str, built_compiled: list[tuple[Any, ...]], paths: list[list[Any]], compiled_runs: list[str]
) -> None:
    READINGS_BUILT.clear()
    compiled_body, _ = await run_in(compiled_schema, document, {})
    built = list(READINGS_BUILT)
    graphql_core_body, _ = await run_in(graphql_core_schema, document, {})

    assert compiled_body == graphql_core_body
    assert [error["path"] for error in orjson.loads(compiled_body)["errors"]] == paths
    assert built == built_compiled
    assert len(compiled_runs) == 1


async def test_rows_answer_aliases_keywords_and_typenames_in_their_places(compiled_runs: list[str]) -> None:
    document = "query Aliased { readings { class: label __typename def: amount again: __typename unit label } }"

    # When the readings are answered compiled (from the rows) and by graphql-core
    READINGS_BUILT.clear()
    compiled_body, _ = await run_in(compiled_schema, document, {})
    built = list(READINGS_BUILT)
    graphql_core_body, _ = await run_in(graphql_core_schema, document, {})

    # Then the same bytes, keys in the document's order, and only the failing row built
    assert compiled_body == graphql_core_body
    assert orjson.loads(compiled_body)["data"]["readings"][0] == {
        "class": "a",
        "__typename": "Reading",
        "def": 1,
        "again": "Reading",
        "unit": "GRAM",
        "label": "a",
    }
    assert built == [READING_ROWS[1]]
    assert len(compiled_runs) == 1
