"""Compiled execution: an operation's selection set planned once, then run without graphql-core's
per-field machinery (field collection, a Path and a resolve info for every field, the generic
value completion), producing the same result as graphql-core's executor, byte for byte.

graphql-core spends about 4.4 us completing each leaf of a response (a ledger page of 100 entries
is two thirds completion). Most of that is work that depends only on the document: which fields a
selection set holds, their definitions, return types and resolvers. A Program holds that work,
done once per operation of a parsed document (the parse cache hands the same document object to
every request with the same text) and per value of the variables that @include/@skip read, and
each request then only reads attributes, calls resolvers and serializes leaves.

What stays graphql-core's own, so that it behaves the same by construction:
- field collection (collect_fields / collect_subfields, run when a plan is first compiled, lazily
  per runtime type as graphql-core memoizes it), argument values (get_argument_values), variable
  coercion (done before execution, by the executor's build);
- the resolve info (the executor's build_resolve_info), error location and null propagation
  (handle_field_error and its collected errors), the response (build_response);
- anything the plan does not cover runs through the executor's own methods for that subtree:
  non-list iterables (complete_list_value), fields a plan cannot read.

Resolvers are called as graphql-core calls them: the GraphQL field's `resolve` (Strawberry's
wrapper, with its argument conversion, field extensions and exception handlers) with the source,
the info and the arguments. A Strawberry field without a resolver or extensions (a "basic" field,
whose wrapper only reads `getattr(source, python_name)`) is read directly. Awaitables are gathered
where graphql-core gathers them (siblings of an object, items of a list), so DataLoaders batch
the same keys.

Not compiled (graphql-core runs the whole document): subscriptions, introspection at the root
(`__schema`, `__type`), directives other than @include and @skip, operation directives, fragment
variables, field middleware, an abort signal.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from enum import EnumMeta
from typing import TYPE_CHECKING, Any, cast

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_argument_values,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_fields, collect_subfields
from graphql.execution.executor import Executor, invalid_return_type_error, to_nodes
from graphql.pyutils import Path, Undefined, gather_with_cancel
from graphql.type.definition import GraphQLAbstractType
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from strawberry.schema.schema_converter import GraphQLCoreConverter

from app.graphql.core.row_objects import RowForm, RowObjects
from app.kernel.settings import get_settings

if TYPE_CHECKING:
    from graphql.execution.types import ExecutionResult

# Whether compiled execution runs at all (`POINTLEDGER_COMPILED_EXECUTION`, read at start).
ENABLED = get_settings().compiled_execution
PROGRAMS_MAX = 1024  # the parse cache holds as many documents
PLAN_VARIANTS_MAX = 64  # distinct @include/@skip variable values planned per operation
CONDITION_DIRECTIVES = frozenset({"include", "skip"})
STRAWBERRY_FIELD = GraphQLCoreConverter.DEFINITION_BACKREF

# How a type completes (TypePlan.kind).
LEAF, LIST, OBJECT, ABSTRACT = range(4)


class UnsupportedError(Exception):
    """The document uses what compiled execution leaves to graphql-core."""


class TypePlan:
    """How to complete a value of one output type (the NonNull wrapper folded into `non_null`)."""

    __slots__ = (
        "coerce",
        "item",
        "kind",
        "member_names",
        "member_type",
        "non_null",
        "nullable_type",
        "object_selection",
        "passthrough_type",
        "runtime_selections",
        "type",
        "valid_types",
    )

    def __init__(self, type_: GraphQLOutputType, field_details_list: FieldDetailsList) -> None:
        self.type = type_  # as declared, NonNull included (what handle_field_error is given)
        self.non_null = is_non_null_type(type_)
        nullable: Any = get_nullable_type(type_)
        self.nullable_type = nullable
        self.coerce: Callable[[Any], Any] | None = None
        self.item: TypePlan | None = None
        self.object_selection: SelectionPlan | None = None
        self.runtime_selections: dict[str, SelectionPlan] = {}  # abstract: by runtime type name
        self.valid_types: dict[str, GraphQLObjectType] = {}  # abstract: names checked as possible types
        # Leaf values whose serialization is known without calling it: a str of String or ID is
        # itself; a member of a Strawberry enum's class is its name (found by a scan per value).
        self.passthrough_type: type | None = str if nullable is GraphQLString or nullable is GraphQLID else None
        self.member_type: type | None = None
        self.member_names: dict[Any, Any] = {}
        if is_leaf_type(nullable):
            self.kind = LEAF
            self.coerce = nullable.coerce_output_value
            member_type = getattr(nullable, "wrapped_cls", None)
            if isinstance(nullable, GraphQLEnumType) and isinstance(member_type, EnumMeta):
                self.member_type = member_type
                self.member_names = _names_of_members(member_type, self.coerce)
        elif is_list_type(nullable):
            self.kind = LIST
            self.item = TypePlan(nullable.of_type, field_details_list)
        elif is_abstract_type(nullable):
            self.kind = ABSTRACT
        elif is_object_type(nullable):
            self.kind = OBJECT
            self.object_selection = SelectionPlan(nullable, field_details_list)
        else:  # pragma: no cover - every output type is one of the above
            raise UnsupportedError(f"output type {nullable}")

    def needs_info(self) -> bool:
        """Whether completing this type reads the field's resolve info (a list or an abstract type
        hands it to graphql-core's methods or to resolve_type; an object to its is_type_of)."""
        if self.kind == LEAF:
            return False
        if self.kind == OBJECT:
            assert self.object_selection is not None
            return self.object_selection.object_type.is_type_of is not None
        return True


