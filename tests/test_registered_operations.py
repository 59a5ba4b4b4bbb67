"""Registered (persisted) operations: a directory of .graphql files named by
POINTLEDGER_REGISTERED_OPERATIONS, each run by the SHA-256 of its bytes (Apollo's
extensions.persistedQuery); with POINTLEDGER_REGISTERED_OPERATIONS_ONLY (or in production with a
directory named) no other query text runs."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.graphql.core.registered_operations import RegistryError
from app.organizations.roles import Role
from tests.conftest import make_key

ORGANIZATION_CODE = "query OrganizationCode {\n  organization { code }\n}\n"
TYPENAME = "{ __typename }"
UNKNOWN_HASH = "0" * 64


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(sha256_hash: str, **body) -> dict:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_hash}}, **body}


@pytest.fixture
def registry(tmp_path):
    directory = tmp_path / "operations"
    directory.mkdir()
    (directory / "organization_code.graphql").write_text(ORGANIZATION_CODE)
    (directory / "README.txt").write_text("not a .graphql file: ignored")
    return directory


async def call(client, org, body: dict):
    return await client.post("/graphql", json=body, headers={"Authorization": org.header})


async def test_a_registered_operation_runs_by_its_hash_alone(client_with, org, registry):
    client, _ = await client_with(registered_operations=str(registry))

    answer = await call(client, org, persisted(sha256(ORGANIZATION_CODE)))
    upper_case = await call(client, org, persisted(sha256(ORGANIZATION_CODE).upper()))
    over_get = await client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(sha256(ORGANIZATION_CODE))["extensions"])},
        headers={"Authorization": org.header, "Accept": "application/json"},  # */* alone asks for GraphiQL
    )

    assert (answer.status_code, answer.json()) == (200, {"data": {"organization": {"code": "acme"}}})
    assert upper_case.json() == over_get.json() == {"data": {"organization": {"code": "acme"}}}


async def test_an_unknown_hash_is_persisted_query_not_found(client_with, org, registry):
    client, _ = await client_with(registered_operations=str(registry))
    without_registry, _ = await client_with()

    answers = [
        await call(client, org, persisted(UNKNOWN_HASH)),
        await call(without_registry, org, persisted(sha256(ORGANIZATION_CODE))),
    ]

    assert [(answer.status_code, answer.json()) for answer in answers] == [
        (
            200,
            {
                "errors": [
                    {
                        "message": "PersistedQueryNotFound: no registered operation has this sha256Hash.",
                        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
                    }
                ]
            },
        )
    ] * 2


async def test_other_query_text_still_runs_unless_only_registered_operations_may(client_with, org, registry):
    open_server, _ = await client_with(registered_operations=str(registry))
    closed_server, _ = await client_with(registered_operations=str(registry), registered_operations_only=True)

    open_answer = await call(open_server, org, {"query": TYPENAME})
    refused = await call(closed_server, org, {"query": TYPENAME})
    registered_text = await call(closed_server, org, {"query": ORGANIZATION_CODE})
    registered_hash = await call(closed_server, org, persisted(sha256(ORGANIZATION_CODE)))

    assert open_answer.json() == {"data": {"__typename": "Query"}}
    assert (refused.status_code, refused.json()) == (
        200,
        {
            "errors": [
                {
                    "message": "Only registered operations run here: send extensions.persistedQuery.sha256Hash.",
                    "extensions": {"code": "OPERATION_NOT_REGISTERED"},
                }
            ]
        },
    )
    assert registered_text.json() == registered_hash.json() == {"data": {"organization": {"code": "acme"}}}


async def test_production_with_a_registry_runs_registered_operations_only_unless_told_otherwise(
    client_with, org, registry
):
    production, _ = await client_with(environment="production", registered_operations=str(registry))
    opened, _ = await client_with(
        environment="production", registered_operations=str(registry), registered_operations_only=False
    )
    without_registry, _ = await client_with(environment="production")

    refused = await call(production, org, {"query": TYPENAME})
    allowed = [await call(server, org, {"query": TYPENAME}) for server in (opened, without_registry)]

    assert refused.json()["errors"][0]["extensions"] == {"code": "OPERATION_NOT_REGISTERED"}
    assert [answer.json() for answer in allowed] == [{"data": {"__typename": "Query"}}] * 2


async def test_text_sent_with_a_hash_must_match_it_and_be_registered_where_only_those_run(client_with, org, registry):
    open_server, _ = await client_with(registered_operations=str(registry))
    closed_server, _ = await client_with(registered_operations=str(registry), registered_operations_only=True)

    mismatch = await call(open_server, org, persisted(sha256(ORGANIZATION_CODE), query=TYPENAME))
    unregistered_open = await call(open_server, org, persisted(sha256(TYPENAME), query=TYPENAME))
    unregistered_closed = await call(closed_server, org, persisted(sha256(TYPENAME), query=TYPENAME))
    malformed = await call(open_server, org, {"extensions": {"persistedQuery": {"sha256Hash": 5}}})

    assert (mismatch.status_code, mismatch.json()) == (
        400,
        {
            "errors": [
                {
                    "message": "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query.",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ]
        },
    )
    assert unregistered_open.json() == {"data": {"__typename": "Query"}}
    assert unregistered_closed.json()["errors"][0]["extensions"] == {"code": "OPERATION_NOT_REGISTERED"}
    assert (malformed.status_code, malformed.json()["errors"][0]["message"]) == (
        400,
        "extensions.persistedQuery needs version 1 and a sha256Hash string.",
    )


async def test_a_registered_operation_keeps_the_role_check(client_with, database, org, registry):
    (registry / "reconciliation.graphql").write_text("{ reconciliation { __typename } }")
    client, _ = await client_with(registered_operations=str(registry))
    till = await make_key(database, org.org_id, frozenset({Role.TILL}))

    answer = await call(client, till, persisted(sha256("{ reconciliation { __typename } }")))

    assert answer.json()["errors"][0]["extensions"] == {"code": "FORBIDDEN", "roles": ["admin"]}


@pytest.mark.parametrize(
    ("file_text", "message"),
    [
        ("{ organization { code ", "organization_code.graphql: Syntax Error"),
        ("{ organisation { code } }", "organization_code.graphql: Cannot query field 'organisation' on type 'Query'"),
    ],
)
async def test_a_registry_with_an_invalid_document_stops_the_server_at_start(client_with, registry, file_text, message):
    (registry / "organization_code.graphql").write_text(file_text)

    with pytest.raises(RegistryError, match=message):
        await client_with(registered_operations=str(registry))


async def test_a_registry_that_is_not_a_directory_stops_the_server_at_start(client_with, tmp_path):
    with pytest.raises(RegistryError, match="is not a directory"):
        await client_with(registered_operations=str(tmp_path / "missing"))
