"""What one GraphQL document may ask for: depth, aliases and cost, refused at validation, before
anything runs (and cached with the validation, so a document is measured once).

Each fragment is measured once and its measure reused at every spread, so the work is linear in
the document: a fragment that spreads the next one twice, thirty levels down, is measured in
thirty steps and refused for its cost, where walking every spread (Strawberry's own depth and
alias limiters) takes 2^30 steps and never answers.

The cost is an upper bound of the fields the response can hold: a field costs 1, plus what it
selects times its page size when it is a page (a `first` argument: its literal value, the
page-size maximum when it comes from a variable, else its default). Variables are not read, so
the bound holds for any values and the measure can be cached with the document.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
)
from graphql.language import DocumentNode, VisitorAction
from graphql.language.visitor import SKIP
from strawberry.extensions import SchemaExtension

from app.kernel.errors import ValidationError
from app.organizations.roles import Role, parse_roles

PAGE_SIZE_ARGUMENT = "first"


@dataclass(frozen=True)
class QueryLimits:
    depth_max: int = 12  # nesting of fields, counted from 0 at the operation's own fields
    aliases_max: int = 50
    cost_max: int = 25_000
    page_size_max: int = 100  # what a `first` given by a variable may be at most
    list_length_max: int = 1000  # items of a list written in the document (no input takes more)
    tokens_max: int = 5000  # the parser stops there: a huge document is refused before it is built


# What POINTLEDGER_QUERY_LIMITS_BY_ROLE may raise (or lower) for a key role.
SETTING = "POINTLEDGER_QUERY_LIMITS_BY_ROLE"
PER_ROLE = ("depth_max", "aliases_max", "cost_max")


class QueryLimitsByRole:
    """A key's limits: per measure, the most generous of its roles' (a role the settings do not
    name has the defaults), so that an admin key may be given larger reports than a till's."""

    def __init__(self, overrides: Mapping[str, Mapping[str, int]]) -> None:
        self.base = QueryLimits()
        self._by_role: dict[Role, QueryLimits] = {}
        for name, values in overrides.items():
            (role,) = parse_roles([name], field=SETTING)
            unknown = set(values) - set(PER_ROLE)
            if unknown or any(not isinstance(value, int) or value < 1 for value in values.values()):
                raise ValidationError(f"give {', '.join(PER_ROLE)} as whole numbers from 1", field=f"{SETTING}.{name}")
            self._by_role[role] = replace(self.base, **values)
        self._by_roles: dict[frozenset[Role], QueryLimits] = {}

    def for_roles(self, roles: frozenset[Role]) -> QueryLimits:
        found = self._by_roles.get(roles)
        if found is None:
            each = [self._by_role.get(role, self.base) for role in roles] or [self.base]
            found = replace(
                self.base, **{measure: max(getattr(limits, measure) for limits in each) for measure in PER_ROLE}
            )
            self._by_roles[roles] = found
        return found


class CallerQueryLimits(SchemaExtension):
    """Parses and validates each document within the limits of the caller's key
    (`context.query_limits`). One extension for all of them: each hook costs every request a few
    microseconds."""

    def on_operation(self) -> Iterator[None]:
        execution_context = self.execution_context
        limits = execution_context.context.query_limits
        execution_context.parse_options["max_tokens"] = limits.tokens_max
        execution_context.validation_rules = (*execution_context.validation_rules, query_limits_rule(limits))
        yield


@dataclass(frozen=True)
class Measure:
    depth: int = -1  # -1: no field at all
    aliases: int = 0
    cost: int = 0

    def beside(self, other: Measure) -> Measure:
        """Two selections of one selection set."""
        return Measure(max(self.depth, other.depth), self.aliases + other.aliases, self.cost + other.cost)


NOTHING = Measure()