def _names_of_members(member_type: EnumMeta, coerce: Callable[[Any], Any]) -> dict[Any, Any]:
    names: dict[Any, Any] = {}
    for member in list(member_type):  # type: ignore[var-annotated]
        try:
            names[member] = coerce(member)
        except Exception:  # a member the schema does not name: serialized (and refused) per value
            continue
    return names


class FieldPlan:
    """One response key of a selection set: the field to run and how to complete its value."""

    __slots__ = (
        "attribute",
        "delegated",
        "field_def",
        "field_details_list",
        "first_node",
        "has_arguments",
        "leaf_coerce",
        "needs_info",
        "nodes",
        "null_message",
        "parent_type",
        "plan",
        "resolve",
        "response_name",
        "return_type",
        "typename",
    )

    def __init__(
        self, schema: GraphQLSchema, parent_type: GraphQLObjectType, response_name: str, details: FieldDetailsList
    ) -> None:
        self.response_name = response_name
        self.field_details_list = details
        self.first_node: FieldNode = details[0].node
        self.nodes = to_nodes(details)
        self.parent_type = parent_type
        field_name = self.first_node.name.value
        field_def = schema.get_field(parent_type, field_name)
        assert field_def is not None  # the caller skips unknown fields, as graphql-core does
        self.field_def: GraphQLField = field_def
        self.return_type = field_def.type
        self.typename: str | None = parent_type.name if field_def is TypeNameMetaFieldDef else None
        # graphql-core's own field execution, for a field this plan cannot read (a field of the
        # Query type met below the root: its __schema and __type).
        self.delegated = field_def is SchemaMetaFieldDef or field_def is TypeMetaFieldDef
        self.has_arguments = bool(field_def.args or self.first_node.arguments)
        self.resolve = field_def.resolve
        self.attribute = _basic_attribute(field_def, schema)
        self.null_message = f"Cannot return null for non-nullable field {parent_type}.{field_name}."
        self.plan = TypePlan(field_def.type, details)
        # A basic field of a leaf type completes inline (the common case of a page's rows).
        self.leaf_coerce = self.plan.coerce if self.attribute is not None and self.plan.kind == LEAF else None
        self.needs_info = self.attribute is None or self.plan.needs_info()


def _basic_attribute(field_def: GraphQLField, schema: GraphQLSchema) -> str | None:
    """The attribute a Strawberry basic field reads (its resolver is `_get_basic_result`, which
    returns `config.default_resolver(source, python_name)`), or None: call the resolver."""
    strawberry_field = (field_def.extensions or {}).get(STRAWBERRY_FIELD)
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if (
        strawberry_field is None
        or strawberry_schema is None
        or strawberry_schema.config.default_resolver is not getattr
        or getattr(field_def.resolve, "__name__", None) != "_get_basic_result"
        or not strawberry_field.is_basic_field
    ):
        return None
    return str(strawberry_field.python_name)


