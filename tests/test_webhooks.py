"""Webhooks end to end: endpoints managed through GraphQL (admin), events delivered by the worker
to a receiving Starlette server on a loopback port, signed as Standard Webhooks define (verified
with standardwebhooks' Webhook.verify), retried with backoff on the injected clock, logged, replayed;
SSRF refusals; two workers racing; a server killed with -9 before delivery loses nothing."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import WebhookVerificationError

from app.organizations.service import apply_spec
from app.organizations.spec import OrganizationSpec
from app.outbox.models import OutboxEvent
from app.storage.database import Database
from app.webhooks.models import WebhookDelivery
from app.webhooks.worker import WebhookWorker, WorkerSettings
from tests.client import Api, buy
from tests.conftest import TEST_NOW, make_key, make_org
from tests.factories import new_mobile, org_spec
from tests.server import running_server_process
from tests.snapshots import table_counts
from tests.webhook_receiver import HANG, Receiver, running_receiver

events_table = OutboxEvent.__table__
deliveries_table = WebhookDelivery.__table__

ENDPOINT_FIELDS = (
    "id url eventTypes enabled orderedPerCustomer disabledReason failingSince previousSecretExpiresAt createdAt updatedAt"
)
CREATE = f"""
mutation Create($input: CreateWebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{
    __typename
    ... on WebhookEndpointWithSecret {{ secret endpoint {{ {ENDPOINT_FIELDS} }} }}
    ... on Error {{ code message field }}
  }}
}}
"""
UPDATE = f"""
mutation Update($input: UpdateWebhookEndpointInput!) {{
  updateWebhookEndpoint(input: $input) {{
    __typename
    ... on WebhookEndpointUpdated {{ endpoint {{ {ENDPOINT_FIELDS} }} }}
    ... on Error {{ code message field }}
  }}
}}
"""
ROTATE = f"""
mutation Rotate($endpoint: ID!) {{
  rotateWebhookSecret(endpoint: $endpoint) {{
    __typename
    ... on WebhookEndpointWithSecret {{ secret endpoint {{ {ENDPOINT_FIELDS} }} }}
    ... on Error {{ code message field }}
  }}
}}
"""
DELETE = """
mutation Delete($endpoint: ID!) {
  deleteWebhookEndpoint(endpoint: $endpoint) {
    __typename
    ... on WebhookEndpointDeleted { endpointId }
    ... on Error { code message field }
  }
}
"""
REPLAY = """
mutation Replay($input: ReplayWebhooksInput!) {
  replayWebhooks(input: $input) {
    __typename
    ... on WebhooksReplayed { deliveries }
    ... on Error { code message field }
  }
}
"""
ENDPOINTS = f"query {{ webhookEndpoints {{ {ENDPOINT_FIELDS} }} }}"
LOG = """
query Log($endpoint: ID!, $first: Int, $after: String) {
  webhookDeliveryLog(endpoint: $endpoint, first: $first, after: $after) {
    __typename
    ... on WebhookDeliveryLogPage {
      endpointId
      attempts {
        deliveryId eventId eventType attemptNumber attemptedAt statusCode error deliveryStatus nextAttemptAt replayed
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""
BILL_EVENTS = ["transaction.added", "points.earned"]


def private_spec(code: str = "acme") -> dict[str, Any]:
    """The test organisation, allowing endpoints at private addresses (the receiver is on loopback)."""
    return {**org_spec(code), "webhooks": {"allow_private_addresses": True}}


@pytest.fixture
async def org(database):
    return await make_org(database, private_spec())


@pytest.fixture
def receiver():
    with running_receiver() as running:
        yield running


@pytest.fixture
async def worker(database, clock):
    made = WebhookWorker(database, clock, settings=WorkerSettings(timeout_seconds=0.5), jitter=lambda: 0.0)
    yield made
    await made.close()


async def create(api: Api, url: str, event_types: list[str] | None = None, **extra: Any) -> dict:
    variables = {"input": {"url": url, "eventTypes": BILL_EVENTS if event_types is None else event_types, **extra}}
    return (await api.data(CREATE, variables))["createWebhookEndpoint"]


async def created(api: Api, url: str, event_types: list[str] | None = None, **extra: Any) -> tuple[str, str]:
    """A new endpoint that must be made: (its id, its secret)."""
    result = await create(api, url, event_types, **extra)
    assert result["__typename"] == "WebhookEndpointWithSecret", result
    return result["endpoint"]["id"], result["secret"]


async def endpoints(api: Api) -> list[dict]:
    return (await api.data(ENDPOINTS))["webhookEndpoints"]


async def log(api: Api, endpoint_id: str, first: int = 100, after: str | None = None) -> dict:
    return (await api.data(LOG, {"endpoint": endpoint_id, "first": first, "after": after}))["webhookDeliveryLog"]


async def outbox(database: Database, event_types: list[str] | None = None) -> list[dict]:
    """The outbox's events, in id order (of these types): what receivers must get."""
    async with database.read() as connection:
        rows = (await connection.execute(select(events_table).order_by(events_table.c.id))).all()
    return [row._asdict() for row in rows if event_types is None or row.type in event_types]


def message_of(event: dict) -> dict:
    """The body a receiver gets for an outbox event (Standard Webhooks' type, timestamp, data)."""
    return {"type": event["type"], "timestamp": event["created_at"].isoformat(), "data": event["payload"]}


def endpoint_view(endpoint_id: str, url: str, **changes: Any) -> dict:
    return {
        "id": endpoint_id,
        "url": url,
        "eventTypes": sorted(BILL_EVENTS),
        "enabled": True,
        "orderedPerCustomer": False,
        "disabledReason": None,
        "failingSince": None,
        "previousSecretExpiresAt": None,
        "createdAt": TEST_NOW.isoformat(),
        "updatedAt": TEST_NOW.isoformat(),
        **changes,
    }


# --- Endpoints -----------------------------------------------------------------------------


async def test_an_endpoint_is_created_with_its_secret_shown_once_and_listed_without_it(api, receiver):
    result = await create(api, receiver.endpoint(), ["points.earned", "transaction.added", "points.earned"])

    endpoint_id = result["endpoint"]["id"]
    assert result == {
        "__typename": "WebhookEndpointWithSecret",
        "secret": result["secret"],
        "endpoint": endpoint_view(endpoint_id, receiver.endpoint()),
    }
    assert result["secret"].startswith("whsec_")
    assert len(base64.b64decode(result["secret"].removeprefix("whsec_"))) == 32
    assert await endpoints(api) == [endpoint_view(endpoint_id, receiver.endpoint())]


@pytest.mark.parametrize(
    ("url", "event_types", "code", "field", "message"),
    [
        ("ftp://hooks.example/x", BILL_EVENTS, "INVALID_WEBHOOK_URL", "url", "must be an http or https URL"),
        ("https:///path", BILL_EVENTS, "INVALID_WEBHOOK_URL", "url", "must name a host"),
        (
            "https://user:pw@93.184.215.14/x",
            BILL_EVENTS,
            "INVALID_WEBHOOK_URL",
            "url",
            "must not carry credentials (the signature authenticates deliveries)",
        ),
        (
            "https://93.184.215.14/x",
            ["points.earned", "points.stolen"],
            "UNKNOWN_EVENT_TYPE",
            "eventTypes.1",
            None,
        ),
        ("https://93.184.215.14/x", [], "INVALID_INPUT", "eventTypes", "must name at least one event type"),
    ],
)
async def test_a_bad_endpoint_is_refused_naming_the_field_and_nothing_is_written(
    api, database, url, event_types, code, field, message
):
    before = await table_counts(database)

    result = await create(api, url, event_types)

    assert (result["__typename"], result["code"], result["field"]) == ("InvalidInputError", code, field)
    if message is not None:
        assert result["message"] == message
    assert await table_counts(database) == before


@pytest.mark.parametrize(
    ("url", "address_refusal"),
    [
        ("http://127.0.0.1:8080/hooks", "resolves to a loopback address (127.0.0.1)"),
        ("http://[::1]/hooks", "resolves to a loopback address (::1)"),
        ("http://169.254.169.254/latest/meta-data", "resolves to a link-local address (169.254.169.254)"),
        ("http://10.1.2.3/hooks", "resolves to a private or reserved address (10.1.2.3)"),
        ("http://192.168.0.10/hooks", "resolves to a private or reserved address (192.168.0.10)"),
        ("http://0.0.0.0/hooks", "resolves to an unspecified address (0.0.0.0)"),
        ("http://[::ffff:127.0.0.1]/hooks", "resolves to a loopback address (127.0.0.1)"),
        ("http://localhost/hooks", "resolves to a loopback address"),
    ],
)
async def test_an_endpoint_at_a_private_address_is_refused_unless_the_organisation_allows_it(
    api, database, org_api, url, address_refusal
):
    strict = await org_api(org_spec("strict"))
    before = await table_counts(database)

    refused = await create(strict, url)
    allowed = await create(api, url)

    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "InvalidInputError",
        "WEBHOOK_ADDRESS_NOT_ALLOWED",
        "url",
    )
    assert address_refusal in refused["message"]
    assert refused["message"].endswith(
        ": refused unless the organisation file sets [webhooks] allow_private_addresses = true"
    )
    assert allowed["__typename"] == "WebhookEndpointWithSecret"
    assert await endpoints(strict) == []
    assert (await table_counts(database))["webhook_endpoints"] == before["webhook_endpoints"] + 1


async def test_an_endpoint_is_updated_and_deleted_and_another_organisations_id_is_not_found(
    api, org_api, receiver, clock
):
    endpoint_id, _ = await created(api, receiver.endpoint())
    other = await org_api(private_spec("other"))
    clock.advance(timedelta(minutes=1))

    updated = (
        await api.data(
            UPDATE,
            {"input": {"endpoint": endpoint_id, "enabled": False, "eventTypes": ["coupon.resend_requested"]}},
        )
    )["updateWebhookEndpoint"]
    foreign_update = (await other.data(UPDATE, {"input": {"endpoint": endpoint_id, "enabled": True}}))[
        "updateWebhookEndpoint"
    ]
    foreign_delete = (await other.data(DELETE, {"endpoint": endpoint_id}))["deleteWebhookEndpoint"]
    foreign_log = await log(other, endpoint_id)
    changed = endpoint_view(
        endpoint_id,
        receiver.endpoint(),
        enabled=False,
        eventTypes=["coupon.resend_requested"],
        updatedAt=clock.now().isoformat(),
    )

    assert updated == {"__typename": "WebhookEndpointUpdated", "endpoint": changed}
    not_found = {
        "__typename": "NotFoundError",
        "code": "WEBHOOK_ENDPOINT_NOT_FOUND",
        "message": "no webhook endpoint of this organisation has this id",
        "field": "endpoint",
    }
    assert foreign_update == not_found
    assert foreign_delete == not_found
    assert foreign_log == not_found
    assert await endpoints(api) == [changed]
    assert (await api.data(DELETE, {"endpoint": endpoint_id}))["deleteWebhookEndpoint"] == {
        "__typename": "WebhookEndpointDeleted",
        "endpointId": endpoint_id,
    }
    assert await endpoints(api) == []


async def test_only_admin_keys_manage_endpoints(api, database, org, receiver):
    till = await make_key(database, org.org_id, frozenset({"till"}), name="till")

    body = await api.post(ENDPOINTS, credentials=till)

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
