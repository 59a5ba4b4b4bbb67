"""Webhooks end to end: endpoints managed through GraphQL (admin), events delivered by the worker
to a receiving Starlette server on a loopback port, signed as Standard Webhooks define (verified
with standardwebhooks' Webhook.verify), retried with backoff on the injected clock, logged, replayed;
SSRF refusals; two workers racing; a server killed with -9 before delivery loses nothing."""

from __future__ import annotations

import asyncio
import base64
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import WebhookVerificationError
from typer.testing import CliRunner

from app.cli.main import cli
from app.kernel.clock import FrozenClock
from app.kernel.settings import get_settings
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
    "id url eventTypes enabled orderedPerCustomer disabledReason failingSince previousSecretExpiresAt "
    "createdAt updatedAt"
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
    # A timeout no local answer reaches on a loaded machine (the receiver is a thread of this
    # process); a test that wants a delivery timed out makes its own worker.
    made = WebhookWorker(database, clock, settings=WorkerSettings(timeout_seconds=5), jitter=lambda: 0.0)
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


# --- Delivery ------------------------------------------------------------------------------


async def test_every_event_arrives_once_signed_in_each_customers_order_and_is_logged(
    api, database, worker, receiver, clock
):
    endpoint_id, secret = await created(api, receiver.endpoint(), orderedPerCustomer=True)
    first, second = new_mobile(), new_mobile()
    await buy(api, first, "500")
    await buy(api, second, "300")
    await buy(api, first, "200")

    report = await worker.run_until_idle()

    expected = await outbox(database, BILL_EVENTS)
    assert len(expected) == 6  # each bill: transaction.added, points.earned
    messages = {request.webhook_id: request.verify(secret, clock.now()) for request in receiver.received}
    assert len(receiver.received) == 6
    assert messages == {str(event["id"]): message_of(event) for event in expected}
    for customer_id in {event["customer_id"] for event in expected}:
        customers_ids = [str(event["id"]) for event in expected if event["customer_id"] == customer_id]
        assert [webhook_id for webhook_id in receiver.webhook_ids() if webhook_id in customers_ids] == customers_ids
    assert {request.path for request in receiver.received} == {"/hooks"}
    assert {request.headers["webhook-timestamp"] for request in receiver.received} == {
        str(int(clock.now().timestamp()))
    }
    assert (report.fanned_out, report.sent, report.delivered, report.failed) == (6, 6, 6, 0)
    page = await log(api, endpoint_id)
    by_event = sorted(page["attempts"], key=lambda attempt: int(attempt["eventId"]))
    assert by_event == [
        {
            "deliveryId": attempt["deliveryId"],
            "eventId": str(event["id"]),
            "eventType": event["type"],
            "attemptNumber": 1,
            "attemptedAt": clock.now().isoformat(),
            "statusCode": 200,
            "error": None,
            "deliveryStatus": "DELIVERED",
            "nextAttemptAt": None,
            "replayed": False,
        }
        for attempt, event in zip(by_event, expected, strict=True)
    ]
    assert page["pageInfo"]["hasNextPage"] is False
    # Nothing is sent twice.
    assert (await worker.run_until_idle()).sent == 0
    assert len(receiver.received) == 6


async def test_the_log_is_keyset_paged_newest_first(api, worker, receiver):
    endpoint_id, _ = await created(api, receiver.endpoint())
    for _ in range(3):
        await buy(api, new_mobile(), "500")
    await worker.run_until_idle()

    first_page = await log(api, endpoint_id, first=4)
    second_page = await log(api, endpoint_id, first=4, after=first_page["pageInfo"]["endCursor"])

    event_ids = [attempt["eventId"] for attempt in first_page["attempts"] + second_page["attempts"]]
    assert sorted(event_ids, key=int) == sorted(receiver.webhook_ids(), key=int)
    assert len(event_ids) == 6
    assert [len(first_page["attempts"]), first_page["pageInfo"]["hasNextPage"]] == [4, True]
    assert [len(second_page["attempts"]), second_page["pageInfo"]["hasNextPage"]] == [2, False]


async def test_the_log_reads_in_a_fixed_number_of_statements(api, worker, receiver, count_statements):
    endpoint_id, _ = await created(api, receiver.endpoint())
    await buy(api, new_mobile(), "500")
    await worker.run_until_idle()
    small = count_statements()
    await log(api, endpoint_id)
    small_count = small.count
    for _ in range(5):
        await buy(api, new_mobile(), "500")
    await worker.run_until_idle()
    large = count_statements()

    page = await log(api, endpoint_id)

    assert len(page["attempts"]) == 12
    assert large.count == small_count  # the endpoint, then the page: whatever its length


