"""GraphQL subscriptions over WebSocket (graphql-transport-ws), with a real WebSocket client
(httpx-ws) against the app: a customer's events as they commit, resumed after a reconnect from
the last event id seen, an import job until it finishes; keys checked in connection_init, roles
as the matching queries, and another organisation's customer or job never streamed.

No test waits for something not to happen: "nothing else arrived" is shown by what arrives next
(a later bill's event comes first)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from sqlalchemy import event, func, select

from app.http.app import create_app
from app.kernel.clock import FrozenClock
from app.kernel.settings import Settings
from app.organizations.roles import Role
from app.outbox import feed as feed_module
from app.outbox import repository as outbox_repository
from app.outbox.feed import OutboxFeed, customer_events_between
from app.outbox.repository import events
from app.outbox.service import load_event
from app.storage.database import Database
from tests.client import Api, Credentials, buy
from tests.conftest import POSTGRES_URL, TEST_NOW, make_key, make_org, stop_background_work
from tests.factories import new_mobile, org_spec
from tests.import_checks import submit_local

PROTOCOL = "graphql-transport-ws"
MESSAGE_WAIT_SECONDS = 30  # a guard against a hang, not a measure: messages come in milliseconds

CUSTOMER_LEDGER = """
subscription Ledger($customer: CustomerLookupInput!, $after: ID) {
  customerLedger(customer: $customer, after: $after) {
    __typename
    ... on CustomerEvent { id type createdAt payload }
    ... on Error { code message field }
  }
}
"""

IMPORT_JOB = """
subscription Job($id: ID!) {
  importJob(id: $id) {
    __typename
    ... on ImportJob { id status rowsRead rowsImported rowsRejected customersCreated pointsImported errorCode }
    ... on Error { code message field }
  }
}
"""


@pytest.fixture
async def served(database: Database, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Any]:
    """The app (its imports in the test's directory)."""
    settings = Settings(database_url=database.url, import_directory=str(tmp_path / "imports"))
    app = create_app(settings, database=database, clock=clock)
    yield app
    await stop_background_work(app)


@pytest.fixture
async def api_ws(served: Any, org: Credentials, database: Database, clock: FrozenClock) -> AsyncIterator[Api]:
    """The organisation's HTTP client of the served app."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://testserver") as client:
        yield Api(client, org, database, clock)


@asynccontextmanager
async def websocket(app: Any) -> AsyncIterator[Any]:
    """A WebSocket to the app's /graphql speaking graphql-transport-ws, not initialised yet (the
    client's transport lives in the test's own task, as its task group must)."""
    async with (
        httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as client,
        aconnect_ws("/graphql", client, subprotocols=[PROTOCOL]) as socket,
    ):
        yield socket


class Session:
    """One graphql-transport-ws connection, acknowledged."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket

    async def subscribe(self, operation_id: str, query: str, variables: dict[str, Any]) -> None:
        await self.socket.send_json(
            {"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )

    async def receive(self) -> dict[str, Any]:
        return await self.socket.receive_json(timeout=MESSAGE_WAIT_SECONDS)

    async def next_data(self, operation_id: str) -> dict[str, Any]:
        message = await self.receive()
        assert (message["type"], message["id"]) == ("next", operation_id), message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]


@asynccontextmanager
async def session(app: Any, credentials: Credentials) -> AsyncIterator[Session]:
    async with websocket(app) as socket:
        await socket.send_json({"type": "connection_init", "payload": {"Authorization": credentials.header}})
        acknowledged = await socket.receive_json(timeout=MESSAGE_WAIT_SECONDS)
        assert acknowledged == {"type": "connection_ack"}
        yield Session(socket)


async def outbox_event(database: Database, org_id: int, event_id: str) -> dict[str, Any]:
    """The event as the outbox holds it, as the subscription shows it."""
    async with database.read() as connection:
        view = await load_event(connection, org_id=org_id, event_id=int(event_id))
    return {
        "__typename": "CustomerEvent",
        "id": str(view.id),
        "type": view.type,
        "createdAt": view.created_at.isoformat(),
        "payload": view.payload,
    }


async def outbox_events_of(database: Database, org_id: int, event_type: str) -> list[dict[str, Any]]:
    """The payloads of the organisation's events of this type, in id order."""
    statement = (
        select(events.c.payload).where(events.c.org_id == org_id, events.c.type == event_type).order_by(events.c.id)
    )
    async with database.read() as connection:
        return list((await connection.execute(statement)).scalars())


async def last_event_id(database: Database, org_id: int) -> str:
    """Where a subscriber that wants what happens from now on starts (`after`): a subscription
    without `after` starts when the server has set it up, which a test cannot see happen."""
    statement = select(func.coalesce(func.max(events.c.id), 0)).where(events.c.org_id == org_id)
    async with database.read() as connection:
        return str((await connection.execute(statement)).scalar_one())


async def ledger_events(client_session: Session, operation_id: str, count: int) -> list[dict[str, Any]]:
    return [(await client_session.next_data(operation_id))["customerLedger"] for _ in range(count)]


# --- customerLedger -------------------------------------------------------------------------


async def test_a_bill_posted_after_subscribing_arrives_with_the_outbox_event_exactly(served, api_ws, org, database):
    app = served
    mobile = new_mobile()
    first_bill = await buy(api_ws, mobile, "1000")
    now = await last_event_id(database, org.org_id)
    async with session(app, org) as subscriber:
        await subscriber.subscribe(
            "1", CUSTOMER_LEDGER, {"customer": {"type": "MOBILE", "value": mobile}, "after": now}
        )

        added = await buy(api_ws, mobile, "2500")
        arrived = [(await subscriber.next_data("1"))["customerLedger"]]
        while arrived[-1]["type"] != "points.earned":  # the bill's events, in the order they committed
            arrived.append((await subscriber.next_data("1"))["customerLedger"])

    transaction = added["transaction"]
    assert [(event["type"], event["payload"]) for event in arrived] == [
        (
            "transaction.added",
            {
                "version": 1,
                "userId": transaction["customer"]["userId"],
                "transactionId": transaction["id"],
                "billNumber": transaction["number"],
                "type": "REGULAR",
                "storeCode": "store-1",
                "amount": "2500",
                "billingTime": TEST_NOW.isoformat(),
                "programCode": "main",
                "pointsEarned": "25",
            },
        ),
        (
            "points.earned",
            {
                "version": 1,
                "userId": transaction["customer"]["userId"],
                "programCode": "main",
                "points": "25",
                "balance": "35",
                "transactionId": transaction["id"],
                "billNumber": transaction["number"],
                "expiresAt": "2027-11-30T18:29:59+00:00",
            },
        ),
    ]
    assert arrived == [await outbox_event(database, org.org_id, event["id"]) for event in arrived]
    assert int(now) < int(arrived[0]["id"]) < int(arrived[1]["id"])
    assert first_bill["transaction"]["number"] != transaction["number"]  # `after`: not the earlier bill


async def test_resuming_after_the_last_event_seen_gets_exactly_the_missed_events_then_live_ones(
    served, api_ws, org, database
):
    app = served
    mobile = new_mobile()
    await buy(api_ws, mobile, "1000")
    async with session(app, org) as subscriber:
        await subscriber.subscribe(
            "1", CUSTOMER_LEDGER, {"customer": {"type": "MOBILE", "value": mobile}, "after": "0"}
        )
        seen = await ledger_events(subscriber, "1", 2)
    last_seen = seen[-1]["id"]
    missed_bills = [await buy(api_ws, mobile, "2000"), await buy(api_ws, mobile, "3000")]

    async with session(app, org) as subscriber:
        await subscriber.subscribe(
            "2", CUSTOMER_LEDGER, {"customer": {"type": "MOBILE", "value": mobile}, "after": last_seen}
        )
        missed = await ledger_events(subscriber, "2", 4)
        live_bill = await buy(api_ws, mobile, "4000")
        live = await ledger_events(subscriber, "2", 2)

    assert [event["type"] for event in seen] == ["transaction.added", "points.earned"]
    assert [(event["type"], event["payload"].get("billNumber")) for event in missed] == [
        ("transaction.added", missed_bills[0]["transaction"]["number"]),
        ("points.earned", missed[1]["payload"].get("billNumber")),
        ("transaction.added", missed_bills[1]["transaction"]["number"]),
        ("points.earned", missed[3]["payload"].get("billNumber")),
    ]
    assert [int(event["id"]) for event in missed] == sorted(int(event["id"]) for event in missed)
    assert int(missed[0]["id"]) > int(last_seen)
    assert missed == [await outbox_event(database, org.org_id, event["id"]) for event in missed]
    assert (live[0]["type"], live[0]["payload"]["billNumber"]) == (
        "transaction.added",
        live_bill["transaction"]["number"],
    )
    assert int(live[0]["id"]) > int(missed[-1]["id"])


async def test_after_zero_replays_the_customers_whole_stream_and_nobody_elses(served, api_ws, org):
    app = served
    mobile, other_mobile = new_mobile(), new_mobile()
    await buy(api_ws, mobile, "1000")
    await buy(api_ws, other_mobile, "1000")
    await buy(api_ws, mobile, "2000")

    async with session(app, org) as subscriber:
        await subscriber.subscribe(
            "1", CUSTOMER_LEDGER, {"customer": {"type": "MOBILE", "value": mobile}, "after": "0"}
        )
        replayed = await ledger_events(subscriber, "1", 4)

    assert [event["type"] for event in replayed] == [
        "transaction.added",
        "points.earned",
        "transaction.added",
        "points.earned",
    ]
    assert {event["payload"]["userId"] for event in replayed} == {replayed[0]["payload"]["userId"]}


async def test_another_organisations_customer_is_not_found_and_its_events_never_reach_the_other_key(
    served, api_ws, org, database
):
    app = served
    other = await make_org(database, org_spec("other"))
    mobile, others_mobile = new_mobile(), new_mobile()
    await buy(api_ws, mobile, "1000")
    await buy(api_ws, others_mobile, "1000", credentials=other)

    async with session(app, other) as intruder:
        await intruder.subscribe("1", CUSTOMER_LEDGER, {"customer": {"type": "MOBILE", "value": mobile}, "after": "0"})
        refused = await intruder.next_data("1")
        completed = await intruder.receive()
        await intruder.subscribe(
            "2", CUSTOMER_LEDGER, {"customer": {"type": "MOBILE", "value": others_mobile}, "after": "0"}
        )
        own_history = await ledger_events(intruder, "2", 2)
        await buy(api_ws, mobile, "5000")  # the first organisation's customer buys again
        own_bill = await buy(api_ws, others_mobile, "7000", credentials=other)
        next_seen = await ledger_events(intruder, "2", 2)

    assert refused == {
        "customerLedger": {
            "__typename": "NotFoundError",
            "code": "CUSTOMER_NOT_FOUND",
            "message": f"no customer with MOBILE {mobile!r}",
            "field": "customer",
        }
    }
    assert completed == {"id": "1", "type": "complete"}
    assert {event["payload"]["userId"] for event in own_history + next_seen} == {own_history[0]["payload"]["userId"]}
    assert next_seen[0]["payload"]["billNumber"] == own_bill["transaction"]["number"]


async def test_an_after_that_is_not_an_event_id_is_invalid_input(served, org):
    app = served
    async with session(app, org) as subscriber:
        await subscriber.subscribe(
            "1", CUSTOMER_LEDGER, {"customer": {"type": "MOBILE", "value": new_mobile()}, "after": "x1"}
        )
        refused = await subscriber.next_data("1")

    assert refused == {
        "customerLedger": {
            "__typename": "InvalidInputError",
            "code": "INVALID_INPUT",
            "message": "must be an event id (a whole number)",
            "field": "after",
        }
    }


# --- connection_init and roles ---------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"Authorization": "Basic bm9wZTpub3Bl"},  # nope:nope
        {"Authorization": 42},
    ],
    ids=["no key", "unknown key", "not a header"],
)
async def test_a_connection_init_without_a_valid_key_is_closed_with_4403(served, payload):
    app = served
    async with websocket(app) as socket:
        await socket.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            await socket.receive_json(timeout=MESSAGE_WAIT_SECONDS)

    assert (closed.value.code, closed.value.reason) == (4403, "Forbidden")


