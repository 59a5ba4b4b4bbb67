"""Every root field (Query and Mutation) runs only for a key holding one of its roles.

The roles come from the one table in app/organizations/roles.py. The check wraps graphql-core's
resolver of each root field once, when the schema is built: it runs before Strawberry converts
the arguments (a refused call costs a set lookup, and a refused caller learns nothing about its
input), and outside the field's error union, so a refusal is always a FORBIDDEN entry in the
response's `errors` with `data` null for that field. A root field the table does not list
stops the schema from being built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo

from app.organizations.roles import Role, RoleRequiredError, roles_for


def _guarded(resolve: Callable[..., Any], operation: str, roles: frozenset[Role]) -> Callable[..., Any]:
    def guarded(source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        if roles.isdisjoint(info.context.roles):
            raise RoleRequiredError(operation, roles)
        return resolve(source, info, **arguments)

    return guarded


def guard_root_fields(schema: strawberry.Schema) -> None:
    """Wrap every Query and Mutation field's resolver with its role check (once, at build)."""
    wrap_root_fields(schema, _guarded)


def guard_subscription_fields(schema: strawberry.Schema) -> None:
    """The same check on every Subscription field, when a subscription starts (its roles are
    those of the query it streams: OPERATION_ROLES lists them by field name)."""
    subscription_type = schema._schema.subscription_type
    for name, field in subscription_type.fields.items() if subscription_type else ():
        assert field.subscribe is not None
        field.subscribe = _guarded(field.subscribe, name, roles_for(name))


def wrap_root_fields(
    schema: strawberry.Schema, wrap: Callable[[Callable[..., Any], str, frozenset[Role]], Callable[..., Any]]
) -> None:
    """Replace every Query and Mutation field's graphql-core resolver by `wrap(resolver, field
    name, the roles that may call it)`."""
    root_types: list[GraphQLObjectType | None] = [schema._schema.query_type, schema._schema.mutation_type]
    for root_type in filter(None, root_types):
        for name, field in root_type.fields.items():
            assert field.resolve is not None
            field.resolve = wrap(field.resolve, name, roles_for(name))
