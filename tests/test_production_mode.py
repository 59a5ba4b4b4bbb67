"""Production mode (POINTLEDGER_ENVIRONMENT=production): no GraphiQL, and introspection only for
keys holding an introspection role (admin unless configured); development keeps both open."""

from __future__ import annotations

import pytest

from app.organizations.roles import Role
from tests.conftest import make_key

SCHEMA_QUERY = "{ __schema { queryType { name } } }"
TYPE_QUERY = '{ __type(name: "Query") { name } }'
HIDDEN_IN_A_FRAGMENT = "query { ...Types } fragment Types on Query { __schema { types { name } } }"


def refused_introspection(roles: str) -> dict:
    return {
        "errors": [
            {
                "message": f"Introspection (__schema, __type) needs an API key with {roles}.",
                "extensions": {"code": "FORBIDDEN"},
            }
        ]
    }


async def introspect(client, key, query: str):
    return await client.post("/graphql", json={"query": query}, headers={"Authorization": key.header})


async def test_production_serves_no_graphiql(client_with, org):
    development, _ = await client_with()
    production, _ = await client_with(environment="production")
    browser = {"Accept": "text/html", "Authorization": org.header}

    ide = await development.get("/graphql", headers=browser)
    refused = await production.get("/graphql", headers=browser)

    assert (ide.status_code, "graphiql" in ide.text.lower()) == (200, True)
    assert refused.status_code == 404
    assert refused.json() == {"errors": [{"message": "Not Found", "extensions": {"code": "BAD_REQUEST"}}]}


@pytest.mark.parametrize("query", [SCHEMA_QUERY, TYPE_QUERY, HIDDEN_IN_A_FRAGMENT])
async def test_production_refuses_introspection_to_a_key_without_the_admin_role(client_with, database, org, query):
    client, _ = await client_with(environment="production")
    member_care = await make_key(database, org.org_id, frozenset({Role.MEMBER_CARE, Role.APP, Role.TILL}))

    refused = await introspect(client, member_care, query)
    admitted = await introspect(client, await make_key(database, org.org_id, frozenset({Role.ADMIN})), query)

    assert (refused.status_code, refused.json()) == (200, refused_introspection("the role admin"))
    assert admitted.status_code == 200
    assert "errors" not in admitted.json(), admitted.json()


async def test_typename_stays_allowed_in_production(client_with, database, org):
    client, _ = await client_with(environment="production")
    till = await make_key(database, org.org_id, frozenset({Role.TILL}))

    answer = await introspect(client, till, "{ __typename }")

    assert answer.json() == {"data": {"__typename": "Query"}}


async def test_the_introspection_roles_are_configurable(client_with, database, org):
    client, _ = await client_with(environment="production", introspection_roles=["member_care", "app"])
    nobody, _ = await client_with(environment="production", introspection_roles=[])
    admin = await make_key(database, org.org_id, frozenset({Role.ADMIN}))
    member_care = await make_key(database, org.org_id, frozenset({Role.MEMBER_CARE}))

    refused_admin = await introspect(client, admin, SCHEMA_QUERY)
    admitted = await introspect(client, member_care, SCHEMA_QUERY)
    refused_all = await introspect(nobody, org, SCHEMA_QUERY)

    assert refused_admin.json() == refused_introspection("one of the roles app, member_care")
    assert admitted.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert refused_all.json() == refused_introspection("a role no key holds here")


async def test_development_lets_every_key_introspect(client_with, database, org):
    client, _ = await client_with()
    till = await make_key(database, org.org_id, frozenset({Role.TILL}))

    answer = await introspect(client, till, SCHEMA_QUERY)

    assert answer.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
