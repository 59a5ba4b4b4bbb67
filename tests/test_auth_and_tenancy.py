"""Who may call the API, what a request may carry, and what one organisation can see of another."""

from __future__ import annotations

import base64
import copy
import logging

import httpx
import pytest

import app.ledger.service
import app.transactions.service
from app.organizations.service import revoke_api_key
from tests.client import Credentials, add, add_transaction, closing_balance, find_customer, ledger_page
from tests.conftest import make_org
from tests.documents import ADD_TRANSACTION, LEDGER_ENTRIES
from tests.factories import bill, by_mobile, by_user_id, new_mobile, org_spec
from tests.snapshots import table_counts

ORGANIZATION = """
query {
  organization {
    code name
    programs { code name }
    stores { code tills { code } }
  }
}
"""

UNAUTHORIZED = {
    "errors": [
        {
            "message": "Authentication required: HTTP Basic with an API key id and secret.",
            "extensions": {"code": "UNAUTHENTICATED"},
        }
    ]
}


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == UNAUTHORIZED


async def post(client, query, variables=None, headers=None):
    return await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})


# --- Authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        lambda key: None,
        lambda key: "",
        lambda key: f"Bearer {key.key_id}:{key.secret}",
        lambda key: "Basic",
        lambda key: "Basic ",
        lambda key: "Basic !!!not-base64!!!",
        lambda key: "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        lambda key: basic(f"{key.key_id}{key.secret}"),
        lambda key: basic(f":{key.secret}"),
        lambda key: basic(f"{key.key_id}:"),
        lambda key: basic(f"pk_unknown:{key.secret}"),
        lambda key: basic(f"{key.key_id}:wrong-secret"),
        lambda key: basic(f"{key.key_id}:{key.secret}x"),
        lambda key: basic(f"{'k' * 65}:{key.secret}"),
    ],
    ids=[
        "missing",
        "empty",
        "bearer",
        "basic-alone",
        "basic-blank",
        "bad-base64",
        "not-utf8",
        "no-colon",
        "no-key-id",
        "no-secret",
        "unknown-key-id",
        "wrong-secret",
        "secret-with-extra",
        "key-id-too-long",
    ],
)
async def test_a_request_without_valid_credentials_is_refused_with_401_and_writes_nothing(
    app_client, org, database, authorization
):
    header = authorization(org)
    headers = {} if header is None else {"Authorization": header}
    before = await table_counts(database)

    query = await post(app_client, ORGANIZATION, headers=headers)
    mutation = await post(app_client, ADD_TRANSACTION, {"input": bill()}, headers=headers)
    via_get = await app_client.get("/graphql", params={"query": ORGANIZATION}, headers=headers)

    assert_unauthorized(query)
    assert_unauthorized(mutation)
    assert_unauthorized(via_get)
    assert await table_counts(database) == before


async def test_health_needs_no_credentials(app_client):
    response = await app_client.get("/health")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_a_revoked_key_is_refused_once_the_key_cache_has_expired(client_with, org, database, clock):
    client, _ = await client_with(cache_ttl_seconds=0)
    headers = {"Authorization": org.header}
    assert (await post(client, ORGANIZATION, headers=headers)).status_code == 200

    await database.run_write(lambda connection: revoke_api_key(connection, org.key_id, now=clock.now()))
    response = await post(client, ORGANIZATION, headers=headers)

    assert_unauthorized(response)


async def test_a_revoked_key_is_refused_at_once_when_the_authenticator_forgets_its_cache(
    client_with, org, database, clock
):
    client, application = await client_with(cache_ttl_seconds=3600)
    headers = {"Authorization": org.header}
    assert (await post(client, ORGANIZATION, headers=headers)).status_code == 200
    await database.run_write(lambda connection: revoke_api_key(connection, org.key_id, now=clock.now()))

    application.state.services.authenticator.forget()
    response = await post(client, ORGANIZATION, headers=headers)

    assert_unauthorized(response)


async def test_another_key_of_the_same_org_keeps_working_after_one_is_revoked(client_with, org, database, clock):
    from app.organizations.roles import ALL_ROLES
    from app.organizations.service import create_api_key

    client, _ = await client_with(cache_ttl_seconds=0)
    key = await database.run_write(
        lambda connection: create_api_key(connection, org.org_id, "second", now=clock.now(), roles=ALL_ROLES)
    )
    second = Credentials(org.org_id, key.key_id, key.secret)

    await database.run_write(lambda connection: revoke_api_key(connection, org.key_id, now=clock.now()))
    revoked = await post(client, ORGANIZATION, headers={"Authorization": org.header})
    working = await post(client, ORGANIZATION, headers={"Authorization": second.header})

    assert_unauthorized(revoked)
    assert working.status_code == 200
    assert working.json()["data"]["organization"]["code"] == "acme"