class _Measurer:
    def __init__(self, schema: Any, fragments: dict[str, FragmentDefinitionNode], page_size_max: int) -> None:
        self.schema = schema
        self.fragments = fragments
        self.page_size_max = page_size_max
        self.measured: dict[str, Measure] = {}
        self.measuring: set[str] = set()  # a fragment that spreads itself: another rule refuses the cycle

    def selection_set(self, selection_set: SelectionSetNode | None, parent: Any) -> Measure:
        total = NOTHING
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total = total.beside(self.field(selection, parent))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total = total.beside(self.selection_set(selection.selection_set, inner))
            elif isinstance(selection, FragmentSpreadNode):
                total = total.beside(self.fragment(selection.name.value))
        return total

    def fragment(self, name: str) -> Measure:
        if name in self.measured:
            return self.measured[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.measuring:
            return NOTHING  # unknown or cyclic: refused by graphql's own rules
        self.measuring.add(name)
        measure = self.selection_set(
            definition.selection_set, self.schema.get_type(definition.type_condition.name.value)
        )
        self.measuring.discard(name)
        self.measured[name] = measure
        return measure

    def field(self, node: FieldNode, parent: Any) -> Measure:
        aliases = 1 if node.alias else 0
        name = node.name.value
        definition = parent.fields.get(name) if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else None
        if definition is None:  # introspection (__typename, __schema) and unknown fields: other rules judge them
            return Measure(depth=0, aliases=aliases, cost=0)
        selected = self.selection_set(node.selection_set, get_named_type(definition.type))
        return Measure(
            depth=selected.depth + 1,
            aliases=aliases + selected.aliases,
            cost=1 + self.page_size(node, definition) * selected.cost,
        )

    def page_size(self, node: FieldNode, definition: Any) -> int:
        argument = definition.args.get(PAGE_SIZE_ARGUMENT)
        if argument is None:
            return 1
        given = next((item.value for item in node.arguments or () if item.name.value == PAGE_SIZE_ARGUMENT), None)
        if given is None:
            default = argument.default_value
            return max(default, 1) if isinstance(default, int) else self.page_size_max
        if isinstance(given, IntValueNode):
            return max(int(given.value), 1)
        return self.page_size_max  # a variable: any value up to the maximum


@functools.cache
def query_limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    """A validation rule enforcing `limits` (a class, as graphql-core takes its rules). One class
    per distinct limits: the validation cache keys on the rule classes, so a class made per
    request would make every request a cache miss."""

    class QueryLimitsRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> VisitorAction:
            fragments = {item.name.value: item for item in node.definitions if isinstance(item, FragmentDefinitionNode)}
            measurer = _Measurer(self.context.schema, fragments, limits.page_size_max)
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    root = self.context.schema.get_root_type(definition.operation)
                    self.check(definition, measurer.selection_set(definition.selection_set, root))
            return None

        def enter_list_value(self, node: ListValueNode, *_: Any) -> VisitorAction:
            if len(node.values) <= limits.list_length_max:
                return None
            self.report_error(
                GraphQLError(
                    f"A list of {len(node.values):,} items: at most {limits.list_length_max:,}.",
                    node,
                    extensions={"code": "QUERY_TOO_COMPLEX"},
                )
            )
            return SKIP  # its items are not looked at

        def check(self, operation: OperationDefinitionNode, measure: Measure) -> None:
            name = f"'{operation.name.value}'" if operation.name else "The operation"
            # The first two messages are Strawberry's limiters' own, which clients already read.
            if measure.depth > limits.depth_max:
                self.refuse(operation, f"{name} exceeds maximum operation depth of {limits.depth_max}")
            if measure.aliases > limits.aliases_max:
                self.refuse(operation, f"{measure.aliases} aliases found. Allowed: {limits.aliases_max}")
            if measure.cost > limits.cost_max:
                self.refuse(
                    operation,
                    f"{name} may return {measure.cost:,} fields, more than {limits.cost_max:,}: each page multiplies "
                    "what it selects by its size (first); ask for fewer fields or smaller pages",
                )

        def refuse(self, operation: OperationDefinitionNode, message: str) -> None:
            self.report_error(GraphQLError(message, operation, extensions={"code": "QUERY_TOO_COMPLEX"}))

    return QueryLimitsRule
