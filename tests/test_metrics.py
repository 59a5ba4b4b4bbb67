"""/metrics as Prometheus scrapes it: requests by operation and result, errors by code, pool use,
import rows, maintenance runs and rate-limit refusals, with exact values; and who may scrape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import app.ledger.service
from app.http import maintenance
from app.http.app import Services, create_app
from app.kernel.settings import Settings
from tests.client import Api, add, find_customer
from tests.conftest import POSTGRES_URL, make_org, stop_background_work
from tests.documents import ADD_TRANSACTION, LEDGER_ENTRIES
from tests.factories import bill, by_mobile, new_mobile, org_spec
from tests.import_checks import finished, post_csv
from tests.server import database_with_org, running_server

REQUESTS = "pointledger_graphql_request_duration_seconds_count"
ERRORS = "pointledger_graphql_errors_total"


@asynccontextmanager
async def metrics_server(
    database: Any, clock: Any, client_address: tuple[str, int] = ("127.0.0.1", 5000), **settings: Any
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """An app with these settings, and a client calling it from `client_address`."""
    application = create_app(Settings(database_url=database.url, **settings), database=database, clock=clock)
    transport = httpx.ASGITransport(app=application, client=client_address)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as client:
        yield application.state.services, client
    await stop_background_work(application)


async def scrape(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> dict[str, dict[tuple, float]]:
    """The scrape, parsed as Prometheus parses it: sample name -> label values (sorted by label
    name) -> value."""
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = tuple(value for _, value in sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


async def test_requests_are_counted_by_operation_and_result_and_errors_by_code(api, monkeypatch):
    await api.data("query Ping { __typename }")
    await api.data("query Ping { __typename }")
    await api.data("{ __typename }")
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}))  # the document's operation: Add
    await find_customer(api, by_mobile(new_mobile()))  # not found: a typed error
    # Refused before execution: named by the client's operationName only (else "anonymous").
    await api.post(ADD_TRANSACTION, {"input": {"number": "B-1"}})  # variables GraphQL refuses
    await api.post("query Broken { nothing }")  # a field the schema lacks
    aliases = " ".join(f"a{number}: __typename" for number in range(51))
    await api.post(f"query Wide {{ {aliases} }}")  # over the alias limit: our own refusal, with its code
    not_json = await api.client.post(
        "/graphql", content=b"{", headers={"Authorization": api.credentials.header, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(app.ledger.service, "ledger_page", broken)
    await api.post(LEDGER_ENTRIES, {"customer": by_mobile(mobile)})
    # A client's operationName names the operation whatever the document calls it.
    response = await api.client.post(
        "/graphql",
        json={"query": "query Ping { __typename }", "operationName": "Ping"},
        headers={"Authorization": api.credentials.header},
    )
    assert response.status_code == 200

    samples = await scrape(api.client)

    assert samples[REQUESTS] == {
        ("Ping", "ok"): 3,
        ("anonymous", "ok"): 1,
        ("Add", "ok"): 1,
        ("Customer", "CUSTOMER_NOT_FOUND"): 1,
        ("anonymous", "invalid_request"): 2,
        ("anonymous", "QUERY_TOO_COMPLEX"): 1,
        ("anonymous", "bad_request"): 1,
        ("Ledger", "unexpected"): 1,
    }
    assert samples[ERRORS] == {("CUSTOMER_NOT_FOUND",): 1, ("QUERY_TOO_COMPLEX",): 1, ("UNEXPECTED",): 1}
    assert samples["pointledger_graphql_request_duration_seconds_bucket"][("+Inf", "Ping", "ok")] == 3


async def test_operation_names_are_bounded_labels(database, clock, org):
    async with metrics_server(database, clock, metrics_operation_names_max=2) as (_, client):
        api = Api(client, org, database, clock)
        long_name = "L" * 65  # a valid GraphQL name, too long for a label: takes no place of the two
        await api.data(f"query {long_name} {{ __typename }}", {})
        for name in ("First", "Second", "Third", "First"):
            await api.data(f"query {name} {{ __typename }}")
        await api.data("{ __typename }", {})
        await api.post("query Broken { nothing }", {})

        samples = await scrape(client)

    assert samples[REQUESTS] == {
        ("First", "ok"): 2,
        ("Second", "ok"): 1,
        ("other", "ok"): 2,
        ("anonymous", "ok"): 1,
        ("anonymous", "invalid_request"): 1,
    }


async def test_a_batch_counts_each_refused_items_code(api):
    document = """
    mutation Batch($input: [TransactionAddInput!]!) { addTransactions(input: $input) { __typename } }
    """
    good = bill(customer={"mobile": new_mobile()})
    unknown_till = bill(customer={"mobile": new_mobile()}, tillCode="nowhere")
    answer = await api.data(document, {"input": [good, unknown_till, unknown_till | {"number": "OTHER-1"}]})
    assert [item["__typename"] for item in answer["addTransactions"]] == [
        "TransactionAdded",
        "NotFoundError",
        "NotFoundError",
    ]

    samples = await scrape(api.client)

    assert samples[REQUESTS] == {("Batch", "TILL_NOT_FOUND"): 1}
    assert samples[ERRORS] == {("TILL_NOT_FOUND",): 2}


async def test_pool_use_is_read_when_scraped(api, database):
    async with database.read():  # one reader checked out while Prometheus scrapes
        samples = await scrape(api.client)

    if POSTGRES_URL:
        expected_size = {("shared",): 20}  # tests.conftest's pool
        expected_checked_out = {("shared",): 1}
    else:
        expected_size = {("read",): 5, ("write",): 1}
        expected_checked_out = {("read",): 1, ("write",): 0}
    assert samples["pointledger_database_pool_size"] == expected_size
    assert samples["pointledger_database_pool_checked_out"] == expected_checked_out


async def test_import_rows_are_counted_by_profile_and_outcome(client_api):
    mixed = b"customerprofileid,amount\nD-1,10\nD-2,zero\nD-1,5\nD-3,1.5\n"
    job = await finished(client_api, str((await post_csv(client_api, mixed)).json()["job"]["id"]))
    assert (job["status"], job["rowsImported"], job["rowsRejected"]) == ("DONE", 2, 2)
    dry = await post_csv(client_api, b"customerprofileid,amount\nE-1,10\n", dryRun="true")
    await finished(client_api, str(dry.json()["job"]["id"]))

    samples = await scrape(client_api.client)

    assert samples["pointledger_import_rows_total"] == {
        ("accepted", "TALON_ONE_POINTS"): 2,
        ("rejected", "TALON_ONE_POINTS"): 2,
    }


async def test_maintenance_steps_are_timed_by_task_and_outcome(database, clock, monkeypatch):
    async with metrics_server(database, clock, maintenance_interval_seconds=0) as (services, client):
        await services.maintenance.run_once()

        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(maintenance, "expire_points", broken)
        await services.maintenance.run_once()  # fails at its first step: the others do not run

        samples = await scrape(client)

    assert samples["pointledger_maintenance_task_duration_seconds_count"] == {
        ("ok", "expiry"): 1,
        ("ok", "conversion"): 1,
        ("ok", "expiry_notice"): 1,
        ("ok", "tier_expiry"): 1,
        ("ok", "idempotency"): 1,
        ("ok", "webhook_retention"): 1,
        ("failed", "expiry"): 1,
    }


async def test_rate_limit_refusals_are_counted_by_the_role_whose_limit_refused(database, clock):
    """A till limit of 2: a batch of 4 gets 2 items refused, the next call is refused: 3. An admin
    limit of 1: the second /imports call is refused: 1."""
    credentials = await make_org(database, {**org_spec("limited"), "rate_limits": {"till": 2, "admin": 1}})
    batch = "mutation B($input: [TransactionAddInput!]!) { addTransactions(input: $input) { __typename } }"
    single = "mutation A($input: TransactionAddInput!) { addTransaction(input: $input) { __typename } }"
    async with metrics_server(database, clock) as (_, client):
        for query, variables in ((batch, {"input": [bill() for _ in range(4)]}), (single, {"input": bill()})):
            await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": credentials.header},
            )
        statuses = [
            (await client.get("/imports/1", headers={"Authorization": credentials.header})).status_code
            for _ in range(2)
        ]

        samples = await scrape(client)

    assert statuses == [404, 429]
    assert samples["pointledger_rate_limit_refusals_total"] == {("till",): 3, ("admin",): 1}
    assert samples["pointledger_graphql_errors_total"][("RATE_LIMITED",)] == 3


REFUSED = {
    "errors": [
        {
            "message": "Metrics are served to this host only, or with the bearer token (POINTLEDGER_METRICS_TOKEN).",
            "extensions": {"code": "UNAUTHENTICATED"},
        }
    ]
}


async def test_without_a_token_only_a_client_on_this_host_may_scrape(database, clock):
    async with metrics_server(database, clock, client_address=("203.0.113.7", 5000)) as (_, client):
        response = await client.get("/metrics")

    assert (response.status_code, response.headers["www-authenticate"], response.json()) == (401, "Bearer", REFUSED)


@pytest.mark.parametrize("address", ["127.0.0.1", "203.0.113.7"])
async def test_with_a_token_every_client_must_send_it(database, clock, address):
    async with metrics_server(database, clock, client_address=(address, 5000), metrics_token="s3cret") as (_, client):
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer guess"})
        samples = await scrape(client, headers={"Authorization": "Bearer s3cret"})

    assert (missing.status_code, missing.json()) == (401, REFUSED)
    assert (wrong.status_code, wrong.json()) == (401, REFUSED)
    assert samples["pointledger_database_pool_size"] != {}


async def test_with_several_workers_a_scrape_sums_every_workers_counts(migrated_template, tmp_path):
    if POSTGRES_URL:
        pytest.skip("the server runs on a SQLite file of its own")
    url, credentials = await database_with_org(migrated_template, tmp_path)
    counts = tmp_path / "prometheus"
    counts.mkdir()

    async def ping(client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/graphql",
            json={"query": "query Ping { __typename }"},
            headers={"Authorization": credentials.header, "Connection": "close"},  # a new connection: any worker
        )
        assert response.status_code == 200

    with running_server(url, tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(counts)) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            await asyncio.gather(*(ping(client) for _ in range(40)))
            samples = await scrape(client)

    assert samples[REQUESTS] == {("Ping", "ok"): 40}
