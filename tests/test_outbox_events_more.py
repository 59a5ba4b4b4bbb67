"""The outbox's events of referral awards and alternate currencies, as the API calls that cause
them write them: exact payloads, one per customer or currency, nothing for a refused or replayed
write.

The org's main program pays a referral (referee 50, referrer 100, first purchase of 500 or more)
and declares two currencies: rgpws7 "ac1" (0.05 per unit of eligible amount, whole units) and
pJ6E8A "ac2" (0.25, 2 places). The test bill (tests.factories.bill) is 1,800 net: 18 points,
90 ac1, 450 ac2.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.client import add_transaction
from tests.conftest import make_org
from tests.factories import bill, by_mobile, new_mobile
from tests.snapshots import table_counts
from tests.test_alternate_currencies import CURRENCIES
from tests.test_outbox_events import last_event_id, outbox_events
from tests.test_referrals import referral_spec, referrer
from tests.test_returns import purchase, return_of, returned
from tests.test_webhooks import create as create_endpoint

REDEEM = """
mutation Redeem($input: RedeemAlternateCurrencyInput!) {
  redeemAlternateCurrency(input: $input) {
    __typename
    ... on AlternateCurrencyRedeemed { eventLogId replayed }
    ... on Error { code field }
  }
}
"""


@pytest.fixture
async def org(database):
    spec = referral_spec()
    spec["programs"][0]["alternate_currencies"] = CURRENCIES
    return await make_org(database, spec)


async def events_of(database, family: str, after_id: int) -> list[tuple[str, int | None, dict[str, Any]]]:
    """The events after `after_id` whose type starts with `family` ("referral.", ...), in id order."""
    return [event for event in await outbox_events(database, after_id) if event[0].startswith(family)]


def referral_event(
    event_type: str, user_id: str, points: str, *, referee_id: str, referrer_id: str, bill: dict[str, Any]
) -> tuple:
    return (
        event_type,
        int(user_id),
        {
            "version": 1,
            "userId": user_id,
            "programCode": "main",
            "points": points,
            "isReferrer": user_id == referrer_id,
            "refereeUserId": referee_id,
            "referrerUserId": referrer_id,
            "transactionId": bill["id"],
            "billNumber": bill["number"],
        },
    )


def currency_event(event_type: str, user_id: str, identifier: str, name: str, value: str, **rest: Any) -> tuple:
    return (
        event_type,
        int(user_id),
        {
            "version": 1,
            "userId": user_id,
            "programCode": "main",
            "currencyIdentifier": identifier,
            "currencyName": name,
            "value": value,
            **rest,
        },
    )


# --- Referrals --------------------------------------------------------------------------------


async def test_a_qualifying_bill_emits_referral_awarded_for_the_referee_then_the_referrer(api, database):
    referrer_id, code = await referrer(api)
    after = await last_event_id(database)

    bought = await purchase(api, customer={"mobile": new_mobile(), "referralCode": code})

    referee_id = bought["customer"]["userId"]
    people = {"referee_id": referee_id, "referrer_id": referrer_id, "bill": bought}
    assert await events_of(database, "referral.", after) == [
        referral_event("referral.awarded", referee_id, "50", **people),
        referral_event("referral.awarded", referrer_id, "100", **people),
    ]


async def test_a_return_that_unqualifies_the_bill_emits_referral_reversed_naming_the_bill(api, database):
    referrer_id, code = await referrer(api)
    bought = await purchase(api, customer={"mobile": new_mobile(), "referralCode": code})
    referee_id = bought["customer"]["userId"]
    after = await last_event_id(database)

    await returned(api, return_of(bought))

    people = {"referee_id": referee_id, "referrer_id": referrer_id, "bill": bought}
    assert await events_of(database, "referral.", after) == [
        referral_event("referral.reversed", referee_id, "50", **people),
        referral_event("referral.reversed", referrer_id, "100", **people),
    ]


async def test_a_bill_refused_for_an_unknown_referral_code_emits_nothing(api, database):
    after = await last_event_id(database)
    before = await table_counts(database)

    refused = await add_transaction(api, bill(customer={"mobile": new_mobile(), "referralCode": "NOSUCH22"}))

    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "NotFoundError",
        "REFERRAL_CODE_NOT_FOUND",
        "input.customer.referralCode",
    )
    assert await table_counts(database) == before
    assert await outbox_events(database, after) == []


# --- Alternate currencies ---------------------------------------------------------------------


async def test_a_bill_emits_alternate_currency_earned_per_currency(api, database):
    after = await last_event_id(database)

    bought = await purchase(api)

    user_id = bought["customer"]["userId"]
    bill_fields = {"transactionId": bought["id"], "billNumber": bought["number"]}
    assert await events_of(database, "alternate_currency.", after) == [
        currency_event("alternate_currency.earned", user_id, "rgpws7", "ac1", "90", **bill_fields),
        currency_event("alternate_currency.earned", user_id, "pJ6E8A", "ac2", "450", **bill_fields),
    ]


async def test_a_redemption_emits_alternate_currency_redeemed_once_per_key(api, database):
    bought = await purchase(api)
    user_id = bought["customer"]["userId"]
    request = {"customer": by_mobile(bought["mobile"]), "currency": "rgpws7", "value": "40", "idempotencyKey": "k-1"}
    after = await last_event_id(database)

    redeemed = (await api.data(REDEEM, {"input": request}))["redeemAlternateCurrency"]
    replayed = (await api.data(REDEEM, {"input": request}))["redeemAlternateCurrency"]

    assert (redeemed["replayed"], replayed["replayed"]) == (False, True)
    assert await outbox_events(database, after) == [
        currency_event(
            "alternate_currency.redeemed", user_id, "rgpws7", "ac1", "40", eventLogId=redeemed["eventLogId"]
        ),
    ]


async def test_a_refused_redemption_emits_nothing(api, database):
    bought = await purchase(api)
    request = {"customer": by_mobile(bought["mobile"]), "currency": "rgpws7", "value": "91", "idempotencyKey": "k-1"}
    after = await last_event_id(database)

    refused = (await api.data(REDEEM, {"input": request}))["redeemAlternateCurrency"]

    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "InsufficientPointsError",
        "INSUFFICIENT_POINTS",
        "input.value",
    )
    assert await outbox_events(database, after) == []


async def test_a_return_emits_alternate_currency_returned_with_what_was_not_recovered(api, database):
    bought = await purchase(api)
    user_id = bought["customer"]["userId"]
    request = {"customer": by_mobile(bought["mobile"]), "currency": "rgpws7", "value": "40", "idempotencyKey": "k-1"}
    assert (await api.data(REDEEM, {"input": request}))["redeemAlternateCurrency"]["__typename"] == (
        "AlternateCurrencyRedeemed"
    )
    after = await last_event_id(database)

    result = await returned(api, return_of(bought))

    fields = {"transactionId": result["transaction"]["id"], "billNumber": bought["number"]}
    assert await events_of(database, "alternate_currency.", after) == [
        currency_event("alternate_currency.returned", user_id, "rgpws7", "ac1", "50", valueNotRecovered="40", **fields),
        currency_event("alternate_currency.returned", user_id, "pJ6E8A", "ac2", "450", valueNotRecovered="0", **fields),
    ]


# --- Webhooks ---------------------------------------------------------------------------------

NEW_TYPES = [
    "alternate_currency.earned",
    "alternate_currency.redeemed",
    "alternate_currency.returned",
    "referral.awarded",
    "referral.reversed",
]


async def test_a_webhook_endpoint_can_subscribe_to_the_new_types(api):
    result = await create_endpoint(api, "https://93.184.215.14/hook", NEW_TYPES)

    assert (result["__typename"], result["endpoint"]["eventTypes"]) == ("WebhookEndpointWithSecret", NEW_TYPES)