RowReader = Callable[[Any, Any], dict[str, Any] | None]
"""A row's completed fields from the row and the rows' context; None: the item needs its object."""


def _row_reader_for(selection: SelectionPlan, fields: list[FieldPlan], form: RowForm[Any, Any]) -> RowReader | None:
    """How `form` serves a selection (core/row_objects.py): each basic leaf field by the form's
    function for its attribute, __typename as itself; None when it cannot (a field it does not
    read, one with a resolver, arguments or subfields, an object type that checks its values)."""
    if selection.object_type.is_type_of is not None:
        return None
    for field in fields:
        if field.typename is None and (field.leaf_coerce is None or field.has_arguments or field.attribute not in form):
            return None
    return _row_reader(fields, form)


def _row_reader(fields: list[FieldPlan], form: RowForm[Any, Any]) -> RowReader:
    """A row's fields completed by one function written for these fields: per field its reader's
    call, then the checks `Execution.execute_fields` makes of a basic leaf's value (passthrough
    type, enum member, null, error, the scalar's coerce), only those its type needs; then the dict
    in response order, __typename in its place. None when any field needs the object's own
    completion (a reader or coerce raising, a null for a non-null field, a refused value). As a
    loop over the fields (each field's plan unpacked, every check paid) it cost a page of 100
    6-8% more CPU. The source holds only the names it binds, and response and type names (GraphQL
    allows letters, digits and underscores) as literals."""
    names: dict[str, Any] = {"Undefined": Undefined}
    lines = ["def read_row(row, context):", "    try:"]
    values = []
    for index, field in enumerate(fields):
        key, typename, plan = field.response_name, field.typename, field.plan
        assert key.isidentifier(), "a GraphQL response name"
        if typename is not None:
            assert typename.isidentifier(), "a GraphQL type name"
            values.append(f"{key!r}: {typename!r}")
            continue
        value = f"v{index}"
        names[f"read{index}"] = form[field.attribute]  # type: ignore[index]
        lines.append(f"        {value} = read{index}(row, context)")
        branches: list[tuple[str, list[str]]] = []
        if plan.passthrough_type is not None:
            names[f"passthrough{index}"] = plan.passthrough_type
            branches.append((f"type({value}) is passthrough{index}", []))
        if plan.member_type is not None:
            names[f"members{index}"], names[f"names{index}"] = plan.member_type, plan.member_names
            branches.append(
                (
                    f"type({value}) is members{index}",
                    [f"{value} = names{index}.get({value})", f"if {value} is None: return None"],
                )
            )
        branches.append((f"{value} is None", ["return None"] if plan.non_null else []))
        branches.append((f"isinstance({value}, Exception)", ["return None"]))
        names[f"coerce{index}"] = field.leaf_coerce
        for number, (condition, body) in enumerate(branches):
            lines.append(f"        {'if' if number == 0 else 'elif'} {condition}:")
            lines.extend(f"            {line}" for line in body or ["pass"])
        lines.append("        else:")
        lines.append(f"            {value} = coerce{index}({value})")
        lines.append(f"            if {value} is None or {value} is Undefined: return None")
        values.append(f"{key!r}: {value}")
    lines.append("    except Exception:")
    lines.append("        return None")
    lines.append(f"    return {{{', '.join(values)}}}")
    # Run once per plan, on source made of the bound names and literals above (no request's text)
    exec("\n".join(lines), names)
    return cast(RowReader, names["read_row"])


