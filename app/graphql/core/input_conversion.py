"""Input conversion planned once per input type, instead of re-derived for every value.

Strawberry turns a field's arguments (graphql-core has already coerced and validated them: enums
are Python enums, custom scalars parsed, defaults filled in) into its input classes with
`strawberry.types.arguments.convert_argument`, which for every value walks the type again: it
unwraps Maybe and Optional, asks whether the type is a scalar, an enum, a lazy type or an input,
resolves each field's type and camel-cases each field's name. A bill with three line items makes
about 130 such calls (about 0.9 ms of CPU on the 2-core machine); a batch of bills, a hundred
times more.

`compile_input_conversions(schema)` does that walk once per input type, when the schema is built,
and installs the result as the type's `StrawberryObjectDefinition.from_input` (Strawberry's own
hook for types that build their own value: `convert_argument` calls it with the class and the
whole input value). The plan holds, per GraphQL field name, the Python name and the conversion of
its value: none for scalars and enums, a copy for lists of them, the nested plan for inputs.
Building a value then reads each field once, and nested inputs and lists of inputs go straight to
their plans. The result is the value `convert_argument` builds (the tests compare both for every
input type of the schema):

- a field the value holds is converted as `convert_argument` converts it: `None` stays `None`,
  `UNSET` stays `UNSET`, a list of scalars or enums is copied, `GlobalID` is decoded (its error as
  Strawberry words it), `Maybe[T | None]` is wrapped in `Some`;
- a field it does not hold gets None when it has no default, and its default otherwise (the
  class is built with keyword arguments, as Strawberry builds it);
- the class built is the one `convert_argument` passes (a subclass of the definition's origin).

An input type is left to Strawberry (no plan) when it, or an input reachable from it, already has
a `from_input` of its own (e.g. `strawberry.pydantic`), has a `Maybe[T]` field that may not be null
(Strawberry's validation rule for those skips types with a `from_input`), or has a field of a type
the plan does not know. Such a type converts as before; the plans of inputs it holds are still
used, as `convert_argument` calls their hook.

Self-contained (it imports only Strawberry), so it could move into Strawberry as is:
`convert_argument` could keep these plans on the type definitions itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from strawberry.relay.types import GlobalID, GlobalIDValueError, InvalidGlobalIDError
from strawberry.scalars import is_scalar
from strawberry.schema import schema_converter
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import InputContext, StrawberryArgument, convert_arguments
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.maybe import Some
from strawberry.types.private import is_private
from strawberry.types.unset import UNSET

Convert = Callable[[Any], Any]
"""Converts one value of a field as `convert_argument` does, None and UNSET included."""


class _NotPlannableError(Exception):
    """A type the plans leave to Strawberry (see the module's docstring)."""


class InputPlan:
    """The conversion of one input type: how each GraphQL field becomes a keyword argument."""

    __slots__ = ("definition", "fields", "implicit_nones", "origin")

    def __init__(self, definition: StrawberryObjectDefinition) -> None:
        self.definition = definition
        self.origin = definition.origin
        # Filled in by _Planner.plan_fields once every plan exists (inputs may refer to each other).
        self.fields: dict[str, tuple[str, Convert | None]] = {}
        self.implicit_nones: dict[str, None] = {}

    def build_as(self, cls: type, value: Mapping[str, Any]) -> Any:
        # Strawberry gives every field without a default an implicit None: graphql-core has
        # already checked that the required ones are present, and they overwrite it.
        arguments: dict[str, Any] = self.implicit_nones.copy()
        fields = self.fields
        for graphql_name, field_value in value.items():
            field = fields.get(graphql_name)
            if field is not None:
                python_name, convert = field
                arguments[python_name] = field_value if convert is None else convert(field_value)
        return cls(**arguments)

    def convert(self, value: Any) -> Any:
        """A nested value of this type (a field or a list item)."""
        if value is None or value is UNSET:
            return value
        return self.build_as(self.origin, value)

    def from_input(self, cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        """Strawberry's `from_input` hook: the context (path, info) is of no use to a plan."""
        return self.build_as(cls, value)


class _Planner:
    def __init__(self, schema: strawberry.Schema) -> None:
        self.config = schema.config
        self.scalar_registry = schema.schema_converter.scalar_registry
        self.plans: dict[StrawberryObjectDefinition, InputPlan] = {}

    def plan_fields(self, plan: InputPlan) -> None:
        definition = plan.definition
        for field in definition.fields:
            if field.default_value is MISSING and field.default_factory is MISSING:
                plan.implicit_nones[field.python_name] = None
            if is_private(field.type):  # not in the schema, so never in a value
                continue
            field_type = field.resolve_type(type_definition=definition)
            if isinstance(field_type, StrawberryMaybe) and not isinstance(field_type.of_type, StrawberryOptional):
                raise _NotPlannableError(f"{definition.name}.{field.python_name} is a Maybe that may not be null")
            plan.fields[self.config.name_converter.from_field(field)] = (field.python_name, self.conversion(field_type))

    def is_leaf(self, type_: StrawberryType | type) -> bool:
        """Strawberry's own test (`_is_leaf_type`): scalars and enums are taken as they are."""
        if is_scalar(type_, self.scalar_registry) or isinstance(type_, StrawberryEnumDefinition):
            return True
        return isinstance(type_, LazyType) and self.is_leaf(type_.resolve_type())

    def conversion(self, type_: StrawberryType | type) -> Convert | None:
        """What `convert_argument` does to a value of `type_`; None when it takes it as it is."""
        if isinstance(type_, StrawberryMaybe):  # Maybe[T | None]: plan_fields refuses Maybe[T]
            return _wrap_in_some(self.conversion(type_.of_type))
        if isinstance(type_, StrawberryOptional):
            return self.conversion(type_.of_type)
        if isinstance(type_, StrawberryList):
            item = self.conversion(type_.of_type)
            # A list of scalars is copied: graphql-core gives every request that omits the value
            # the same default list.
            return _copy_list if item is None else _each(item)
        if type_ is GlobalID:
            return _decode_global_id
        if self.is_leaf(type_):
            return None
        if isinstance(type_, LazyType):
            return self.conversion(type_.resolve_type())
        if has_enum_definition(type_):
            return None
        if has_object_definition(type_):
            plan = self.plans.get(type_.__strawberry_definition__)
            if plan is None:
                raise _NotPlannableError(f"{type_.__strawberry_definition__.name} has no plan")
            return plan.convert if type_ is plan.origin else _convert_as(plan, type_)
        raise _NotPlannableError(f"no plan for values of {type_!r}")


def _is_absent(value: Any) -> bool:
    return value is None or value is UNSET


def _wrap_in_some(inner: Convert | None) -> Convert:
    if inner is None:
        return Some
    return lambda value: Some(inner(value))


def _copy_list(values: Any) -> Any:
    return values if _is_absent(values) else list(values)


def _each(item: Convert) -> Convert:
    return lambda values: values if _is_absent(values) else [item(value) for value in values]


def _convert_as(plan: InputPlan, cls: type) -> Convert:
    return lambda value: value if _is_absent(value) else plan.build_as(cls, value)


def _decode_global_id(value: Any) -> Any:
    if _is_absent(value):
        return value
    try:
        return GlobalID.from_id(value)
    except GlobalIDValueError as error:  # worded as Strawberry words it
        raise InvalidGlobalIDError(f'Value cannot represent a GlobalID: "{value}".') from error


def compile_input_conversions(schema: strawberry.Schema) -> list[StrawberryObjectDefinition]:
    """Give every input type of the built schema its plan (see the module's docstring); returns
    the definitions given one."""
    candidates = [
        definition
        for definition in _input_definitions(schema)
        if definition.from_input is None or _plan_of(definition) is not None  # planned again: the same plan
    ]
    planner = _Planner(schema)
    # A type whose field needs a type without a plan has none either: drop until nothing changes.
    while True:
        planner.plans = {definition: InputPlan(definition) for definition in candidates}
        refused = []
        for plan in planner.plans.values():
            try:
                planner.plan_fields(plan)
            except _NotPlannableError:
                refused.append(plan.definition)
        if not refused:
            break
        candidates = [definition for definition in candidates if definition not in refused]
    for definition, plan in planner.plans.items():
        definition.from_input = plan.from_input
    _plan_arguments(schema, planner)
    return list(planner.plans)


class ArgumentsPlan:
    """The conversion of one field's arguments: per GraphQL name, the keyword and its conversion
    (`convert_arguments`'s loop camel-cases each name and walks each type again per request)."""

    __slots__ = ("arguments", "config", "conversions")

    def __init__(
        self,
        arguments: list[StrawberryArgument],
        config: StrawberryConfig,
        conversions: list[tuple[str, str, Convert | None]],
    ) -> None:
        self.arguments = arguments  # held: the plans key on its id
        self.config = config  # the schema's names: another schema of the same types converts by its own
        self.conversions = conversions

    def convert(self, value: Mapping[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for graphql_name, python_name, convert in self.conversions:
            if graphql_name in value:
                argument_value = value[graphql_name]
                kwargs[python_name] = argument_value if convert is None else convert(argument_value)
        return kwargs


# By the id of a field's argument list (Strawberry keeps one list per field): its plan.
_arguments_plans: dict[int, ArgumentsPlan] = {}


def _plan_arguments(schema: strawberry.Schema, planner: _Planner) -> None:
    """A plan for the arguments of every field whose argument types all have one, used from now
    on by Strawberry's `get_arguments` (`planned_convert_arguments` installed over the name it calls)."""
    for concrete in schema.schema_converter.type_map.values():
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_input:
            continue
        for field in definition.fields:
            arguments = field.arguments
            if not arguments:
                continue
            try:
                conversions = [
                    (
                        planner.config.name_converter.from_argument(argument),
                        argument.python_name,
                        planner.conversion(_plannable_argument_type(argument)),
                    )
                    for argument in arguments
                ]
            except _NotPlannableError:
                continue
            _arguments_plans[id(arguments)] = ArgumentsPlan(arguments, planner.config, conversions)
    schema_converter.convert_arguments = planned_convert_arguments


def _plannable_argument_type(argument: StrawberryArgument) -> StrawberryType | type:
    """The argument's type, unless it is a Maybe that may not be null (Strawberry refuses a null
    given for one: left to Strawberry, as `plan_fields` leaves such input fields)."""
    type_ = argument.type
    if isinstance(type_, StrawberryMaybe) and not isinstance(type_.of_type, StrawberryOptional):
        raise _NotPlannableError(f"argument {argument.python_name} is a Maybe that may not be null")
    return type_


def planned_convert_arguments(
    value: dict[str, Any],
    arguments: list[StrawberryArgument],
    scalar_registry: Mapping[object, Any],
    config: StrawberryConfig,
    info: Any = None,
) -> dict[str, Any]:
    """`convert_arguments` by the field's plan when it has one (the same keyword arguments: the
    tests compare both for every root field of the schema), else Strawberry's."""
    plan = _arguments_plans.get(id(arguments))
    if plan is not None and plan.arguments is arguments and plan.config is config:
        return plan.convert(value)
    return convert_arguments(value, arguments, scalar_registry, config, info)


def planned_definitions(schema: strawberry.Schema) -> list[StrawberryObjectDefinition]:
    """The input types of the schema that have a plan."""
    return [definition for definition in _input_definitions(schema) if _plan_of(definition) is not None]


def _input_definitions(schema: strawberry.Schema) -> list[StrawberryObjectDefinition]:
    return [
        concrete.definition
        for concrete in schema.schema_converter.type_map.values()
        if isinstance(concrete.definition, StrawberryObjectDefinition) and concrete.definition.is_input
    ]


def _plan_of(definition: StrawberryObjectDefinition) -> InputPlan | None:
    plan = getattr(definition.from_input, "__self__", None)
    return plan if isinstance(plan, InputPlan) else None
