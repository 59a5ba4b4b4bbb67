"""An operation's variables coerced by plans made once, with graphql-core's answer every time.

graphql-core coerces every request's variables from scratch: the variable's type rebuilt from
the document (`type_from_ast`), a walk of the whole value to check its depth, and
`coerce_input_value` asking of every type on the way what kind it is. A bill's variables cost
~70 us of it, a ledger page's ~23 us. Here each variable definition of a cached document gets a
plan once: its signature, and a coercer per input type (closures that know their type), the
depth walk left out where the type cannot nest deeper than its limit. A default is coerced anew
for each request that uses it, as graphql-core does (a resolver may change a list it is given).

The plans answer only valid variables. Whatever they cannot coerce (a wrong value, a missing
one, a bad default, a signature error) is handed back whole to graphql-core's
`get_variable_values`, so every error is graphql-core's own, word for word. The coercers
follow graphql-core 3.3's `coerce_input_value` case by case (tests/test_variable_values.py
compares them with it on every input type of the schema). Installed in place of the function
graphql-core's executor calls (`install()`, at schema build).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLSchema,
    VariableDefinitionNode,
    assert_leaf_type,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
    is_required_input_field,
)
from graphql.execution import executor as graphql_executor
from graphql.execution import values as graphql_values
from graphql.execution.values import VariableValues, VariableValueSource
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import Undefined, is_iterable
from graphql.utilities.coerce_input_value import coerce_default_value, coerce_input_literal

GRAPHQL_GET_VARIABLE_VALUES = graphql_values.get_variable_values
PLANS_MAX = 1024  # the parse cache holds as many documents

Coercer = Callable[[Any], Any]


class _Variable:
    """One variable definition's plan."""

    __slots__ = ("coerce", "name", "non_null", "signature", "walk_depth")

    def __init__(self, signature: Any, coerce: Coercer, walk_depth: bool) -> None:
        self.signature = signature
        self.name: str = signature.name
        self.non_null = is_non_null_type(signature.type)
        self.coerce = coerce
        self.walk_depth = walk_depth  # the type can nest deeper than graphql-core allows


class _Plans:
    """The variable plans of the documents in use, and the coercer of each input type."""

    def __init__(self) -> None:
        # (schema, definitions) by their ids; the entry keeps both alive, so an id is never reused meanwhile.
        self._plans: OrderedDict[tuple[int, int], tuple[GraphQLSchema, Collection[Any], list[_Variable] | None]]
        self._plans = OrderedDict()
        self._objects: dict[int, tuple[GraphQLInputObjectType, Coercer]] = {}

    def variables(
        self, schema: GraphQLSchema, definitions: Collection[VariableDefinitionNode]
    ) -> list[_Variable] | None:
        key = (id(schema), id(definitions))
        found = self._plans.get(key)
        if found is not None and found[0] is schema and found[1] is definitions:
            self._plans.move_to_end(key)
            return found[2]
        planned = self._plan(schema, definitions)
        self._plans[key] = (schema, definitions, planned)
        if len(self._plans) > PLANS_MAX:
            self._plans.popitem(last=False)
        return planned

    def _plan(self, schema: GraphQLSchema, definitions: Collection[VariableDefinitionNode]) -> list[_Variable] | None:
        planned = []
        for definition in definitions:
            signature = graphql_values.get_variable_signature(schema, definition)
            if isinstance(signature, GraphQLError):
                return None  # graphql-core reports it, every time
            depth = _nesting_depth(signature.type, set())
            walk_depth = depth is None or depth > MAX_NESTING_DEPTH
            planned.append(_Variable(signature, self.coercer(signature.type), walk_depth))
        return planned

    def coercer(self, type_: GraphQLInputType) -> Coercer:
        """`coerce_input_value(value, type_)` of graphql-core, for this type only."""
        if is_non_null_type(type_):
            inner = self.coercer(type_.of_type)

            def coerce_non_null(value: Any) -> Any:
                if value is None or value is Undefined:
                    return Undefined
                return inner(value)

            return coerce_non_null
        if is_list_type(type_):
            return _list_coercer(self.coercer(type_.of_type))
        if is_input_object_type(type_):
            known = self._objects.get(id(type_))
            if known is None or known[0] is not type_:
                known = self._objects[id(type_)] = (type_, self._object_coercer(type_))
            return known[1]
        return _leaf_coercer(assert_leaf_type(type_).coerce_input_value)

    def _object_coercer(self, type_: GraphQLInputObjectType) -> Coercer:
        # Its fields' coercers are made on first use: an input type may contain itself.
        fields_planned: list[tuple[str, str, Coercer, bool, Any]] = []

        def coerce_object(value: Any) -> Any:
            if value is None or value is Undefined:
                return None
            if not isinstance(value, dict):
                return Undefined
            fields = type_.fields
            if not fields_planned:
                fields_planned.extend(
                    (name, field.out_name or name, self.coercer(field.type), is_required_input_field(field), field)
                    for name, field in fields.items()
                )
            defined = 0
            for name, field_value in value.items():
                if field_value is Undefined:
                    continue
                defined += 1
                if name not in fields:
                    return Undefined
            coerced: dict[str, Any] = {}
            for name, out_name, coerce, required, field in fields_planned:
                field_value = value.get(name, Undefined)
                if field_value is Undefined:
                    if required:
                        return Undefined
                    default = coerce_default_value(field)
                    if default is not Undefined:
                        coerced[out_name] = default
                    continue
                coerced_field = coerce(field_value)
                if coerced_field is Undefined:
                    return Undefined
                coerced[out_name] = coerced_field
            if type_.is_one_of:
                keys = list(coerced)
                if defined != 1 or len(keys) != 1 or coerced[keys[0]] is None:
                    return Undefined
            return type_.out_type(coerced)

        return coerce_object