class SelectionPlan:
    """The fields of one object type under one field's selection set, collected on first use (as
    graphql-core memoizes collect_subfields, so a collection error surfaces where it would)."""

    __slots__ = ("field_details_list", "fields", "object_type", "row_readers", "type_name")

    def __init__(self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList | None) -> None:
        self.object_type = object_type
        self.type_name = object_type.name
        self.field_details_list = field_details_list  # None: the operation's root selection set
        self.fields: list[FieldPlan] | None = None
        # By the id of a row form: the form (held, so that the id stays its own) and its reader.
        self.row_readers: dict[int, tuple[RowForm[Any, Any], RowReader | None]] = {}

    def row_reader(self, executor: Executor, form: RowForm[Any, Any]) -> RowReader | None:
        """How `form` serves this selection, written once per form (None: it cannot)."""
        found = self.row_readers.get(id(form))
        if found is not None:
            return found[1]
        try:
            fields = self.fields if self.fields is not None else self.compile(executor)
        except Exception:  # a collection error: reported where the items' completion meets it
            return None
        reader = _row_reader_for(self, fields, form)
        self.row_readers[id(form)] = (form, reader)
        return reader

    def compile(self, executor: Executor) -> list[FieldPlan]:
        schema = executor.schema
        if self.field_details_list is None:
            collected = collect_fields(
                schema,
                executor.fragments,
                executor.variable_values,
                self.object_type,
                executor.operation,
                executor.hide_suggestions,
            )
        else:
            collected = collect_subfields(
                schema,
                executor.fragments,
                executor.variable_values,
                executor.operation,
                self.object_type,
                self.field_details_list,
                executor.hide_suggestions,
            )
        if collected.new_defer_usages:
            raise UnsupportedError("@defer")
        fields = [
            FieldPlan(schema, self.object_type, response_name, details)
            for response_name, details in collected.grouped_field_set.items()
            if schema.get_field(self.object_type, details[0].node.name.value) is not None
        ]
        self.fields = fields
        return fields


class Program:
    """One operation of one parsed document, against one schema: its root plans, one for each
    value of the variables its @include and @skip directives read."""

    __slots__ = ("condition_variables", "operation", "roots", "schema", "supported")

    def __init__(self, schema: GraphQLSchema, executor: Executor) -> None:
        self.schema = schema  # held: the cache keys on its id and the operation's
        self.operation = executor.operation
        self.roots: dict[tuple[Any, ...], SelectionPlan] = {}
        variables: list[str] = []
        self.supported = _supported(executor, variables)
        self.condition_variables = tuple(dict.fromkeys(variables))

    def root_for(self, executor: Executor) -> SelectionPlan | None:
        coerced = executor.variable_values.coerced
        try:
            key = tuple(coerced.get(name) for name in self.condition_variables)
            root = self.roots.get(key)
        except TypeError:  # an unhashable value: no plan to keep for it
            return None
        if root is not None:
            return root
        if len(self.roots) >= PLAN_VARIANTS_MAX:
            return None
        root_type = self.schema.get_root_type(self.operation.operation)
        if root_type is None:
            return None
        root = SelectionPlan(root_type, None)
        try:
            fields = root.compile(executor)
        except Exception:  # a collection error (or what no plan covers): graphql-core reports it
            return None
        if any(field.delegated for field in fields):
            return None  # introspection: graphql-core runs the document
        self.roots[key] = root
        return root


def _supported(executor: Executor, condition_variables: list[str]) -> bool:
    """Whether the operation uses only what compiled execution covers; gathers the variables
    @include/@skip read."""
    operation: OperationDefinitionNode = executor.operation
    if operation.operation is OperationType.SUBSCRIPTION or operation.directives:
        return False
    if any(definition.directives for definition in operation.variable_definitions or ()):
        return False
    for details in executor.fragments.values():
        definition = details.definition
        if details.variable_signatures or definition.variable_definitions or definition.directives:
            return False
        if not _selections_supported(definition.selection_set, condition_variables):
            return False
    return _selections_supported(operation.selection_set, condition_variables)


def _selections_supported(selection_set: SelectionSetNode | None, condition_variables: list[str]) -> bool:
    for selection in selection_set.selections if selection_set else ():
        for directive in selection.directives or ():
            if directive.name.value not in CONDITION_DIRECTIVES:
                return False
            condition_variables.extend(
                argument.value.name.value
                for argument in directive.arguments or ()
                if isinstance(argument.value, VariableNode)
            )
        if isinstance(selection, FieldNode | InlineFragmentNode) and not _selections_supported(
            selection.selection_set, condition_variables
        ):
            return False
        if not isinstance(selection, FieldNode | InlineFragmentNode | FragmentSpreadNode):
            return False
    return True


_programs: OrderedDict[tuple[int, int], Program] = OrderedDict()


