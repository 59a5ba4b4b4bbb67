"""Every change of an alternate currency is announced (issue 16): a redemption's reversal, a
transfer (one event per side) and the expiry run write their outbox events with exact payloads,
nothing for a refused or replayed write, and a webhook endpoint subscribed to them receives them
signed.

The org's main program declares rgpws7 "ac1" (0.05 per unit of eligible amount, whole units,
expiring 30 days after the bill) and pJ6E8A "ac2" (0.25, 2 places); a bill of 1,000 earns 50 ac1
and 250 ac2.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.ledger.expiry import expire_points
from app.webhooks.worker import WebhookWorker, WorkerSettings
from tests.conftest import make_org
from tests.factories import by_mobile, new_mobile
from tests.test_alternate_currencies import currencies_spec, purchase
from tests.test_currency_redemption_reversal import redeemed
from tests.test_currency_transfers import transfer, transfer_input
from tests.test_outbox_events import last_event_id, outbox_events
from tests.test_outbox_events_more import currency_event
from tests.test_webhooks import created, message_of, outbox
from tests.webhook_receiver import running_receiver

REVERSE = """
mutation Reverse($input: ReverseAlternateCurrencyRedemptionInput!) {
  reverseAlternateCurrencyRedemption(input: $input) {
    __typename
    ... on AlternateCurrencyRedemptionReversed { eventLogId replayed }
    ... on Error { code field }
  }
}
"""
CURRENCY_EVENTS = [
    "alternate_currency.reversed",
    "alternate_currency.transferred",
    "alternate_currency.expired",
]


async def reverse(api, event_log_id: str, key: str, value: str | None = None) -> dict:
    document = {"eventLogId": event_log_id, "idempotencyKey": key, **({"value": value} if value else {})}
    return (await api.data(REVERSE, {"input": document}))["reverseAlternateCurrencyRedemption"]


@pytest.fixture
async def org(database):
    # The receiver listens on loopback.
    return await make_org(database, {**currencies_spec(), "webhooks": {"allow_private_addresses": True}})


async def test_a_reversal_emits_alternate_currency_reversed_to_the_account_credited_once_per_key(api, database):
    mobile = new_mobile()
    user_id = (await purchase(api, mobile, "1000"))["customer"]["userId"]
    event_log_id = await redeemed(api, mobile, "30", "r-1")
    after = await last_event_id(database)

    part = await reverse(api, event_log_id, "back-1", "10")
    replayed = await reverse(api, event_log_id, "back-1", "10")
    refused = await reverse(api, event_log_id, "back-2", "21")

    assert (replayed["replayed"], refused["code"]) == (True, "INVALID_INPUT")
    assert await outbox_events(database, after) == [
        currency_event(
            "alternate_currency.reversed",
            user_id,
            "rgpws7",
            "ac1",
            "10",
            valueLeft="20",
            eventLogId=part["eventLogId"],
            redemptionEventLogId=event_log_id,
        )
    ]


async def test_a_transfer_emits_alternate_currency_transferred_on_each_side(api, database):
    sender, receiver = new_mobile(), new_mobile()
    sender_id = (await purchase(api, sender, "1000"))["customer"]["userId"]
    receiver_id = (await purchase(api, receiver, "20"))["customer"]["userId"]  # 1 ac1
    document = transfer_input(by_mobile(sender), by_mobile(receiver), "12", "t-1")
    after = await last_event_id(database)

    moved = await transfer(api, document)
    await transfer(api, document)  # a replay
    await transfer(api, {**document, "value": "51", "idempotencyKey": "t-2"})  # refused

    side = {"eventLogId": moved["eventLogId"]}
    assert await outbox_events(database, after) == [
        currency_event(
            "alternate_currency.transferred",
            sender_id,
            "rgpws7",
            "ac1",
            "12",
            direction="OUT",
            otherUserId=receiver_id,
            balance="38",
            **side,
        ),
        currency_event(
            "alternate_currency.transferred",
            receiver_id,
            "rgpws7",
            "ac1",
            "12",
            direction="IN",
            otherUserId=sender_id,
            balance="13",
            **side,
        ),
    ]


async def test_the_expiry_run_emits_alternate_currency_expired_per_account(api, database, clock):
    mobile = new_mobile()
    user_id = (await purchase(api, mobile, "1000"))["customer"]["userId"]
    await purchase(api, mobile, "200")  # 10 ac1 more, expiring the same day
    clock.advance(timedelta(days=31))
    after = await last_event_id(database)

    await expire_points(database, clock.now(), now=clock.now())

    assert await outbox_events(database, after) == [
        currency_event("alternate_currency.expired", user_id, "rgpws7", "ac1", "60", expiredAt=clock.now().isoformat())
    ]


async def test_a_webhook_endpoint_receives_the_currency_events_signed(api, database, clock):
    mobile, receiver_mobile = new_mobile(), new_mobile()
    await purchase(api, mobile, "1000")
    await purchase(api, receiver_mobile, "20")
    with running_receiver() as receiver:
        _, secret = await created(api, receiver.endpoint(), CURRENCY_EVENTS)
        event_log_id = await redeemed(api, mobile, "30", "r-1")
        assert (await reverse(api, event_log_id, "back-1"))["replayed"] is False
        moved = await transfer(api, transfer_input(by_mobile(mobile), by_mobile(receiver_mobile), "5", "t-1"))
        assert moved["__typename"] == "AlternateCurrencyTransferred", moved
        clock.advance(timedelta(days=31))
        await expire_points(database, clock.now(), now=clock.now())
        worker = WebhookWorker(database, clock, settings=WorkerSettings(timeout_seconds=5), jitter=lambda: 0.0)
        try:
            report = await worker.run_until_idle()
        finally:
            await worker.close()

        expected = await outbox(database, CURRENCY_EVENTS)
        assert [event["type"] for event in expected] == [
            "alternate_currency.reversed",
            "alternate_currency.transferred",
            "alternate_currency.transferred",
            "alternate_currency.expired",
            "alternate_currency.expired",
        ]
        assert (report.sent, report.delivered, report.failed) == (5, 5, 0)
        messages = {request.webhook_id: request.verify(secret, clock.now()) for request in receiver.received}
        assert messages == {str(event["id"]): message_of(event) for event in expected}