async def test_a_refused_or_timed_out_delivery_is_retried_with_backoff_until_it_is_delivered(
    api, database, receiver, clock
):
    worker = WebhookWorker(database, clock, settings=WorkerSettings(timeout_seconds=1), jitter=lambda: 0.0)
    endpoint_id, secret = await created(api, receiver.endpoint(), ["points.earned"])
    receiver.script = [500, HANG]
    receiver.hang_seconds = 4
    start = clock.now()
    await buy(api, new_mobile(), "500")

    await worker.run_once()  # 500
    await worker.run_once()  # not due yet: nothing sent
    clock.advance(timedelta(seconds=5))
    await worker.run_once()  # no answer within the timeout
    clock.advance(timedelta(minutes=5) - timedelta(seconds=1))
    await worker.run_once()  # a second early: nothing sent
    clock.advance(timedelta(seconds=1))
    await worker.run_once()  # 200
    await worker.close()

    [event] = await outbox(database, ["points.earned"])
    assert receiver.webhook_ids() == [str(event["id"])] * 3
    assert [request.verify(secret, start) for request in receiver.received[:1]] == [message_of(event)]
    page = await log(api, endpoint_id)
    attempts = [
        (attempt["attemptNumber"], attempt["attemptedAt"], attempt["statusCode"], attempt["error"])
        for attempt in reversed(page["attempts"])
    ]
    assert attempts == [
        (1, start.isoformat(), 500, "HTTP 500"),
        (2, (start + timedelta(seconds=5)).isoformat(), None, "timeout: ReadTimeout"),
        (3, (start + timedelta(seconds=5, minutes=5)).isoformat(), 200, None),
    ]
    assert {attempt["deliveryStatus"] for attempt in page["attempts"]} == {"DELIVERED"}


async def test_jitter_shortens_a_retry_by_up_to_a_fifth(api, database, receiver, clock):
    endpoint_id, _ = await created(api, receiver.endpoint(), ["points.earned"])
    receiver.default = 500
    worker = WebhookWorker(database, clock, settings=WorkerSettings(timeout_seconds=0.5), jitter=lambda: 0.5)
    await buy(api, new_mobile(), "500")

    await worker.run_once()
    await worker.close()

    [attempt] = (await log(api, endpoint_id))["attempts"]
    assert attempt["nextAttemptAt"] == (clock.now() + timedelta(seconds=4.5)).isoformat()


async def test_a_delivery_refused_for_three_days_fails_and_an_endpoint_failing_for_five_days_is_disabled(
    api, database, worker, receiver, clock
):
    endpoint_id, _ = await created(api, receiver.endpoint(), ["points.earned"])
    receiver.default = 500
    start = clock.now()
    await buy(api, new_mobile(), "500")

    attempted_after = []
    while True:
        await worker.run_once()
        [latest, *_] = (await log(api, endpoint_id))["attempts"]
        attempted_after.append(clock.now() - start)
        if latest["deliveryStatus"] != "PENDING":
            break
        clock.set(datetime.fromisoformat(latest["nextAttemptAt"]))

    # 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h, until the next would come after 3 days.
    assert attempted_after == [
        timedelta(0),
        timedelta(seconds=5),
        timedelta(minutes=5, seconds=5),
        timedelta(minutes=35, seconds=5),
        timedelta(hours=2, minutes=35, seconds=5),
        timedelta(hours=7, minutes=35, seconds=5),
        timedelta(hours=17, minutes=35, seconds=5),
        timedelta(hours=27, minutes=35, seconds=5),
        timedelta(hours=37, minutes=35, seconds=5),
        timedelta(hours=47, minutes=35, seconds=5),
        timedelta(hours=57, minutes=35, seconds=5),
        timedelta(hours=67, minutes=35, seconds=5),
    ]
    assert latest["deliveryStatus"] == "FAILED"
    assert len(receiver.received) == 12
    [endpoint] = await endpoints(api)
    assert (endpoint["enabled"], endpoint["failingSince"]) == (True, start.isoformat())

    # Still failing on day 5: disabled, with the reason.
    clock.set(start + timedelta(days=4, hours=23))
    await buy(api, new_mobile(), "500")
    await worker.run_once()
    clock.set(start + timedelta(days=5))
    await worker.run_once()
    [endpoint] = await endpoints(api)
    assert (endpoint["enabled"], endpoint["disabledReason"], endpoint["failingSince"]) == (
        False,
        "every delivery failed for 5 days",
        start.isoformat(),
    )
    sent = len(receiver.received)
    await buy(api, new_mobile(), "500")
    clock.advance(timedelta(days=1))
    assert (await worker.run_until_idle()).sent == 0
    assert len(receiver.received) == sent