def program_for(executor: Executor) -> SelectionPlan | None:
    """The root plan to run for this executor's operation and variables, or None: let graphql-core
    run it."""
    if not ENABLED or executor.abort_signal is not None or not _without_middleware(executor):
        return None
    schema = executor.schema
    key = (id(schema), id(executor.operation))
    program = _programs.get(key)
    if program is None:
        program = Program(schema, executor)
        _programs[key] = program
        if len(_programs) > PROGRAMS_MAX:
            _programs.popitem(last=False)
    else:
        _programs.move_to_end(key)
    return program.root_for(executor) if program.supported else None


def _without_middleware(executor: Executor) -> bool:
    manager = executor.middleware_manager
    return manager is None or manager.get_field_resolver(_without_middleware) is _without_middleware


def execute_compiled(executor: Executor, root: SelectionPlan) -> ExecutionResult | Awaitable[ExecutionResult]:
    """Run the operation from its root plan: what Executor.execute_operation does, with the
    compiled field execution below it."""
    return Execution(executor).execute_operation(root)


class Execution:
    """One request's run of a program: the executor gives the request state (context, variables,
    collected errors) and graphql-core's methods for what the plan hands back to it."""

    __slots__ = ("executor", "is_awaitable", "schema")

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.is_awaitable = executor.is_awaitable
        self.schema = executor.schema

    def execute_operation(self, root: SelectionPlan) -> Any:
        executor = self.executor
        try:
            if executor.operation.operation is OperationType.MUTATION:
                result = self.execute_fields_serially(root, executor.root_value)
            else:
                result = self.execute_fields(root, executor.root_value, None)
            if self.is_awaitable(result):

                async def await_result() -> Any:
                    try:
                        data = await result
                    except GraphQLError as error:
                        executor.collected_errors.add(error, None)
                        return executor.build_response(None)
                    except Exception:
                        await executor.cancel_incremental_work()
                        executor.run_async_work_finished_hook()
                        raise
                    return executor.build_response(data)

                return await_result()
            data = result
        except GraphQLError as error:
            executor.collected_errors.add(error, None)
            return executor.finish(executor.build_response(None))
        return executor.finish(executor.build_response(data))

    def execute_fields_serially(self, selection: SelectionPlan, source: Any) -> Any:
        """Mutation root fields, one after the other (graphql-core's async_reduce)."""
        fields = selection.fields if selection.fields is not None else selection.compile(self.executor)
        is_awaitable = self.is_awaitable

        def reducer(results: dict[str, Any], field: FieldPlan) -> Any:
            result = self.execute_field(selection, field, source, None)
            if result is Undefined:
                return results
            if is_awaitable(result):

                async def set_result() -> dict[str, Any]:
                    results[field.response_name] = await result
                    return results

                return set_result()
            results[field.response_name] = result
            return results

        accumulator: Any = {}
        for field in fields:
            if is_awaitable(accumulator):

                async def chained(previous: Any, field: FieldPlan = field) -> Any:
                    reduced = reducer(await previous, field)
                    return await reduced if is_awaitable(reduced) else reduced

                accumulator = chained(accumulator)
            else:
                accumulator = reducer(accumulator, field)
        return accumulator

    def execute_fields(self, selection: SelectionPlan, source: Any, path: Path | None) -> Any:
        """An object's fields, siblings' awaitables gathered (graphql-core's execute_fields); basic
        fields of leaf types inline."""
        executor = self.executor
        fields = selection.fields if selection.fields is not None else selection.compile(executor)
        is_awaitable = self.is_awaitable
        type_name = selection.type_name
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        try:
            for field in fields:
                key = field.response_name
                if field.typename is not None:
                    results[key] = field.typename
                    continue
                coerce = field.leaf_coerce
                if coerce is not None:
                    try:
                        value = getattr(source, field.attribute)  # type: ignore[arg-type]
                        plan = field.plan
                        value_type = type(value)
                        if value_type is plan.passthrough_type:
                            results[key] = value
                            continue
                        if value_type is plan.member_type:
                            results[key] = plan.member_names[value]
                            continue
                        if value is None:
                            if field.plan.non_null:
                                raise TypeError(field.null_message)
                            results[key] = None
                            continue
                        if isinstance(value, Exception):
                            raise value
                        coerced = coerce(value)
                        if coerced is None or coerced is Undefined:
                            Executor.complete_leaf_value(field.plan.nullable_type, value)  # raises its error
                        results[key] = coerced
                    except Exception as raw_error:
                        executor.handle_field_error(
                            raw_error, field.return_type, field.field_details_list, Path(path, key, type_name)
                        )
                        results[key] = None
                    continue
                result = self.execute_field(selection, field, source, path)
                if result is Undefined:
                    continue
                results[key] = result
                if is_awaitable(result):
                    awaitable_fields.append(key)
        except Exception:
            if awaitable_fields:
                executor.settle_in_background([results[key] for key in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                key = awaitable_fields[0]
                results[key] = await results[key]
            else:
                awaited = await gather_with_cancel(*(results[key] for key in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def execute_field(self, selection: SelectionPlan, field: FieldPlan, source: Any, path: Path | None) -> Any:
        """One field (graphql-core's execute_field): resolve, then complete."""
        executor = self.executor
        field_path = Path(path, field.response_name, selection.type_name)
        if field.typename is not None:
            return field.typename
        if field.delegated:
            return executor.execute_field(selection.object_type, source, field.field_details_list, field_path, None)
        info = (
            executor.build_resolve_info(field.field_def, field.nodes, selection.object_type, field_path)
            if field.needs_info
            else None
        )
        try:
            if field.attribute is not None:
                result = getattr(source, field.attribute)
            else:
                arguments = (
                    get_argument_values(
                        field.field_def,
                        field.first_node,
                        executor.variable_values,
                        field.field_details_list[0].fragment_variable_values,
                        executor.hide_suggestions,
                    )
                    if field.has_arguments
                    else {}
                )
                assert field.resolve is not None
                result = field.resolve(source, info, **arguments)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(field, info, field_path, result)
            completed = self.complete_value(field.plan, field, info, field_path, result)
            if self.is_awaitable(completed):
                return self.await_completed(completed, field.return_type, field, field_path)
        except Exception as raw_error:
            executor.handle_field_error(raw_error, field.return_type, field.field_details_list, field_path)
            return None
        return completed

    async def await_completed(self, completed: Any, return_type: Any, field: FieldPlan, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, return_type, field.field_details_list, path)
            return None

    async def complete_awaitable_value(self, field: FieldPlan, info: Any, path: Path, result: Any) -> Any:
        try:
            resolved = await result
            completed = self.complete_value(field.plan, field, info, path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, field.return_type, field.field_details_list, path)
            completed = None
        return completed

    def complete_value(self, plan: TypePlan, field: FieldPlan, info: Any, path: Path, result: Any) -> Any:
        """graphql-core's complete_value, on a planned type."""
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if plan.non_null:
                raise TypeError(field.null_message)
            return None
        kind = plan.kind
        if kind == LEAF:
            value_type = type(result)
            if value_type is plan.passthrough_type:
                return result
            if value_type is plan.member_type:
                return plan.member_names[result]
            assert plan.coerce is not None
            coerced = plan.coerce(result)
            if coerced is None or coerced is Undefined:
                Executor.complete_leaf_value(plan.nullable_type, result)  # raises its error
            return coerced
        if kind == OBJECT:
            assert plan.object_selection is not None
            return self.complete_object_value(plan.object_selection, field, info, path, result)
        if kind == LIST:
            return self.complete_list_value(plan, field, info, path, result)
        return self.complete_abstract_value(plan, field, info, path, result)

    def complete_list_value(self, plan: TypePlan, field: FieldPlan, info: Any, path: Path, result: Any) -> Any:
        executor = self.executor
        item_plan = plan.item
        assert item_plan is not None
        rows: RowObjects[Any, Any, Any] | None = None
        read_row: RowReader | None = None
        if type(result) is RowObjects:
            # The rows, each built only when it needs to be (when it is reached, as graphql-core
            # builds them by iterating): `read_row` reads the selected fields from a row instead.
            rows, result = result, result.rows
            selection = item_plan.object_selection
            read_row = selection.row_reader(executor, rows.form) if selection is not None else None
        elif type(result) is not list and type(result) is not tuple:  # iterables and async iterables: graphql-core's
            return executor.complete_list_value(plan.nullable_type, field.field_details_list, info, path, result, None)
        is_awaitable = self.is_awaitable
        completed_results: list[Any] = []
        append = completed_results.append
        awaitable_indices: list[int] = []
        index = 0
        try:
            for index, item in enumerate(result):  # the index is read after an exception
                if rows is not None:
                    if read_row is not None:
                        from_row = read_row(item, rows.context)
                        if from_row is not None:
                            append(from_row)
                            continue
                    item = rows.build(item, rows.context)
                item_path = Path(path, index, None)
                if is_awaitable(item):
                    append(self.complete_awaitable_list_item_value(item, item_plan, field, info, item_path))
                    awaitable_indices.append(index)
                    continue
                try:
                    completed = self.complete_value(item_plan, field, info, item_path, item)
                    if is_awaitable(completed):
                        append(self.await_completed(completed, item_plan.type, field, item_path))
                        awaitable_indices.append(index)
                    else:
                        append(completed)
                except Exception as raw_error:
                    executor.handle_field_error(raw_error, item_plan.type, field.field_details_list, item_path)
                    append(None)
        except Exception:
            pending = [completed_results[position] for position in awaitable_indices]
            pending.extend(item for item in result[index + 1 :] if is_awaitable(item))
            if pending:
                executor.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed_results

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                position = awaitable_indices[0]
                completed_results[position] = await completed_results[position]
            else:
                awaited = await gather_with_cancel(*(completed_results[position] for position in awaitable_indices))
                for position, value in zip(awaitable_indices, awaited, strict=True):
                    completed_results[position] = value
            return completed_results

        return get_completed_results()

    async def complete_awaitable_list_item_value(
        self, item: Any, item_plan: TypePlan, field: FieldPlan, info: Any, item_path: Path
    ) -> Any:
        try:
            resolved = await item
            completed = self.complete_value(item_plan, field, info, item_path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, item_plan.type, field.field_details_list, item_path)
            return None
        return completed

    def complete_abstract_value(self, plan: TypePlan, field: FieldPlan, info: Any, path: Path, result: Any) -> Any:
        abstract_type: GraphQLAbstractType = plan.nullable_type
        resolve_type = abstract_type.resolve_type or self.executor.type_resolver
        runtime_type = resolve_type(result, info, abstract_type)
        if self.is_awaitable(runtime_type):

            async def await_complete_object_value() -> Any:
                selection = self.runtime_selection(plan, field, info, result, await runtime_type)
                value = self.complete_object_value(selection, field, info, path, result)
                return await value if self.is_awaitable(value) else value

            return await_complete_object_value()
        selection = self.runtime_selection(plan, field, info, result, runtime_type)
        return self.complete_object_value(selection, field, info, path, result)

    def runtime_selection(self, plan: TypePlan, field: FieldPlan, info: Any, result: Any, name: Any) -> SelectionPlan:
        """The plan of the object type an abstract value resolved to (checked once per name, as
        graphql-core's ensure_valid_runtime_type checks it every time)."""
        object_type = plan.valid_types.get(name) if isinstance(name, str) else None
        if object_type is None:
            object_type = self.executor.ensure_valid_runtime_type(
                name, plan.nullable_type, field.field_details_list, info, result
            )
            plan.valid_types[object_type.name] = object_type
        selection = plan.runtime_selections.get(object_type.name)
        if selection is None:
            selection = plan.runtime_selections[object_type.name] = SelectionPlan(object_type, field.field_details_list)
        return selection

    def complete_object_value(
        self, selection: SelectionPlan, field: FieldPlan, info: Any, path: Path, result: Any
    ) -> Any:
        object_type = selection.object_type
        if object_type.is_type_of:
            is_type_of = object_type.is_type_of(result, info)
            if self.is_awaitable(is_type_of):

                async def execute_subfields_async() -> Any:
                    if not await is_type_of:
                        raise invalid_return_type_error(object_type, result, field.field_details_list)
                    fields = self.execute_fields(selection, result, path)
                    return await fields if self.is_awaitable(fields) else fields

                return execute_subfields_async()
            if not is_type_of:
                raise invalid_return_type_error(object_type, result, field.field_details_list)
        return self.execute_fields(selection, result, path)
