"""Limits on what one GraphQL document may ask, enforced before anything runs."""

from __future__ import annotations

import asyncio

import pytest

from app.http.app import create_app
from app.kernel.errors import ValidationError
from app.kernel.settings import Settings
from app.organizations.roles import Role
from tests.conftest import make_key
from tests.documents import ADD_TRANSACTION
from tests.factories import bill
from tests.snapshots import table_counts


def nested_customer_document(levels: int) -> str:
    """customer > transactions > nodes > customer > ... : three levels per round, then `id`."""
    inner = "id"
    for _ in range(levels):
        inner = f"customer {{ userId transactions {{ nodes {{ {inner} }} }} }}"
    return (
        "query Deep($lookup: CustomerLookupInput!) { customer(lookup: $lookup) { "
        "... on Customer { transactions { nodes { " + inner + " } } } } }"
    )


async def test_a_document_nested_deeper_than_12_levels_is_refused(api):
    variables = {"lookup": {"type": "USER_ID", "value": "1"}}

    # Depth counts from 0 at `customer`: three rounds put `id` at depth 12, four at depth 15.
    too_deep = await api.post(nested_customer_document(4), variables)
    deep_enough = await api.post(nested_customer_document(3), variables)

    assert too_deep.get("data") is None
    assert "'Deep' exceeds maximum operation depth of 12" in {error["message"] for error in too_deep["errors"]}
    assert deep_enough == {"data": {"customer": {}}}  # not found: the NotFoundError member, no Customer fields


async def test_more_than_50_aliases_are_refused(api):
    document = "{ " + " ".join(f"a{index}: __typename" for index in range(51)) + " }"

    body = await api.post(document)

    assert body.get("data") is None
    assert [error["message"] for error in body["errors"]] == ["51 aliases found. Allowed: 50"]


async def test_the_same_document_twice_is_validated_once(api):
    from app.graphql.core.validation_cache import validated_documents

    await api.post("{ organization { code } }")
    hits, misses = validated_documents.hits, validated_documents.misses

    await api.post("{ organization { code } }")

    assert (validated_documents.hits, validated_documents.misses) == (hits + 1, misses)


async def test_a_document_validated_once_keeps_its_errors(api):
    document = "{ organization { code noSuchField } }"

    first = await api.post(document)
    second = await api.post(document)

    assert first == second
    assert [error["message"] for error in first["errors"]] == [
        "Cannot query field 'noSuchField' on type 'Organization'."
    ]


def fanning_fragments(levels: int) -> str:
    """Fragment F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^levels fields once expanded."""
    fragments = [f"fragment F{index} on Query {{ ...F{index + 1} ...F{index + 1} }}" for index in range(levels)]
    fragments.append(f"fragment F{levels} on Query {{ organization {{ code }} }}")
    return "query Fan { ...F0 } " + " ".join(fragments)


async def test_fragments_that_fan_out_are_measured_once_each_and_refused_for_their_cost(api):
    # Walking every spread takes 2^30 steps; measuring each fragment once takes 30.
    body = await asyncio.wait_for(api.post(fanning_fragments(30)), timeout=30)

    assert body.get("data") is None
    assert [(error["message"], error["extensions"]) for error in body["errors"]] == [
        (
            "'Fan' may return 2,147,483,648 fields, more than 25,000: each page multiplies what it selects by its size "
            "(first); ask for fewer fields or smaller pages",
            {"code": "QUERY_TOO_COMPLEX"},
        )
    ]


async def test_a_few_aliases_of_large_nested_pages_are_refused_before_anything_runs(api, count_statements):
    page = (
        "transactions(first: 100) { nodes { lineItems { serial } "
        "customer { transactions(first: 100) { nodes { id } } } } }"
    )
    document = (
        "query Wide($lookup: CustomerLookupInput!) { "
        + " ".join(f"c{index}: customer(lookup: $lookup) {{ ... on Customer {{ {page} }} }}" for index in range(5))
        + " }"
    )
    await api.post("{ __typename }")  # the API key and the organisation are cached from here on
    counter = count_statements()

    body = await api.post(document, {"lookup": {"type": "USER_ID", "value": "1"}})

    assert body.get("data") is None
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX"}
    assert "'Wide' may return 102,510 fields" in body["errors"][0]["message"]
    assert counter.count == 0  # not one statement ran


async def test_a_large_but_reasonable_page_is_allowed(api):
    document = (
        "query Page($lookup: CustomerLookupInput!, $first: Int!) { customer(lookup: $lookup) { ... on Customer { "
        "transactions(first: $first) { nodes { id number amount lineItems { serial itemCode qty amount } "
        "customer { userId loyaltyPoints } } pageInfo { hasNextPage endCursor } } } } }"
    )

    body = await api.post(document, {"lookup": {"type": "USER_ID", "value": "1"}, "first": 100})

    assert "errors" not in body, body


async def test_a_query_text_over_the_length_limit_is_refused_before_it_is_parsed(api):
    padding = "#" + "x" * 40_000 + "\n"  # a comment: few tokens, many bytes

    response = await api.client.post(
        "/graphql", json={"query": padding + "{ __typename }"}, headers={"Authorization": api.credentials.header}
    )

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "The query is longer than 32,768 characters.", "extensions": {"code": "BAD_REQUEST"}}]
    }


