"""Roles on API keys: every GraphQL root field and every /imports route runs only for a key
holding one of the roles app/organizations/roles.py gives it, and refuses others with FORBIDDEN
naming those roles. The operations are read from the schema and the app's routes, so a new
operation is covered (and one the table does not list stops the schema or the app from building).
"""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
)
from starlette.routing import Route

from app.graphql.core.permissions import guard_root_fields
from app.graphql.core.schema import schema
from app.http.app import create_app
from app.kernel.settings import Settings
from app.organizations.roles import ALL_ROLES, OPERATION_ROLES, Role, UndeclaredOperationError, roles_for
from tests.client import Credentials
from tests.conftest import make_key
from tests.factories import bill, new_mobile
from tests.snapshots import table_counts

ROOT_TYPES: list[tuple[str, GraphQLObjectType]] = [
    ("query", schema._schema.query_type),  # type: ignore[list-item]
    ("mutation", schema._schema.mutation_type),  # type: ignore[list-item]
]
ROOT_FIELDS = [(operation, name, field) for operation, root in ROOT_TYPES for name, field in root.fields.items()]
# Subscriptions run over WebSocket: tests/test_subscriptions.py checks their roles there.
SUBSCRIPTION_FIELDS = set(schema._schema.subscription_type.fields) if schema._schema.subscription_type else set()

# Values that pass GraphQL's variable coercion (what the role check needs to be reached); whether
# the operation then accepts them is not the point here.
SCALAR_SAMPLES: dict[str, Any] = {
    "String": "x",
    "ID": "1",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Decimal": "1",
    "Date": "2026-01-01",
    "DateTime": "2026-01-01T00:00:00+00:00",
    "JSON": {},
    "Upload": "x",
}


def sample(graphql_type: GraphQLInputType) -> Any:
    if isinstance(graphql_type, GraphQLNonNull):
        return sample(graphql_type.of_type)
    if isinstance(graphql_type, GraphQLList):
        return []
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLInputObjectType):
        fields = graphql_type.fields.items()
        if graphql_type.is_one_of:
            name, field = next(iter(fields))
            return {name: sample(field.type)}
        return {name: sample(field.type) for name, field in fields if isinstance(field.type, GraphQLNonNull)}
    return SCALAR_SAMPLES[graphql_type.name]  # type: ignore[attr-defined]


def document(operation: str, name: str, field: GraphQLField) -> tuple[str, dict[str, Any]]:
    """A document calling the root field with every required argument (as a variable)."""
    required = {argument: spec for argument, spec in field.args.items() if isinstance(spec.type, GraphQLNonNull)}
    declared = ", ".join(f"${argument}: {spec.type}" for argument, spec in required.items())
    passed = ", ".join(f"{argument}: ${argument}" for argument in required)
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    signature = f"({declared})" if declared else ""
    call = f"{name}({passed})" if passed else name
    text = f"{operation} Call{signature} {{ {call}{selection} }}"
    return text, {argument: sample(spec.type) for argument, spec in required.items()}


def forbidden_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [error for error in body.get("errors", []) if error.get("extensions", {}).get("code") == "FORBIDDEN"]


def role_names(roles: frozenset[Role]) -> list[str]:
    return sorted(role.value for role in roles)


@pytest.fixture
async def keys_by_role(database, org) -> dict[Role, Credentials]:
    return {role: await make_key(database, org.org_id, frozenset({role}), role.value) for role in Role}