async def test_a_wrong_secret_is_refused_like_an_unknown_key(served, org):
    app = served
    wrong = Credentials(org.org_id, org.key_id, "not-the-secret")
    async with websocket(app) as socket:
        await socket.send_json({"type": "connection_init", "payload": {"Authorization": wrong.header}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await socket.receive_json(timeout=MESSAGE_WAIT_SECONDS)

    assert closed.value.code == 4403


async def test_a_subscribe_before_connection_init_is_closed_with_4401(served):
    app = served
    async with websocket(app) as socket:
        await socket.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": CUSTOMER_LEDGER, "variables": {"customer": {"type": "MOBILE", "value": "1"}}},
            }
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            await socket.receive_json(timeout=MESSAGE_WAIT_SECONDS)

    assert (closed.value.code, closed.value.reason) == (4401, "Unauthorized")


@pytest.mark.parametrize(
    ("role", "query", "variables", "field", "allowed"),
    [
        (Role.TILL, CUSTOMER_LEDGER, {"customer": {"type": "USER_ID", "value": "1"}}, "customerLedger", False),
        (Role.ADMIN, CUSTOMER_LEDGER, {"customer": {"type": "USER_ID", "value": "1"}}, "customerLedger", False),
        (Role.APP, CUSTOMER_LEDGER, {"customer": {"type": "USER_ID", "value": "1"}}, "customerLedger", True),
        (Role.MEMBER_CARE, CUSTOMER_LEDGER, {"customer": {"type": "USER_ID", "value": "1"}}, "customerLedger", True),
        (Role.MEMBER_CARE, IMPORT_JOB, {"id": "1"}, "importJob", False),
        (Role.ADMIN, IMPORT_JOB, {"id": "1"}, "importJob", True),
    ],
)
async def test_a_subscription_runs_for_the_roles_of_its_query_only(
    served, org, database, role, query, variables, field, allowed
):
    app = served
    key = await make_key(database, org.org_id, frozenset({role}), role.value)
    async with session(app, key) as subscriber:
        await subscriber.subscribe("1", query, variables)
        answer = await subscriber.receive()

    if allowed:  # it runs: the customer or job named is not there
        assert (answer["type"], answer["payload"]["data"][field]["__typename"]) == ("next", "NotFoundError"), answer
    else:
        roles = "one of the roles app, member_care" if field == "customerLedger" else "the role admin"
        assert answer["type"] == "error", answer
        assert [(error["message"], error["extensions"]["code"]) for error in answer["payload"]] == [
            (f"{field} needs an API key with {roles}", "FORBIDDEN")
        ]


# --- importJob and import_job.finished ---------------------------------------------------------


POINTS_FILE = (
    "customerprofileid,amount,startdate,expirydate,subledgerid,reason\n"
    "SUBSCRIBED1,150,2026-11-10T23:00:00Z,2027-11-11T23:00:00Z,,appeasement\n"
    "SUBSCRIBED2,lots,2026-11-10T23:00:00Z,2027-11-11T23:00:00Z,,appeasement\n"
)


async def test_an_import_job_streams_its_state_then_its_finish_and_completes(served, org, database, tmp_path):
    app = served
    path = tmp_path / "points.csv"
    path.write_text(POINTS_FILE)
    job_id = (await submit_local(database, org.org_id, path)).id  # submitted, not started: the test starts it

    async with session(app, org) as subscriber:
        await subscriber.subscribe("1", IMPORT_JOB, {"id": str(job_id)})
        queued = await subscriber.next_data("1")
        app.state.services.imports.submit(job_id)
        updates = [await subscriber.next_data("1")]
        while updates[-1]["importJob"]["status"] not in ("DONE", "FAILED"):
            updates.append(await subscriber.next_data("1"))
        completed = await subscriber.receive()

    assert queued == {
        "importJob": {
            "__typename": "ImportJob",
            "id": str(job_id),
            "status": "QUEUED",
            "rowsRead": 0,
            "rowsImported": 0,
            "rowsRejected": 0,
            "customersCreated": 0,
            "pointsImported": "0",
            "errorCode": None,
        }
    }
    assert updates[-1] == {
        "importJob": {
            "__typename": "ImportJob",
            "id": str(job_id),
            "status": "DONE",
            "rowsRead": 2,
            "rowsImported": 1,
            "rowsRejected": 1,
            "customersCreated": 1,
            "pointsImported": "150",
            "errorCode": None,
        }
    }
    assert completed == {"id": "1", "type": "complete"}
    assert await outbox_events_of(database, org.org_id, "import_job.finished") == [
        {
            "version": 1,
            "userId": None,
            "jobId": str(job_id),
            "profile": "TALON_ONE_POINTS",
            "status": "DONE",
            "dryRun": False,
            "rowsRead": 2,
            "rowsImported": 1,
            "rowsRejected": 1,
            "customersCreated": 1,
            "pointsImported": "150",
            "errorCode": None,
            "finishedAt": TEST_NOW.isoformat(),
        }
    ]


async def test_another_organisations_import_job_is_not_found(served, org, database, tmp_path):
    app = served
    other = await make_org(database, org_spec("other"))
    path = tmp_path / "points.csv"
    path.write_text(POINTS_FILE)
    job_id = (await submit_local(database, org.org_id, path)).id

    async with session(app, other) as intruder:
        await intruder.subscribe("1", IMPORT_JOB, {"id": str(job_id)})
        refused = await intruder.next_data("1")
        completed = await intruder.receive()

    assert refused == {
        "importJob": {
            "__typename": "NotFoundError",
            "code": "IMPORT_JOB_NOT_FOUND",
            "message": f"no import job {job_id}",
            "field": "id",
        }
    }
    assert completed == {"id": "1", "type": "complete"}


async def test_a_finished_job_streams_its_final_state_once_and_completes(served, api_ws, org, database, tmp_path):
    app = served
    path = tmp_path / "points.csv"
    path.write_text(POINTS_FILE)
    job_id = (await submit_local(database, org.org_id, path)).id
    app.state.services.imports.submit(job_id)
    await app.state.services.imports.wait(job_id)

    async with session(app, org) as subscriber:
        await subscriber.subscribe("1", IMPORT_JOB, {"id": str(job_id)})
        final = await subscriber.next_data("1")
        completed = await subscriber.receive()

    assert (final["importJob"]["status"], final["importJob"]["rowsImported"]) == ("DONE", 1)
    assert completed == {"id": "1", "type": "complete"}


# --- the feed: one read per commit, bounded per subscriber ---------------------------------------


async def test_three_subscribers_cost_one_outbox_read_per_committed_bill(database, clock, org, tmp_path):
    settings = Settings(database_url=database.url, subscription_poll_interval_seconds=3600)  # no poll in the test
    app = create_app(settings, database=database, clock=clock)
    mobiles = [new_mobile() for _ in range(3)]
    reads: list[str] = []

    def count_outbox_reads(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "outbox_events" in statement:
            reads.append(statement)

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            api = Api(client, org, database, clock)
            for mobile in mobiles:
                await buy(api, mobile, "1000")
            now = await last_event_id(database, org.org_id)
            async with session(app, org) as subscriber:
                for number, mobile in enumerate(mobiles, start=1):
                    await subscriber.subscribe(
                        str(number), CUSTOMER_LEDGER, {"customer": {"type": "MOBILE", "value": mobile}, "after": now}
                    )
                for mobile in mobiles:  # each subscriber is live once it has its customer's bill
                    await buy(api, mobile, "1000")
                warmed = [await subscriber.receive() for _ in range(6)]
                for _ in range(3000):  # a late wake-up's read of the bills above is not the next bill's
                    if app.state.services.outbox_feed.is_idle():
                        break
                    await asyncio.sleep(0.001)
                event.listen(database.read_engine.sync_engine, "before_cursor_execute", count_outbox_reads)
                try:
                    await buy(api, mobiles[0], "2000")
                    arrived = [await subscriber.receive() for _ in range(2)]
                finally:
                    event.remove(database.read_engine.sync_engine, "before_cursor_execute", count_outbox_reads)
    finally:
        await stop_background_work(app)

    assert sorted(message["id"] for message in warmed) == ["1", "1", "2", "2", "3", "3"]
    assert [(message["id"], message["payload"]["data"]["customerLedger"]["type"]) for message in arrived] == [
        ("1", "transaction.added"),
        ("1", "points.earned"),
    ]
    assert len(reads) == 1, reads  # the feed's one read, whatever the number of subscribers


async def test_a_subscriber_that_falls_behind_is_told_what_it_missed_and_holds_no_more_than_its_bound(
    api, org, database, monkeypatch
):
    monkeypatch.setattr(feed_module, "SUBSCRIBER_QUEUE_LENGTH_MAX", 2)
    mobile = new_mobile()
    await buy(api, mobile, "1000")
    customer_id = int((await buy(api, mobile, "1000"))["transaction"]["customer"]["userId"])
    feed = OutboxFeed(database, poll_interval_seconds=3600)

    async with feed.subscribe(org.org_id, lambda event: event.customer_id == customer_id) as subscription:
        started = await subscription.receive()
        await buy(api, mobile, "2000")  # 2 events: the queue is full
        full = await subscription.receive()
        for amount in ("3000", "4000"):  # 4 more events, not read meanwhile: it overflows
            await buy(api, mobile, amount)
        last_id = int(await last_event_id(database, org.org_id))
        for _ in range(3000):  # the feed's reader runs after each commit: until it has read the last
            if feed.position(org.org_id) == last_id:
                break
            await asyncio.sleep(0.01)
        behind = await subscription.receive()
        async with database.read() as connection:
            missed = await customer_events_between(
                connection,
                org_id=org.org_id,
                customer_id=customer_id,
                after_id=full.events[-1].id,
                until_id=behind.missed_until or 0,
                limit=100,
            )

    assert (started.events, started.missed_until) == ([], subscription.start_id)
    assert [event.type for event in full.events] == ["transaction.added", "points.earned"]
    assert full.missed_until is None
    assert behind.events == []
    assert [(event.type, event.payload.get("amount")) for event in missed] == [
        ("transaction.added", "3000"),
        ("points.earned", None),
        ("transaction.added", "4000"),
        ("points.earned", None),
    ]
    assert behind.missed_until == missed[-1].id


async def test_a_bill_committed_while_the_feed_reads_where_to_start_still_reaches_the_subscriber(
    api, org, database, monkeypatch
):
    mobile = new_mobile()
    customer_id = int((await buy(api, mobile, "1000"))["transaction"]["customer"]["userId"])
    feed = OutboxFeed(database, poll_interval_seconds=3600)  # no poll: only a commit's wake-up reads
    read_start = feed._last_event_id

    async def start_read_then_a_bill_commits(org_id: int) -> int:
        start = await read_start(org_id)
        await buy(api, mobile, "2000")  # commits, and wakes the feed before it has its cursor
        return start

    monkeypatch.setattr(feed, "_last_event_id", start_read_then_a_bill_commits)

    received = []
    async with feed.subscribe(org.org_id, lambda event: event.customer_id == customer_id) as subscription:
        while len(received) < 2:
            batch = await asyncio.wait_for(subscription.receive(), MESSAGE_WAIT_SECONDS)
            received.extend(batch.events)

    assert [(event.type, event.payload.get("amount")) for event in received] == [
        ("transaction.added", "2000"),
        ("points.earned", None),
    ]


@pytest.mark.skipif(not POSTGRES_URL, reason="SQLite's one writer commits event ids in order: no feed order lock")
async def test_the_feed_reads_no_event_while_a_transaction_that_took_a_smaller_id_is_open(api, org, database):
    mobile = new_mobile()
    await buy(api, mobile, "1000")
    before = int(await last_event_id(database, org.org_id))

    async with database.write_engine.connect() as writer:
        transaction = await writer.begin()
        await outbox_repository.hold_feed_order(writer, org.org_id)
        await outbox_repository.insert_events(
            writer,
            [
                {
                    "org_id": org.org_id,
                    "type": "test.open",
                    "payload": {},
                    "customer_id": None,  # no key lock on the customer: the bill below locks it
                    "created_at": TEST_NOW,
                }
            ],
        )
        await buy(api, mobile, "2000")  # commits events with larger ids meanwhile
        async with database.read_engine.connect() as connection:
            while_open = await outbox_repository.settled_events_after(
                connection, org_id=org.org_id, after_id=before, limit=100
            )
        await transaction.commit()
    async with database.read_engine.connect() as connection:
        after_commit = await outbox_repository.settled_events_after(
            connection, org_id=org.org_id, after_id=before, limit=100
        )

    assert while_open is None  # the reader waited for the open transaction, then gave up this round
    assert after_commit is not None
    assert [row.type for row in after_commit] == ["test.open", "transaction.added", "points.earned"]