async def test_a_success_ends_an_endpoints_failing_streak(api, worker, receiver, clock):
    await created(api, receiver.endpoint(), ["points.earned"])
    receiver.script = [500]
    start = clock.now()
    await buy(api, new_mobile(), "500")
    await worker.run_once()
    failing = (await endpoints(api))[0]["failingSince"]
    clock.advance(timedelta(seconds=5))

    await worker.run_once()

    assert (failing, (await endpoints(api))[0]["failingSince"]) == (start.isoformat(), None)
    assert len(receiver.received) == 2


async def test_a_customers_next_event_waits_for_the_previous_one_on_an_ordered_endpoint(
    api, database, worker, receiver, clock
):
    await created(api, receiver.endpoint(), ["points.earned"], orderedPerCustomer=True)
    first, second = new_mobile(), new_mobile()
    await buy(api, first, "500")
    await buy(api, first, "600")
    await buy(api, second, "700")
    events = await outbox(database, ["points.earned"])
    ids = [str(event["id"]) for event in events]
    receiver.script_by_webhook_id = {ids[0]: [500]}

    await worker.run_once()  # the first customer's first event is refused; the second customer's goes
    clock.advance(timedelta(seconds=4))
    await worker.run_once()  # the first customer's second event waits for the first's retry
    after_wait = receiver.webhook_ids()
    clock.advance(timedelta(seconds=1))
    await worker.run_until_idle()

    assert sorted(after_wait) == sorted([ids[0], ids[2]])
    assert receiver.webhook_ids()[2:] == [ids[0], ids[1]]


async def test_a_disabled_endpoint_is_sent_nothing_and_enabling_it_sends_what_comes_next(
    api, database, worker, receiver
):
    endpoint_id, _ = await created(api, receiver.endpoint(), ["points.earned"], enabled=False)
    await buy(api, new_mobile(), "500")

    idle = await worker.run_until_idle()
    enabled = (await api.data(UPDATE, {"input": {"endpoint": endpoint_id, "enabled": True}}))["updateWebhookEndpoint"]
    await buy(api, new_mobile(), "600")
    await worker.run_until_idle()

    assert (idle.fanned_out, idle.sent) == (2, 0)
    assert enabled["endpoint"]["enabled"] is True
    [_, sent] = await outbox(database, ["points.earned"])
    assert receiver.webhook_ids() == [str(sent["id"])]


async def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(api, worker, receiver, clock):
    endpoint_id, old_secret = await created(api, receiver.endpoint(), ["points.earned"])
    clock.advance(timedelta(hours=1))
    rotated = (await api.data(ROTATE, {"endpoint": endpoint_id}))["rotateWebhookSecret"]
    new_secret = rotated["secret"]
    await buy(api, new_mobile(), "500")
    await worker.run_until_idle()
    clock.advance(timedelta(hours=24))
    await buy(api, new_mobile(), "600")
    await worker.run_until_idle()

    during, after = receiver.received
    assert rotated["endpoint"]["previousSecretExpiresAt"] == (TEST_NOW + timedelta(hours=25)).isoformat()
    assert new_secret != old_secret
    assert new_secret.startswith("whsec_")
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verify(old_secret, TEST_NOW + timedelta(hours=1)) == during.verify(
        new_secret, TEST_NOW + timedelta(hours=1)
    )
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert after.verify(new_secret, clock.now())["type"] == "points.earned"
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        after.verify(old_secret, clock.now())


async def test_an_address_the_organisation_stopped_allowing_is_refused_at_delivery(
    api, database, org, worker, receiver, clock
):
    endpoint_id, _ = await created(api, receiver.endpoint(), ["points.earned"])
    await apply_file(database, org_spec("acme"))  # [webhooks] allow_private_addresses gone
    await buy(api, new_mobile(), "500")

    await worker.run_once()

    [attempt] = (await log(api, endpoint_id))["attempts"]
    assert (attempt["statusCode"], attempt["error"], attempt["deliveryStatus"], attempt["nextAttemptAt"]) == (
        None,
        "refused: host 127.0.0.1 resolves to a loopback address (127.0.0.1)",
        "PENDING",
        (clock.now() + timedelta(seconds=5)).isoformat(),
    )
    assert receiver.received == []


