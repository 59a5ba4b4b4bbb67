"""Variables coerced by plans (app/graphql/core/variable_values.py) answer what graphql-core
answers: the same coerced values for every input type of the schema, whatever a client sends,
and graphql-core's own errors, word for word, for what does not coerce."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    get_nullable_type,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
    parse,
    print_ast,
)
from graphql.execution import executor as graphql_executor
from graphql.execution.values import get_variable_values as graphql_get_variable_values
from graphql.pyutils import Undefined
from graphql.utilities.coerce_input_value import coerce_input_value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.graphql.core import variable_values
from app.graphql.core.schema import build_schema
from tests.factories import bill

SCHEMA = build_schema()._schema
INPUT_OBJECTS = sorted(
    (type_ for type_ in SCHEMA.type_map.values() if isinstance(type_, GraphQLInputObjectType)),
    key=lambda type_: type_.name,
)
# Leaves as clients send them, right and wrong: every scalar and enum is offered all of them.
LEAVES: list[Any] = [
    "1",
    "1.50",
    "-3",
    "",
    "abc",
    "2026-12-07T10:00:00+00:00",
    "2026-12-07",
    "MOBILE",
    0,
    7,
    -1,
    2**40,
    1.5,
    True,
    False,
    None,
    [],
    {},
]


def values_of(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of `type_` mostly well formed (so that the plans' answers are compared), with wrong
    ones mixed in: nulls, unknown fields, missing fields, single values for lists, wrong leaves."""
    nullable = get_nullable_type(type_)
    if is_list_type(nullable):
        item = values_of(nullable.of_type, depth + 1)
        shaped: st.SearchStrategy[Any] = st.one_of(st.lists(item, max_size=3), item)
    elif is_input_object_type(nullable):
        if depth > 3:
            shaped = st.just({})
        else:
            fields = {name: values_of(field.type, depth + 1) for name, field in nullable.fields.items()}
            shaped = st.fixed_dictionaries(
                {
                    name: strategy
                    for name, field in nullable.fields.items()
                    if is_non_null_type(field.type)
                    for strategy in [fields[name]]
                },
                optional={
                    **{
                        name: fields[name]
                        for name, field in nullable.fields.items()
                        if not is_non_null_type(field.type)
                    },
                    "notAField": st.just(1),
                },
            ).map(dict)
    elif isinstance(nullable, GraphQLEnumType):
        shaped = st.sampled_from([*nullable.values, "NOT_A_VALUE", 1])
    else:
        shaped = st.sampled_from(LEAVES)
    return st.one_of(shaped, st.none()) if depth else shaped


@pytest.mark.parametrize("input_type", INPUT_OBJECTS, ids=lambda type_: type_.name)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_input_type_coerces_as_graphql_core_coerces_it(input_type: GraphQLInputObjectType, data: Any) -> None:
    value = data.draw(values_of(input_type))
    expected = coerce_input_value(value, input_type)
    coerced = variable_values._PLANS.coercer(input_type)(value)
    assert (coerced is Undefined) == (expected is Undefined)
    assert repr(coerced) == repr(expected)  # repr: a refused decimal is Decimal('NaN'), unequal to itself


DOCUMENT = parse(
    """
    query Q($input: TransactionAddInput!, $first: Int = 10, $after: String, $kinds: [LedgerEntryKind!]) {
      __typename
    }
    """
)
DEFINITIONS = DOCUMENT.definitions[0].variable_definitions  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "inputs",
    [
        {"input": bill()},
        {"input": bill(), "first": 3, "after": "abc", "kinds": ["POINTS_TRANSFER"]},
        {"input": bill(), "kinds": "POINTS_TRANSFER"},
        {"input": bill(), "first": None},
    ],
    ids=["defaults", "all given", "one kind for a list", "null for a default"],
)
def test_valid_variables_coerce_as_graphql_core_coerces_them(inputs: dict[str, Any]) -> None:
    ours = variable_values.get_variable_values(SCHEMA, DEFINITIONS, inputs)
    theirs = graphql_get_variable_values(SCHEMA, DEFINITIONS, inputs)
    assert not isinstance(ours, list)
    assert not isinstance(theirs, list)
    assert repr(ours.coerced) == repr(theirs.coerced)
    assert described(ours.sources) == described(theirs.sources)


def described(sources: dict[str, Any]) -> dict[str, Any]:
    """Sources as values (graphql-core builds a variable's type wrappers and default anew each time)."""
    return {
        name: (
            source.signature.name,
            str(source.signature.type),
            None if source.signature.default is None else print_ast(source.signature.default.literal),
            source.value,
        )
        for name, source in sources.items()
    }


@pytest.mark.parametrize(
    "inputs",
    [
        {},
        {"input": None},
        {"input": {**bill(), "customer": "9800000001"}},
        {"input": {**bill(), "notAField": 1}},
        {"input": bill(), "first": "ten"},
        {"input": bill(), "kinds": ["NOT_A_KIND"]},
    ],
    ids=["missing", "null", "a string for an object", "an unknown field", "a wrong default's type", "a wrong enum"],
)
def test_invalid_variables_get_graphql_core_s_own_errors(inputs: dict[str, Any]) -> None:
    ours = variable_values.get_variable_values(SCHEMA, DEFINITIONS, inputs)
    theirs = graphql_get_variable_values(SCHEMA, DEFINITIONS, inputs)
    assert isinstance(ours, list)
    assert isinstance(theirs, list)
    assert [error.formatted for error in ours] == [error.formatted for error in theirs]


def test_the_executor_coerces_with_the_plans() -> None:
    assert graphql_executor.get_variable_values is variable_values.get_variable_values


def test_a_list_default_is_a_new_list_for_every_request() -> None:
    definitions = parse("query Q($kinds: [LedgerEntryKind!] = [POINTS_TRANSFER]) { __typename }").definitions[0]
    first = variable_values.get_variable_values(SCHEMA, definitions.variable_definitions, {})  # type: ignore[attr-defined]
    assert not isinstance(first, list)
    first.coerced["kinds"].append("changed by a resolver")

    second = variable_values.get_variable_values(SCHEMA, definitions.variable_definitions, {})  # type: ignore[attr-defined]

    assert not isinstance(second, list)
    assert len(second.coerced["kinds"]) == 1
