"""The input plans (app/graphql/core/input_conversion.py) build exactly what Strawberry's generic
conversion builds: for every input type of the schema and every root field's arguments, generated
values (as graphql-core coerces them: defaults filled in, enums and scalars parsed, fields left
out, nulls, nested inputs and lists) are converted with the plans and without them (Strawberry's
`convert_argument` walking the types), and the two results are equal, class for class.

The suite's API tests are the other half of the spec: every mutation and query runs through the
plans.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    coerce_input_value,
)
from graphql.utilities.coerce_input_value import (
    coerce_default_value,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strawberry.relay import GlobalID
from strawberry.schema import schema_converter as strawberry_schema_converter
from strawberry.types.arguments import convert_argument, convert_arguments
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.maybe import Some
from strawberry.types.unset import UNSET

from app.graphql.core import input_conversion
from app.graphql.core.input_conversion import (
    compile_input_conversions,
    planned_convert_arguments,
    planned_definitions,
)
from app.graphql.core.schema import schema
from app.graphql.customers.inputs import UpdateCustomerInput
from app.graphql.transactions.inputs import LineItemInput, NameValueInput, TransactionAddInput
from app.transactions.models import OutlierStatus

GRAPHQL_SCHEMA = schema._schema
REGISTRY, CONFIG = schema.schema_converter.scalar_registry, schema.config
INPUT_TYPES = sorted(
    name for name, type_ in GRAPHQL_SCHEMA.type_map.items() if isinstance(type_, GraphQLInputObjectType)
)
ROOT_FIELDS = [
    (root.name, name)
    for root in (GRAPHQL_SCHEMA.query_type, GRAPHQL_SCHEMA.mutation_type)
    if root is not None
    for name, field in root.fields.items()
    if field.args
]
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def strawberry_generic_conversion() -> Iterator[None]:
    """The planned types without their plans, as Strawberry converts them by itself."""
    hooks = {definition: definition.from_input for definition in planned_definitions(schema)}
    for definition in hooks:
        definition.from_input = None
    try:
        yield
    finally:
        for definition, hook in hooks.items():
            definition.from_input = hook


# --- Values as a client sends them ----------------------------------------------------------

_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "String": st.text(max_size=8),
    "ID": st.one_of(st.text(max_size=8), st.integers(min_value=0, max_value=10**6)),
    "Int": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    "Float": st.floats(allow_nan=False, allow_infinity=False),
    "Boolean": st.booleans(),
    # Within the grammar, and outside it (a RefusedDecimal goes on to the field's own check).
    "Decimal": st.one_of(st.decimals(places=2, allow_nan=False, allow_infinity=False).map(str), st.text(max_size=4)),
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
    "Date": st.dates().map(lambda day: day.isoformat()),
    "JSON": st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=4),
        lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
        max_leaves=4,
    ),
    "Upload": st.text(max_size=8),
}


def client_values(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """JSON values of `type_` (a field may be null wherever its type allows it)."""
    if isinstance(type_, GraphQLNonNull):
        return non_null_values(type_.of_type, depth)
    return st.one_of(st.none(), non_null_values(type_, depth))


def non_null_values(type_: GraphQLInputType, depth: int) -> st.SearchStrategy[Any]:
    if isinstance(type_, GraphQLList):
        items = client_values(type_.of_type, depth + 1)
        # A single value stands for a list of one (GraphQL's input coercion).
        return st.one_of(st.lists(items, max_size=3 if depth < 2 else 1), items)
    if isinstance(type_, GraphQLEnumType):
        return st.sampled_from(sorted(type_.values))
    if isinstance(type_, GraphQLScalarType):
        return _SCALARS[type_.name]
    assert isinstance(type_, GraphQLInputObjectType)
    return input_objects(type_, depth)


def input_objects(type_: GraphQLInputObjectType, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    required, optional = {}, {}
    for name, field in type_.fields.items():
        if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined:
            required[name] = client_values(field.type, depth + 1)
        elif depth < 3:  # deeper, optional fields are left out (their defaults still apply)
            optional[name] = client_values(field.type, depth + 1)
    return st.fixed_dictionaries(required, optional=optional)


def coerced(value: Any, type_: GraphQLInputType) -> Any:
    """`value` as graphql-core hands it to a resolver (defaults filled in, scalars parsed)."""
    result = coerce_input_value(value, type_)
    assert result is not Undefined, value
    return result


def generated(value: Any, type_: GraphQLInputType) -> Any:
    """A generated value, coerced: one graphql-core refuses never reaches Strawberry."""
    result = coerce_input_value(value, type_)
    assume(result is not Undefined)
    return result


@st.composite
def unset_for_nulls(draw: st.DrawFn, value: Any) -> Any:
    """Some nulls of a coerced value replaced by UNSET (Strawberry keeps either as it is)."""
    if isinstance(value, dict):
        return {key: draw(unset_for_nulls(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [draw(unset_for_nulls(item)) for item in value]
    return UNSET if value is None and draw(st.booleans()) else value


def strawberry_type_of(name: str) -> Any:
    definition = schema.get_type_by_name(name)
    assert isinstance(definition, StrawberryObjectDefinition)
    return definition.origin


# --- The plans are everywhere ---------------------------------------------------------------


def test_every_input_type_of_the_schema_has_a_plan() -> None:
    # given the schema the app serves / then each of its input types converts through its plan
    assert sorted(definition.name for definition in planned_definitions(schema)) == INPUT_TYPES


def test_planning_the_schema_again_keeps_every_plan() -> None:
    # given a built schema / when it is planned again (a second build_schema in one process)
    planned_again = compile_input_conversions(schema)
    # then every input type is planned again, not taken for a type with its own from_input
    assert sorted(definition.name for definition in planned_again) == INPUT_TYPES
    assert sorted(definition.name for definition in planned_definitions(schema)) == INPUT_TYPES


# --- Equal to Strawberry's own conversion ---------------------------------------------------


@pytest.mark.parametrize("type_name", INPUT_TYPES)
@EXAMPLES
@given(data=st.data())
def test_every_input_type_converts_as_strawberry_converts_it(type_name: str, data: st.DataObject) -> None:
    # given a value of the input type as graphql-core coerced it (some nulls as UNSET)
    graphql_type = GRAPHQL_SCHEMA.type_map[type_name]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    value = data.draw(unset_for_nulls(generated(data.draw(input_objects(graphql_type, 0)), graphql_type)))
    strawberry_type = strawberry_type_of(type_name)
    # when it is converted without the plans and with them
    with strawberry_generic_conversion():
        expected = convert_argument(value, strawberry_type, REGISTRY, CONFIG)
    converted = convert_argument(value, strawberry_type, REGISTRY, CONFIG)
    # then both build the same objects
    assert type(converted) is strawberry_type
    assert converted == expected


@pytest.mark.parametrize(("root", "field_name"), ROOT_FIELDS)
@EXAMPLES
@given(data=st.data())
def test_every_root_fields_arguments_convert_as_strawberry_converts_them(
    root: str, field_name: str, data: st.DataObject
) -> None:
    # given the field's arguments as graphql-core coerced them (left out, null, given)
    graphql_field = GRAPHQL_SCHEMA.type_map[root].fields[field_name]  # type: ignore[union-attr]
    arguments: dict[str, Any] = {}
    for name, argument in graphql_field.args.items():
        required = isinstance(argument.type, GraphQLNonNull) and coerce_default_value(argument) is Undefined
        value = data.draw(
            client_values(argument.type) if required else st.one_of(st.just(Undefined), client_values(argument.type))
        )
        if value is not Undefined:
            arguments[name] = generated(value, argument.type)
        elif (default := coerce_default_value(argument)) is not Undefined:  # as graphql-core fills it in
            arguments[name] = default
    definition = schema.get_type_by_name(root)
    assert isinstance(definition, StrawberryObjectDefinition)
    field = next(field for field in definition.fields if CONFIG.name_converter.from_field(field) == field_name)
    # when they are converted without the plans and with them
    with strawberry_generic_conversion():
        expected = convert_arguments(arguments, field.arguments, REGISTRY, CONFIG)
    converted = convert_arguments(arguments, field.arguments, REGISTRY, CONFIG)
    by_field_plan = planned_convert_arguments(arguments, field.arguments, REGISTRY, CONFIG)
    # then all give the resolver the same keyword arguments, the field's plan too
    assert converted == by_field_plan == expected
    assert list(by_field_plan) == list(expected)
    assert (
        [type(value) for value in converted.values()]
        == [type(value) for value in by_field_plan.values()]
        == [type(value) for value in expected.values()]
    )


# --- What the equality stands for, spelled out on two inputs ---------------------------------


def test_a_bill_converts_with_defaults_nulls_enums_nested_inputs_and_copied_lists() -> None:
    # given a bill as a client sends it: one line item, a null, a left-out list with a default
    graphql_type = GRAPHQL_SCHEMA.type_map["TransactionAddInput"]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    value = coerced(
        {
            "number": "B-1",
            "amount": "90",
            "notes": None,
            "lineItems": [
                {"itemCode": "SHIRT-01", "qty": "1", "amount": "90", "attributes": {"name": "a", "value": "b"}}
            ],
        },
        graphql_type,
    )
    # when it is converted
    bill = convert_argument(value, TransactionAddInput, REGISTRY, CONFIG)
    # then every field is what Strawberry gives it
    assert isinstance(bill, TransactionAddInput)
    assert (bill.number, bill.amount, bill.notes, bill.store_code, bill.outlier_status) == (
        "B-1",
        Decimal("90"),
        None,
        None,
        OutlierStatus.NORMAL,
    )
    assert bill.line_items == [
        LineItemInput(
            item_code="SHIRT-01",
            qty=Decimal("1"),
            amount=Decimal("90"),
            attributes=[NameValueInput(name="a", value="b")],
        )
    ]
    assert (bill.promo_codes, bill.extended_fields, bill.customer) == ([], [], None)
    # and a list of scalars is a copy: graphql-core hands every request the same default list
    assert bill.promo_codes is not value["promoCodes"]
    assert convert_argument(value, TransactionAddInput, REGISTRY, CONFIG).promo_codes is not bill.promo_codes


def test_maybe_fields_tell_a_null_from_a_value_left_out() -> None:
    # given a profile change naming a first name, clearing the last name and leaving out the rest
    graphql_type = GRAPHQL_SCHEMA.type_map["UpdateCustomerInput"]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    customer = {"type": "MOBILE", "value": "9800000001"}
    value = coerced({"customer": customer, "firstname": "Tom", "lastname": None}, graphql_type)
    # when it is converted
    change = convert_argument(value, UpdateCustomerInput, REGISTRY, CONFIG)
    # then a value and a null come wrapped in Some, and what was left out is None
    assert isinstance(change, UpdateCustomerInput)
    assert (change.firstname, change.lastname, change.extended_fields) == (Some("Tom"), Some(None), None)
    with strawberry_generic_conversion():
        assert convert_argument(value, UpdateCustomerInput, REGISTRY, CONFIG) == change


def test_json_values_pass_through_as_they_are() -> None:
    # given a JSON value nested in a Maybe field / when converted / then it is the client's value
    graphql_type = GRAPHQL_SCHEMA.type_map["UpdateCustomerInput"]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    fields = {"tier": ["gold", 1], "since": None}
    value = coerced({"customer": {"type": "MOBILE", "value": "9800000001"}, "extendedFields": fields}, graphql_type)
    change = convert_argument(value, UpdateCustomerInput, REGISTRY, CONFIG)
    assert change.extended_fields == Some(json.loads(json.dumps(fields)))


# --- What the app's schema does not use ------------------------------------------------------
# A small schema of its own: a recursive input, a field with no default, GlobalID, a Maybe[T] that
# may not be null, a private field, a lazy type, an enum list, an input with its own from_input.


@strawberry.enum
class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


@strawberry.input
class Leaf:
    label: str = "leaf"


@strawberry.input
class Branch:
    name: str
    note: str | None  # no default: Strawberry gives it an implicit None
    children: list[Branch] | None = None
    parent_id: GlobalID | None = None
    member_ids: list[GlobalID | None] = strawberry.field(default_factory=list)
    shades: list[Shade | None] | None = UNSET
    shade: Shade = Shade.LIGHT
    maybe_note: strawberry.Maybe[str | None] = None
    leaf: Annotated[Leaf, strawberry.lazy("tests.test_input_conversion")] | None = None
    weight: strawberry.Private[int] = 0


@strawberry.input
class NeverNull:
    count: strawberry.Maybe[int] = None  # Strawberry's validation rule for these skips types with a from_input


@strawberry.input
class HoldsNeverNull:
    inner: NeverNull | None = None


@strawberry.input
class OwnHook:
    text: str


@strawberry.input
class HoldsOwnHook:
    own: OwnHook | None = None
    leaf: Leaf | None = None


OwnHook.__strawberry_definition__.from_input = lambda cls, value, context: cls(text=value["text"].upper())  # type: ignore[attr-defined]


@strawberry.type
class SmallQuery:
    @strawberry.field
    def echo(
        self, branch: Branch, never_null: HoldsNeverNull | None = None, own: HoldsOwnHook | None = None
    ) -> str:  # pragma: no cover - never run
        return ""


SMALL_SCHEMA = strawberry.Schema(query=SmallQuery)
SMALL_PLANNED = compile_input_conversions(SMALL_SCHEMA)
SMALL_REGISTRY, SMALL_CONFIG = SMALL_SCHEMA.schema_converter.scalar_registry, SMALL_SCHEMA.config
# The small schema's GlobalID is its ID: global ids too (Branch:1, Leaf:leaf); the rest is
# mostly not one (Strawberry's error).
_SCALARS["ID"] = st.one_of(_SCALARS["ID"], st.sampled_from(["QnJhbmNoOjE=", "TGVhZjpsZWFm"]))


def outcome(convert: Any) -> tuple[str, Any]:
    try:
        return ("value", convert())
    except Exception as error:  # the same error, worded the same, is the same outcome
        return ("error", (type(error), str(error)))


def test_a_small_schema_plans_what_it_can_and_leaves_the_rest_to_strawberry() -> None:
    # given inputs a plan can build, one that may not be null, and one with its own from_input
    # then the first get a plan; the others, and what holds them, keep Strawberry's conversion
    assert sorted(definition.name for definition in SMALL_PLANNED) == ["Branch", "Leaf"]
    assert HoldsOwnHook.__strawberry_definition__.from_input is None  # type: ignore[attr-defined]
    assert NeverNull.__strawberry_definition__.from_input is None  # type: ignore[attr-defined]
    assert HoldsNeverNull.__strawberry_definition__.from_input is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("type_name", ["Branch", "HoldsNeverNull", "HoldsOwnHook"])
@EXAMPLES
@given(data=st.data())
def test_the_small_schemas_inputs_convert_as_strawberry_converts_them(type_name: str, data: st.DataObject) -> None:
    # given a value as graphql-core coerced it
    graphql_type = SMALL_SCHEMA._schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    value = data.draw(unset_for_nulls(generated(data.draw(input_objects(graphql_type, 0)), graphql_type)))
    definition = SMALL_SCHEMA.get_type_by_name(type_name)
    assert isinstance(definition, StrawberryObjectDefinition)
    hooks = {planned: planned.from_input for planned in SMALL_PLANNED}

    def convert() -> Any:
        return convert_argument(value, definition.origin, SMALL_REGISTRY, SMALL_CONFIG)

    # when it is converted without the plans and with them
    for planned in hooks:
        planned.from_input = None
    try:
        expected = outcome(convert)
    finally:
        for planned, hook in hooks.items():
            planned.from_input = hook
    # then both build the same objects, or fail with the same error
    assert outcome(convert) == expected


def test_every_field_with_arguments_converts_them_by_its_plan() -> None:
    # Strawberry's get_arguments calls the name the plans are installed over, and every field of
    # the schema with arguments has a plan
    assert strawberry_schema_converter.convert_arguments is planned_convert_arguments
    fields = [
        field
        for concrete in schema.schema_converter.type_map.values()
        if isinstance(concrete.definition, StrawberryObjectDefinition) and not concrete.definition.is_input
        for field in concrete.definition.fields
        if field.arguments
    ]
    assert len(fields) > 80
    assert all(id(field.arguments) in input_conversion._arguments_plans for field in fields)


async def test_a_request_converts_its_fields_arguments_by_their_plans(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the plans' conversions recorded
    converted: list[list[str]] = []
    convert = input_conversion.ArgumentsPlan.convert

    def recorded(plan: input_conversion.ArgumentsPlan, value: Any) -> dict[str, Any]:
        converted.append([python_name for _, python_name, _ in plan.conversions])
        return convert(plan, value)

    monkeypatch.setattr(input_conversion.ArgumentsPlan, "convert", recorded)

    # When a client asks for a ledger page with arguments
    body = await api.post(
        'query { ledgerEntries(customer: {type: MOBILE, value: "9876500003"}, first: 5) { __typename } }'
    )

    # Then the field's arguments went through its plan (twice: conftest runs every query again
    # through graphql-core to compare), and the answer is as usual
    assert converted == [["customer", "filter", "first", "after"]] * 2
    assert body == {"data": {"ledgerEntries": {"__typename": "NotFoundError"}}}