async def test_a_redirect_is_not_followed(api, worker, receiver):
    endpoint_id, _ = await created(api, receiver.endpoint(), ["points.earned"])
    receiver.script = [307]
    await buy(api, new_mobile(), "500")

    await worker.run_once()

    [attempt] = (await log(api, endpoint_id))["attempts"]
    assert (attempt["statusCode"], attempt["error"], attempt["deliveryStatus"]) == (307, "HTTP 307", "PENDING")
    assert len(receiver.received) == 1


async def test_a_replay_sends_the_same_events_again_under_the_same_webhook_ids(api, database, worker, receiver, clock):
    endpoint_id, secret = await created(api, receiver.endpoint())
    await buy(api, new_mobile(), "500")
    clock.advance(timedelta(hours=1))
    await buy(api, new_mobile(), "600")
    await worker.run_until_idle()
    clock.advance(timedelta(hours=1))
    events = await outbox(database, BILL_EVENTS)

    replayed = (
        await api.data(
            REPLAY,
            {
                "input": {
                    "endpoint": endpoint_id,
                    "from": TEST_NOW.isoformat(),
                    "to": (TEST_NOW + timedelta(minutes=30)).isoformat(),
                    "types": ["points.earned"],
                }
            },
        )
    )["replayWebhooks"]
    await worker.run_until_idle()

    assert replayed == {"__typename": "WebhooksReplayed", "deliveries": 1}
    first_points = next(event for event in events if event["type"] == "points.earned")
    assert receiver.webhook_ids()[4:] == [str(first_points["id"])]
    # A receiver deduplicating by webhook-id processes each event once (each request verified as
    # it arrived: the replay an hour after the first deliveries).
    processed: dict[str, Any] = {}
    for request, arrived_at in zip(receiver.received, [TEST_NOW + timedelta(hours=1)] * 4 + [clock.now()], strict=True):
        processed.setdefault(request.webhook_id, request.verify(secret, arrived_at))
    assert processed == {str(event["id"]): message_of(event) for event in events}
    [latest, *_] = (await log(api, endpoint_id))["attempts"]
    assert (latest["eventId"], latest["replayed"], latest["deliveryStatus"]) == (
        str(first_points["id"]),
        True,
        "DELIVERED",
    )


async def test_a_replay_is_refused_for_a_bad_range_and_writes_nothing(api, database, receiver):
    endpoint_id, _ = await created(api, receiver.endpoint())
    before = await table_counts(database)
    variables = {"input": {"endpoint": endpoint_id, "from": TEST_NOW.isoformat(), "to": TEST_NOW.isoformat()}}

    result = (await api.data(REPLAY, variables))["replayWebhooks"]

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "must be after `from`",
        "field": "to",
    }
    assert await table_counts(database) == before


async def test_two_workers_racing_deliver_each_event_once(api, database, migrated_template, receiver, clock):
    await created(api, receiver.endpoint())
    for _ in range(10):
        await buy(api, new_mobile(), "500")
    receiver.answer_delay_seconds = 0.02
    # Two databases: on SQLite two writers as two processes have, on PostgreSQL two pools.
    other_database = Database(database.url, pool_size=5)
    workers = [
        WebhookWorker(each, clock, settings=WorkerSettings(timeout_seconds=5, batch=3), jitter=lambda: 0.0)
        for each in (database, other_database)
    ]
    try:
        reports = await asyncio.gather(*(worker.run_until_idle() for worker in workers))
    finally:
        for worker in workers:
            await worker.close()
        await other_database.dispose()

    expected = [str(event["id"]) for event in await outbox(database, BILL_EVENTS)]
    assert sorted(receiver.webhook_ids(), key=int) == expected
    assert sum(report.delivered for report in reports) == 20
    assert all(report.sent > 0 for report in reports)


async def apply_file(database: Database, spec: dict[str, Any]) -> None:
    parsed = OrganizationSpec.model_validate(spec)
    await database.run_write(lambda connection: apply_spec(connection, parsed, now=TEST_NOW))


