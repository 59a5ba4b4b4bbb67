"""Rate limits per organisation and key role (issue 12): requests a minute from the organisation
file's [rate_limits], counted by the `limits` library; past the limit a request is answered 429
with Retry-After and the IETF RateLimit headers, a batch's items past it get a typed error, and
nothing refused is written. With Redis, several processes share the counts."""

from __future__ import annotations

import asyncio
import os
import re

import httpx
import pytest

from app.http.app import create_app
from app.kernel.settings import Settings
from app.organizations.roles import Role
from tests.client import Api, Credentials, add_transaction
from tests.conftest import make_key, make_org, stop_background_work
from tests.factories import bill, org_spec
from tests.snapshots import table_counts

REDIS_URL = os.environ.get("POINTLEDGER_TEST_REDIS_URL")

ADD_BATCH = """
mutation Batch($input: [TransactionAddInput!]!) {
  addTransactions(input: $input) {
    __typename
    ... on TransactionAdded { transaction { number } }
    ... on RateLimitedError { code field retryAfterSeconds }
  }
}
"""
ADD = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) { __typename }
}
"""
TRACKERS = "{ trackers { code } }"


def limited_spec(code: str = "limited", **limits: int) -> dict:
    return {**org_spec(code), "rate_limits": limits}


async def post(api: Api, query: str, variables: dict | None = None, credentials: Credentials | None = None):
    return await api.client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": (credentials or api.credentials).header},
    )


def assert_policy(response: httpx.Response, role: str, limit: int, remaining: int) -> None:
    assert response.headers["RateLimit-Policy"] == f'"{role}";q={limit};w=60'
    assert re.fullmatch(rf'"{role}";r={remaining};t=([1-9]|[1-5][0-9]|60)', response.headers["RateLimit"]), (
        response.headers["RateLimit"]
    )


async def test_a_till_past_its_organisations_limit_gets_429_and_nothing_is_written(api, org_api):
    limited = await org_api(limited_spec(till=3))
    for remaining in (2, 1, 0):
        response = await post(limited, ADD, {"input": bill()})
        assert response.status_code == 200
        assert response.json() == {"data": {"addTransaction": {"__typename": "TransactionAdded"}}}
        assert_policy(response, "till", 3, remaining)
    before = await table_counts(api.database)

    response = await post(limited, ADD, {"input": bill()})

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert_policy(response, "till", 3, 0)
    retry = int(response.headers["Retry-After"])
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": (
                    "addTransaction: the organisation's till keys made 3 requests in the last minute, "
                    f"its limit; retry in {retry} s"
                ),
                "locations": [{"line": 3, "column": 3}],
                "path": ["addTransaction"],
                "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": retry},
            }
        ],
    }
    assert await table_counts(api.database) == before


async def test_counting_requests_in_the_process_never_leaves_the_event_loop_s_thread(api, org_api, monkeypatch):
    """The library's in-memory store sent every hit's expiry to a thread (~7% of a bill's CPU
    under load); the process's own window counts on the event loop."""
    limited = await org_api(limited_spec(till=3))
    loop = asyncio.get_running_loop()
    sent_to_threads = []
    run_in_executor = loop.run_in_executor

    def recorded(executor, function, *args):
        sent_to_threads.append(function)
        return run_in_executor(executor, function, *args)

    monkeypatch.setattr(loop, "run_in_executor", recorded)

    responses = [await post(limited, ADD, {"input": bill()}) for _ in range(4)]
    await asyncio.sleep(0.05)  # the library's expiry ran as a task after the request

    assert [response.status_code for response in responses] == [200, 200, 200, 429]
    assert sent_to_threads == []


async def test_the_limit_is_the_organisations_and_the_roles_own(api, org_api, database):
    limited = await org_api(limited_spec(till=1))
    await add_transaction(limited, bill())
    assert (await post(limited, ADD, {"input": bill()})).status_code == 429

    # Another organisation's tills count on their own.
    assert (await post(api, ADD, {"input": bill()})).status_code == 200
    # The same organisation's app keys count against the app limit (the key holds both roles).
    app_key = await make_key(database, limited.credentials.org_id, frozenset({Role.TILL, Role.APP}))
    response = await post(limited, TRACKERS, credentials=app_key)
    assert response.status_code == 200
    assert_policy(response, "app", 3000, 2999)


async def test_a_batchs_items_past_the_limit_get_a_typed_error_and_are_not_added(api, org_api):
    limited = await org_api(limited_spec(till=3))
    bills = [bill() for _ in range(5)]

    response = await post(limited, ADD_BATCH, {"input": bills})

    assert response.status_code == 200
    results = response.json()["data"]["addTransactions"]
    assert [result["__typename"] for result in results] == ["TransactionAdded"] * 3 + ["RateLimitedError"] * 2
    assert [result["transaction"]["number"] for result in results[:3]] == [item["number"] for item in bills[:3]]
    assert [(result["code"], result["field"]) for result in results[3:]] == [
        ("RATE_LIMITED", "input[3]"),
        ("RATE_LIMITED", "input[4]"),
    ]
    assert all(1 <= result["retryAfterSeconds"] <= 60 for result in results[3:])
    assert_policy(response, "till", 3, 0)
    assert (await table_counts(api.database))["transactions"] == 3


async def test_zero_turns_a_roles_limit_off(api, org_api):
    unlimited = await org_api(limited_spec(app=0))

    responses = [await post(unlimited, TRACKERS) for _ in range(5)]

    assert [response.status_code for response in responses] == [200] * 5
    assert "RateLimit" not in responses[-1].headers


async def test_an_import_route_past_the_admin_limit_gets_429(api, org_api):
    limited = await org_api(limited_spec(admin=1))
    headers = {"Authorization": limited.credentials.header}
    assert (await limited.client.get("/imports/1", headers=headers)).status_code == 404

    response = await limited.client.get("/imports/1", headers=headers)

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert_policy(response, "admin", 1, 0)
    assert 1 <= int(response.headers["Retry-After"]) <= 60


@pytest.mark.skipif(not REDIS_URL, reason="needs a Redis server (scripts/test starts one for the PostgreSQL run)")
async def test_processes_sharing_redis_share_the_counts(database, clock):
    """Two app instances (as two uvicorn workers would be) on one Redis: the limit is counted once."""
    credentials = await make_org(database, limited_spec(f"shared{os.getpid()}", till=2))
    settings = Settings(database_url=database.url, rate_limit_storage=REDIS_URL)
    apps = [create_app(settings, database=database, clock=clock) for _ in range(2)]
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") for app in apps]
    try:
        await apps[0].state.services.rate_limiter.storage.reset()
        statuses = []
        for client in (clients[0], clients[1], clients[0], clients[1]):
            response = await client.post(
                "/graphql",
                json={"query": ADD, "variables": {"input": bill()}},
                headers={"Authorization": credentials.header},
            )
            statuses.append(response.status_code)
    finally:
        for client in clients:
            await client.aclose()
        for app in apps:
            await stop_background_work(app)

    assert statuses == [200, 200, 429, 429]