def _list_coercer(item: Coercer) -> Coercer:
    def coerce_list(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not is_iterable(value):  # a non-list value is a list of one
            coerced_item = item(value)
            return Undefined if coerced_item is Undefined else [coerced_item]
        coerced: list[Any] = []
        for element in value:
            coerced_item = item(element)
            if coerced_item is Undefined:
                return Undefined
            coerced.append(coerced_item)
        return coerced

    return coerce_list


def _leaf_coercer(coerce_input_value: Callable[[Any], Any]) -> Coercer:
    def coerce_leaf(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        try:
            return coerce_input_value(value)
        except Exception:  # as graphql-core: an invalid value, reported by its own path
            return Undefined

    return coerce_leaf


def _nesting_depth(type_: GraphQLInputType, visiting: set[int]) -> int | None:
    """How deep `input_is_nested_too_deeply` can walk a value of this type; None: without end
    (an input type that contains itself)."""
    if is_non_null_type(type_):
        return _nesting_depth(type_.of_type, visiting)
    if is_list_type(type_):
        inner = _nesting_depth(type_.of_type, visiting)
        return None if inner is None else inner + 1
    if is_input_object_type(type_):
        if id(type_) in visiting:
            return None
        visiting.add(id(type_))
        deepest = 0
        for field in type_.fields.values():
            inner = _nesting_depth(field.type, visiting)
            if inner is None:
                return None
            deepest = max(deepest, inner + 1)
        visiting.discard(id(type_))
        return deepest
    return 0


_PLANS = _Plans()


def get_variable_values(
    schema: GraphQLSchema,
    var_def_nodes: Collection[VariableDefinitionNode],
    inputs: dict[str, Any],
    max_errors: int | None = None,
    hide_suggestions: bool = False,
) -> Any:
    """graphql-core's `get_variable_values`, answered by the plans when every variable coerces
    (otherwise by graphql-core itself, errors and all)."""
    planned = _PLANS.variables(schema, var_def_nodes)
    if planned is None:
        return GRAPHQL_GET_VARIABLE_VALUES(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for variable in planned:
        name = variable.name
        value = inputs.get(name, Undefined)
        if value is Undefined:
            if variable.signature.default is not None or not variable.non_null:
                sources[name] = VariableValueSource(variable.signature)
                if variable.signature.default is not None:
                    # Coerced anew for each request, as graphql-core does: a list or an object
                    # default a resolver changed must not reach the next request.
                    default = coerce_input_literal(variable.signature.default.literal, variable.signature.type)
                    if default is Undefined:
                        return GRAPHQL_GET_VARIABLE_VALUES(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
                    coerced[name] = default
                continue
            return GRAPHQL_GET_VARIABLE_VALUES(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
        sources[name] = VariableValueSource(variable.signature, value)
        if variable.walk_depth and graphql_values.input_is_nested_too_deeply(value, variable.signature.type):
            return GRAPHQL_GET_VARIABLE_VALUES(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
        coerced_value = variable.coerce(value)
        if coerced_value is Undefined:
            return GRAPHQL_GET_VARIABLE_VALUES(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
        coerced[name] = coerced_value
    return VariableValues(sources, coerced)


def install() -> None:
    """graphql-core's executor coerces variables with `get_variable_values` above."""
    graphql_executor.get_variable_values = get_variable_values