async def test_a_server_killed_during_a_delivery_loses_no_event(database, org, tmp_path, receiver):
    """The real server (uvicorn in its own process) commits a bill, its worker sends the event, and
    is killed with -9 before the answer: the server started again sends it once its lease ran out."""
    receiver.script = [HANG]
    receiver.hang_seconds = 60
    environment = {"POINTLEDGER_WEBHOOK_POLL_INTERVAL_SECONDS": "0.2", "POINTLEDGER_WEBHOOK_TIMEOUT_SECONDS": "1"}
    with running_server_process(database.url, tmp_path, **environment) as first_server:
        async with httpx.AsyncClient(base_url=first_server.base_url, timeout=60) as client:
            api = Api(client, org, database, FrozenClock(TEST_NOW))
            endpoint_id, secret = await created(api, receiver.endpoint(), ["points.earned"])
            await buy(api, new_mobile(), "500")
            await arrived(receiver, 1)
        first_server.process.send_signal(signal.SIGKILL)
        first_server.process.wait(timeout=30)
    receiver.script = []

    with running_server_process(database.url, tmp_path, **environment) as second_server:
        async with httpx.AsyncClient(base_url=second_server.base_url, timeout=60) as client:
            api = Api(client, org, database, FrozenClock(TEST_NOW))
            await arrived(receiver, 2)
            attempts = await delivered_log(api, endpoint_id)

    [event] = await outbox(database, ["points.earned"])
    assert receiver.webhook_ids() == [str(event["id"])] * 2
    sent_at = datetime.fromtimestamp(int(receiver.received[1].headers["webhook-timestamp"]), UTC)
    assert receiver.received[1].verify(secret, sent_at) == message_of(event)
    # The killed worker's attempt was never recorded; the second is the one the log shows.
    assert [(attempt["attemptNumber"], attempt["statusCode"], attempt["deliveryStatus"]) for attempt in attempts] == [
        (2, 200, "DELIVERED")
    ]


async def arrived(receiver: Receiver, count: int, timeout_seconds: float = 60) -> None:
    """Until the receiver has `count` requests (the server's worker runs in another process)."""
    async with asyncio.timeout(timeout_seconds):
        while True:
            if len(receiver.received) >= count:
                return
            await asyncio.sleep(0.05)


async def delivered_log(api: Api, endpoint_id: str, timeout_seconds: float = 60) -> list[dict]:
    """The endpoint's log once its latest delivery is recorded as done."""
    async with asyncio.timeout(timeout_seconds):
        while True:
            attempts = (await log(api, endpoint_id))["attempts"]
            if attempts and attempts[0]["deliveryStatus"] != "PENDING":
                return attempts
            await asyncio.sleep(0.1)


async def test_at_most_the_in_flight_limit_is_sent_to_an_endpoint_at_once(api, database, receiver, clock):
    await created(api, receiver.endpoint(), ["points.earned"])
    for _ in range(3):
        await buy(api, new_mobile(), "500")
    worker = WebhookWorker(database, clock, settings=WorkerSettings(timeout_seconds=5, in_flight_max=2))

    first_pass = await worker.run_once()
    second_pass = await worker.run_once()
    await worker.close()

    assert (first_pass.sent, second_pass.sent, len(receiver.received)) == (2, 1, 3)


async def test_the_cli_delivers_until_idle(api, database, receiver, clock, monkeypatch):
    await created(api, receiver.endpoint(), ["points.earned"])
    await buy(api, new_mobile(), "500")
    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["webhooks", "deliver", "--until-idle"], env={"COLUMNS": "250"}, obj=clock
        )
    finally:
        get_settings.cache_clear()

    assert (result.exit_code, result.output) == (
        0,
        "2 events fanned out, 1 attempts, 1 delivered, 0 failed, 0 endpoints disabled\n",
    )
    [event] = await outbox(database, ["points.earned"])
    assert receiver.webhook_ids() == [str(event["id"])]


async def test_an_endpoint_deleted_while_its_delivery_is_in_flight_leaves_nothing_behind(
    api, database, worker, receiver
):
    endpoint_id, _ = await created(api, receiver.endpoint(), ["points.earned"])
    receiver.script = [HANG]
    receiver.hang_seconds = 2
    await buy(api, new_mobile(), "500")
    before = await table_counts(database)

    async def delete_once_sent() -> dict:
        await arrived(receiver, 1)
        return (await api.data(DELETE, {"endpoint": endpoint_id}))["deleteWebhookEndpoint"]

    report, deleted = await asyncio.gather(worker.run_once(), delete_once_sent())

    assert deleted == {"__typename": "WebhookEndpointDeleted", "endpointId": endpoint_id}
    assert (report.sent, report.delivered, report.failed) == (0, 0, 0)
    after = await table_counts(database)
    assert (after["webhook_endpoints"], after["webhook_deliveries"], after["webhook_attempts"]) == (
        before["webhook_endpoints"] - 1,
        0,
        0,
    )