async def test_a_document_of_more_than_5000_tokens_is_refused_by_the_parser(api):
    fragment = "fragment F on Query { __typename }"  # 7 tokens; each spread `...F` is 2

    within = await api.post("{ " + "...F " * 2_495 + "} " + fragment)  # 4,999 tokens with the braces
    beyond = await api.post("{ " + "...F " * 2_496 + "} " + fragment)

    assert within == {"data": {"__typename": "Query"}}
    assert (beyond["data"], [error["message"] for error in beyond["errors"]]) == (
        None,
        ["Syntax Error: Document contains more than 5000 tokens. Parsing aborted."],
    )


async def test_an_input_list_longer_than_any_input_takes_is_refused_before_conversion(api, database):
    line = {"serial": 1, "itemCode": "SHIRT-01", "qty": "1", "rate": "1", "value": "1", "amount": "1"}
    document = bill(lineItems=[{**line, "serial": index + 1} for index in range(1001)])

    response = await api.client.post(
        "/graphql",
        json={"query": ADD_TRANSACTION, "variables": {"input": document}},
        headers={"Authorization": api.credentials.header},
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "variables.input.lineItems: at most 1,000 items.", "extensions": {"code": "BAD_REQUEST"}}
    ]
    assert (await table_counts(database))["transactions"] == 0


async def test_a_long_list_deep_in_the_variables_is_refused_by_its_path(api, database):
    line = {"serial": 1, "itemCode": "SHIRT-01", "qty": "1", "rate": "1", "value": "1", "amount": "1"}
    long_line = {**line, "serial": 2, "extendedFields": [{"name": "N", "value": "V"}] * 1001}
    document = bill(lineItems=[line, long_line])

    response = await api.client.post(
        "/graphql",
        json={"query": ADD_TRANSACTION, "variables": {"input": document, "others": [[1], [2] * 1001]}},
        headers={"Authorization": api.credentials.header},
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "variables.input.lineItems[1].extendedFields: at most 1,000 items.",
            "extensions": {"code": "BAD_REQUEST"},
        }
    ]
    assert (await table_counts(database))["transactions"] == 0


async def test_a_list_written_in_the_document_longer_than_any_input_takes_is_refused(api):
    codes = ", ".join(f'"C{index}"' for index in range(1001))
    document = (
        'mutation { addTransaction(input: {number: "B-1", tillCode: "till-1", amount: "1", '
        f'customer: {{mobile: "9800000001"}}, promoCodes: [{codes}]}}) {{ __typename }} }}'
    )

    body = await api.post(document)

    assert body.get("data") is None
    assert [(error["message"], error["extensions"]) for error in body["errors"]] == [
        ("A list of 1,001 items: at most 1,000.", {"code": "QUERY_TOO_COMPLEX"})
    ]


async def test_limits_are_raised_per_key_role_and_a_key_gets_its_most_generous_roles(api, client_with, database):
    """Nested four rounds, `id` sits at depth 15 and 244,442 fields may come back: past the
    defaults (12, 25,000), within what the settings give an admin."""
    client, _ = await client_with(query_limits_by_role={"admin": {"depth_max": 16, "cost_max": 250_000}})
    variables = {"lookup": {"type": "USER_ID", "value": "1"}}
    till = await make_key(database, api.credentials.org_id, frozenset({Role.TILL, Role.APP}))
    admin_and_app = await make_key(database, api.credentials.org_id, frozenset({Role.APP, Role.ADMIN}))

    async def post(credentials) -> dict:
        response = await client.post(
            "/graphql",
            json={"query": nested_customer_document(4), "variables": variables},
            headers={"Authorization": credentials.header},
        )
        return response.json()

    refused = await post(till)
    allowed = await post(admin_and_app)

    assert [error["message"] for error in refused["errors"]] == [
        "'Deep' exceeds maximum operation depth of 12",
        "'Deep' may return 244,442 fields, more than 25,000: each page multiplies what it selects by its size "
        "(first); ask for fewer fields or smaller pages",
    ]
    assert allowed == {"data": {"customer": {}}}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"cashier": {"cost_max": 10}},
            "POINTLEDGER_QUERY_LIMITS_BY_ROLE",
            "unknown role cashier: choose from till, app, member_care, admin",
        ),
        (
            {"admin": {"page_size_max": 10}},
            "POINTLEDGER_QUERY_LIMITS_BY_ROLE.admin",
            "give depth_max, aliases_max, cost_max as whole numbers from 1",
        ),
        (
            {"admin": {"cost_max": 0}},
            "POINTLEDGER_QUERY_LIMITS_BY_ROLE.admin",
            "give depth_max, aliases_max, cost_max as whole numbers from 1",
        ),
    ],
)
def test_limits_by_role_that_name_no_role_or_measure_stop_the_start(overrides, field, message, tmp_path):
    with pytest.raises(ValidationError) as refused:
        create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/unused.db", query_limits_by_role=overrides))

    assert (refused.value.field, refused.value.message) == (field, message)