@pytest.mark.parametrize(("operation", "name", "field"), ROOT_FIELDS, ids=[name for _, name, _ in ROOT_FIELDS])
async def test_each_root_field_runs_for_its_roles_only(api, keys_by_role, operation, name, field):
    text, variables = document(operation, name, field)
    needed = roles_for(name)
    refusals: dict[Role, list[dict[str, Any]]] = {}

    for role, key in keys_by_role.items():
        refusals[role] = forbidden_errors(await api.post(text, variables, credentials=key))

    for role, refused in refusals.items():
        if role in needed:
            assert refused == [], (role, refused)
        else:
            roles_text = (
                f"the role {role_names(needed)[0]}"
                if len(needed) == 1
                else f"one of the roles {', '.join(role_names(needed))}"
            )
            assert refused == [
                {
                    "message": f"{name} needs an API key with {roles_text}",
                    "locations": [{"line": 1, "column": text.index("{ " + name) + 3}],
                    "path": [name],
                    "extensions": {"code": "FORBIDDEN", "roles": role_names(needed)},
                }
            ], role


async def test_a_refused_field_is_null_and_the_allowed_fields_beside_it_still_run(api, keys_by_role):
    body = await api.post(
        'query { organization { code } importJob(id: "1") { status } }', credentials=keys_by_role[Role.TILL]
    )

    assert body["data"] == {"organization": {"code": "acme"}, "importJob": None}
    assert [(error["path"], error["extensions"]["code"]) for error in body["errors"]] == [(["importJob"], "FORBIDDEN")]


async def test_a_refused_mutation_writes_nothing(api, keys_by_role):
    before = await table_counts(api.database)
    body = await api.post(
        "mutation Add($input: TransactionAddInput!) { addTransaction(input: $input) { __typename } }",
        {"input": bill(customer={"mobile": new_mobile()})},
        credentials=keys_by_role[Role.APP],
    )

    assert body["data"] is None
    assert forbidden_errors(body)[0]["message"] == "addTransaction needs an API key with the role till"
    assert await table_counts(api.database) == before


def test_the_table_lists_exactly_the_root_fields_and_the_import_routes(database):
    application = create_app(Settings(database_url=database.url), database=database)
    routes = {
        f"{method} {route.path}"
        for route in application.routes
        if isinstance(route, Route) and route.path.startswith(("/imports", "/downloads", "/v1"))
        for method in (route.methods or set()) - {"HEAD"}
    }

    assert set(OPERATION_ROLES) == {name for _, name, _ in ROOT_FIELDS} | SUBSCRIPTION_FIELDS | routes
    assert all(OPERATION_ROLES.values()), "every operation is open to at least one role"


def test_a_root_field_without_roles_stops_the_schema_from_building():
    @strawberry.type
    class Query:
        @strawberry.field
        def organization(self) -> str:
            return "declared"

        @strawberry.field
        def somethingNew(self) -> str:  # noqa: N802  (a GraphQL name, as a new operation would bring)
            return "undeclared"

    with pytest.raises(UndeclaredOperationError, match="somethingNew declares no roles"):
        guard_root_fields(strawberry.Schema(query=Query))


# --- /imports routes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/imports/points?program=main"),
        ("POST", "/imports/promotion"),
        ("POST", "/imports/tracker"),
        ("GET", "/imports/1"),
        ("GET", "/imports/1/rejects.csv"),
        ("GET", "/imports/1/corrections.csv"),
    ],
)
async def test_each_import_route_is_forbidden_without_the_admin_role(client_api, keys_by_role, method, path):
    without_admin = [role for role in Role if role is not Role.ADMIN]

    answers = [
        await client_api.client.request(
            method, path, content=b"mobile,points\n", headers={"Authorization": keys_by_role[role].header}
        )
        for role in without_admin
    ]
    admitted = await client_api.client.request(
        method, path, content=b"mobile,points\n", headers={"Authorization": keys_by_role[Role.ADMIN].header}
    )

    bare_path = path.split("?")[0]
    assert [(answer.status_code, answer.json()) for answer in answers] == [
        (
            403,
            {
                "error": {
                    "code": "FORBIDDEN",
                    "message": f"{method} {bare_path} needs an API key with the role admin",
                    "field": None,
                }
            },
        )
    ] * len(without_admin)
    assert admitted.status_code != 403, admitted.text


def test_every_role_may_call_something():
    assert set().union(*OPERATION_ROLES.values()) == ALL_ROLES