# --- Request limits -------------------------------------------------------------------------


async def test_a_body_over_the_size_limit_is_refused_with_413_and_writes_nothing(client_with, org, database):
    client, _ = await client_with(max_body_size_bytes=4096)
    headers = {"Authorization": org.header}
    small = bill(lineItems=[])
    large = bill(notes="x" * 5000)
    before = await table_counts(database)

    refused = await post(client, ADD_TRANSACTION, {"input": large}, headers=headers)

    assert refused.status_code == 413, refused.text
    assert refused.json() == {
        "errors": [{"message": "Request body too large.", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]
    }
    assert await table_counts(database) == before
    accepted = await post(client, ADD_TRANSACTION, {"input": small}, headers=headers)
    assert accepted.status_code == 200
    assert accepted.json()["data"]["addTransaction"]["__typename"] == "TransactionAdded"


async def test_a_body_of_exactly_the_limit_is_served_and_one_byte_more_is_refused(client_with, org):
    import orjson

    limit = 4096
    client, _ = await client_with(max_body_size_bytes=limit)

    def body_of(size: int) -> bytes:
        empty = orjson.dumps({"query": ORGANIZATION})
        body = orjson.dumps({"query": ORGANIZATION + " " * (size - len(empty))})
        assert len(body) == size
        return body

    headers = {"Authorization": org.header, "Content-Type": "application/json"}
    at_limit = await client.post("/graphql", content=body_of(limit), headers=headers)
    over_limit = await client.post("/graphql", content=body_of(limit + 1), headers=headers)

    assert at_limit.status_code == 200, at_limit.text
    assert at_limit.json()["data"]["organization"]["code"] == "acme"
    assert over_limit.status_code == 413


async def test_a_chunked_body_without_a_length_over_the_limit_is_refused_with_413(client_with, org, database):
    import orjson

    client, _ = await client_with(max_body_size_bytes=4096)
    body = orjson.dumps({"query": ADD_TRANSACTION, "variables": {"input": bill(notes="x" * 5000)}})
    before = await table_counts(database)

    async def chunks():
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    response = await client.post(
        "/graphql", content=chunks(), headers={"Authorization": org.header, "Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert await table_counts(database) == before


async def test_a_chunked_body_under_the_limit_is_served(client_with, org):
    import orjson

    client, _ = await client_with(max_body_size_bytes=4096)
    body = orjson.dumps({"query": ORGANIZATION})

    async def chunks():
        yield body[:10]
        yield body[10:]

    response = await client.post(
        "/graphql", content=chunks(), headers={"Authorization": org.header, "Content-Type": "application/json"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["organization"]["code"] == "acme"


async def test_a_mutation_over_get_is_refused_and_writes_nothing(api, database):
    import json

    before = await table_counts(database)

    response = await api.client.get(
        "/graphql",
        params={"query": ADD_TRANSACTION, "variables": json.dumps({"input": bill()})},
        headers={"Authorization": api.credentials.header},
    )

    assert response.status_code == 400, response.text
    assert "mutations are not allowed when using GET" in response.text
    assert await table_counts(database) == before


async def test_a_query_over_get_is_served(api):
    response = await api.client.get(
        "/graphql", params={"query": ORGANIZATION}, headers={"Authorization": api.credentials.header}
    )

    assert response.status_code == 200
    assert response.json()["data"]["organization"]["code"] == "acme"


# --- Tenancy ----------------------------------------------------------------------------------


def beta_spec():
    """Another organisation: the same store and till codes as acme, one program, one store."""
    spec = org_spec("beta", name="Beta Stores")
    spec["programs"] = [copy.deepcopy(spec["programs"][0])]
    spec["programs"][0]["name"] = "Beta Rewards"
    spec["stores"] = [{"code": "store-1", "name": "Beta first store", "tills": [{"code": "till-1"}]}]
    return spec


async def test_an_organisation_cannot_see_anothers_customers_or_ledger(api, database):
    beta = await make_org(database, beta_spec())
    mobile = new_mobile()
    added = await add(api, bill(customer={"mobile": mobile, "email": "ann@example.com"}))
    user_id = added["transaction"]["customer"]["userId"]

    lookups = [by_mobile(mobile), {"type": "EMAIL", "value": "ann@example.com"}, by_user_id(user_id)]
    for lookup in lookups:
        customer = await find_customer(api, lookup, credentials=beta)
        ledger = await ledger_page(api, lookup, credentials=beta)
        balance = await closing_balance(api, lookup, credentials=beta)
        expected = {
            "__typename": "NotFoundError",
            "code": "CUSTOMER_NOT_FOUND",
            "message": f"no customer with {lookup['type']} {lookup['value']!r}",
        }
        assert customer == {**expected, "field": "lookup"}
        assert ledger == {**expected, "field": "customer"}
        assert balance == {**expected, "field": "customer"}
        # Acme still finds its own customer.
        assert (await find_customer(api, lookup))["userId"] == user_id


async def test_the_same_bill_number_in_another_organisation_is_a_new_bill_for_a_new_customer(api, database):
    beta = await make_org(database, beta_spec())
    mobile = new_mobile()
    document = bill(number="SHARED-1", customer={"mobile": mobile}, billingTime="2026-11-20T10:00:00+05:30")
    in_acme = await add_transaction(api, document)

    in_beta = await add_transaction(api, document, credentials=beta)
    different_payload = await add_transaction(api, {**document, "amount": "900", "lineItems": []}, credentials=beta)

    assert in_beta["__typename"] == "TransactionAdded"
    assert in_beta["replayed"] is False
    assert in_beta["transaction"]["id"] != in_acme["transaction"]["id"]
    assert in_beta["transaction"]["customer"]["userId"] != in_acme["transaction"]["customer"]["userId"]
    assert in_beta["transaction"]["customer"]["loyaltyPoints"] == "18"
    assert [summary["programCode"] for summary in in_beta["transaction"]["customer"]["pointsSummaries"]] == ["main"]
    # Within beta the number is now taken.
    assert different_payload["__typename"] == "DuplicateBillNumberError"
    assert different_payload["existingTransactionId"] == in_beta["transaction"]["id"]
    acme_customer = await find_customer(api, by_mobile(mobile))
    assert acme_customer["loyaltyPoints"] == "18"
    assert [node["id"] for node in acme_customer["transactions"]["nodes"]] == [in_acme["transaction"]["id"]]


async def test_the_organization_query_shows_only_the_callers_setup(api, database):
    beta = await make_org(database, beta_spec())

    acme = (await api.data(ORGANIZATION))["organization"]
    seen_by_beta = (await api.data(ORGANIZATION, credentials=beta))["organization"]

    assert seen_by_beta == {
        "code": "beta",
        "name": "Beta Stores",
        "programs": [{"code": "main", "name": "Beta Rewards"}],
        "stores": [{"code": "store-1", "tills": [{"code": "till-1"}]}],
    }
    assert acme == {
        "code": "acme",
        "name": "Acme Retail",
        "programs": [{"code": "main", "name": "Acme Rewards"}, {"code": "cafe", "name": "Acme Cafe"}],
        "stores": [
            {"code": "store-1", "tills": [{"code": "till-1"}, {"code": "till-cafe"}]},
            {"code": "store-2", "tills": [{"code": "till-2"}]},
        ],
    }


async def test_a_filter_naming_another_organisations_till_is_refused(api, database):
    beta = await make_org(database, beta_spec())
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}), credentials=beta)

    result = await ledger_page(api, by_mobile(mobile), {"tillCodes": ["till-cafe"]}, credentials=beta)

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "field": "filter.tillCodes[0]",
        "message": "no till with code 'till-cafe'",
    }


# --- Unexpected failures ----------------------------------------------------------------------


async def test_an_unexpected_error_in_a_query_is_masked_and_logged(api, monkeypatch, caplog):
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}))

    async def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(app.ledger.service, "ledger_page", broken)
    with caplog.at_level(logging.ERROR):
        body = await api.post(LEDGER_ENTRIES, {"customer": by_mobile(mobile)})

    assert body["data"] is None
    assert [(error["message"], error["path"]) for error in body["errors"]] == [("Unexpected error.", ["ledgerEntries"])]
    assert "secret detail" not in str(body)
    assert "RuntimeError" not in str(body)
    assert "secret detail" in caplog.text


async def test_an_unexpected_error_in_a_mutation_is_masked_and_rolls_the_write_back(api, database, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    await add(api, bill())
    before = await table_counts(database)
    # Fails after the customer, the bill and its line items were written.
    monkeypatch.setattr(app.transactions.service, "_apply_earning", broken)

    response = await api.client.post(
        "/graphql",
        json={"query": ADD_TRANSACTION, "variables": {"input": bill()}},
        headers={"Authorization": api.credentials.header},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [error["message"] for error in body["errors"]] == ["Unexpected error."]
    assert "secret detail" not in response.text
    assert await table_counts(database) == before
    monkeypatch.undo()
    again = await add_transaction(api, bill())
    assert again["__typename"] == "TransactionAdded"
