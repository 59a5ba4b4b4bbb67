"""Reversing an alternate currency redemption (issue 16): reverseAlternateCurrencyRedemption gives
back all or part of what redeemAlternateCurrency took, into the lots it took from, never more
than is left (also under concurrency), once per idempotency key, and to a merged customer's
survivor.

A bill of 1,000 earns 50 ac1 (rgpws7, whole units, expiring after 30 days) and 250 ac2 (pJ6E8A).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.client import merge, post_at_once
from tests.conftest import make_org
from tests.factories import by_mobile, new_mobile
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts
from tests.test_alternate_currencies import (
    balance,
    currencies_spec,
    currency_entries,
    main_currencies,
    purchase,
    redemption,
)
from tests.test_referrals import REGISTER

REDEEM = """
mutation Redeem($input: RedeemAlternateCurrencyInput!) {
  redeemAlternateCurrency(input: $input) {
    __typename
    ... on AlternateCurrencyRedeemed { eventLogId balanceAfter }
    ... on Error { code message field }
  }
}
"""

REVERSE = """
mutation Reverse($input: ReverseAlternateCurrencyRedemptionInput!) {
  reverseAlternateCurrencyRedemption(input: $input) {
    __typename
    ... on AlternateCurrencyRedemptionReversed {
      redemptionEventLogId programCode alternateCurrency value valueLeft balanceAfter reversedAt replayed
    }
    ... on Error { code message field }
  }
}
"""


@pytest.fixture
async def org(database):
    return await make_org(database, currencies_spec())


async def redeemed(api, mobile: str, value: str, key: str) -> str:
    """The eventLogId of a redemption of `value` ac1."""
    result = (await api.data(REDEEM, {"input": redemption(mobile, "rgpws7", value, key)}))["redeemAlternateCurrency"]
    assert result["__typename"] == "AlternateCurrencyRedeemed", result
    return result["eventLogId"]


async def reverse(api, event_log_id: str, key: str, value: str | None = None) -> dict[str, Any]:
    document = {"eventLogId": event_log_id, "idempotencyKey": key, **({"value": value} if value else {})}
    return (await api.data(REVERSE, {"input": document}))["reverseAlternateCurrencyRedemption"]


def reversed_fields(result: dict[str, Any]) -> tuple:
    return (result["__typename"], result["value"], result["valueLeft"], result["balanceAfter"], result["replayed"])


async def test_a_redemption_comes_back_in_parts_into_its_lots_then_nothing_is_left(api, database, clock):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")
    event_log_id = await redeemed(api, mobile, "30", "r-1")

    part = await reverse(api, event_log_id, "back-1", "10")
    rest = await reverse(api, event_log_id, "back-2")
    more = await reverse(api, event_log_id, "back-3")

    assert part == {
        "__typename": "AlternateCurrencyRedemptionReversed",
        "redemptionEventLogId": event_log_id,
        "programCode": "main",
        "alternateCurrency": "rgpws7",
        "value": "10",
        "valueLeft": "20",
        "balanceAfter": "30",
        "reversedAt": clock.now().isoformat(),
        "replayed": False,
    }
    assert reversed_fields(rest) == ("AlternateCurrencyRedemptionReversed", "20", "0", "50", False)
    assert more == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "the redemption was reversed in full already",
        "field": "input.eventLogId",
    }
    assert (await main_currencies(api, mobile))[1] == balance("rgpws7", "ac1", "50", "50")
    assert (await currency_entries(api, mobile, "rgpws7"))[:3] == [
        ("REDEMPTION_REVERSAL", "REDEMPTION_REVERSAL", "CREDIT", "rgpws7", "20", "50"),
        ("REDEMPTION_REVERSAL", "REDEMPTION_REVERSAL", "CREDIT", "rgpws7", "10", "30"),
        ("ALTERNATE_CURRENCY_REDEMPTION", "POINTS_REDEMPTION", "DEBIT", "rgpws7", "30", "20"),
    ]
    # The units are back in their lot, spendable again.
    assert await redeemed(api, mobile, "50", "r-2")
    await assert_reconciled(database)


async def test_a_replay_answers_the_first_reversal_and_refusals_write_nothing(api, database):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")
    event_log_id = await redeemed(api, mobile, "30", "r-1")
    first = await reverse(api, event_log_id, "back-1", "10")
    before = await table_counts(database)

    again = await reverse(api, event_log_id, "back-1", "10")
    other_value = await reverse(api, event_log_id, "back-1", "5")
    too_much = await reverse(api, event_log_id, "back-2", "21")
    too_fine = await reverse(api, event_log_id, "back-3", "1.5")
    not_a_redemption = await reverse(api, str(int(event_log_id) - 1), "back-4")
    unknown = await reverse(api, "999999999", "back-5")

    assert again == {**first, "replayed": True}
    assert (other_value["__typename"], other_value["code"]) == ("IdempotencyKeyReusedError", "IDEMPOTENCY_KEY_REUSED")
    assert too_much == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "only 20 ac1 of the redemption is left to give back",
        "field": "input.value",
    }
    assert (too_fine["code"], too_fine["field"]) == ("INVALID_INPUT", "input.value")
    for result in (not_a_redemption, unknown):
        assert (result["__typename"], result["code"], result["field"]) == (
            "NotFoundError",
            "REDEMPTION_NOT_FOUND",
            "input.eventLogId",
        )
    assert await table_counts(database) == before


async def test_concurrent_reversals_never_give_back_more_than_was_redeemed(api, database):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")
    event_log_id = await redeemed(api, mobile, "30", "r-1")

    results = await post_at_once(
        api, REVERSE, [{"eventLogId": event_log_id, "value": "5", "idempotencyKey": f"race-{n}"} for n in range(10)]
    )

    given = sorted(int(result["balanceAfter"]) for result in results if "balanceAfter" in result)
    refused = [result for result in results if "balanceAfter" not in result]
    assert given == [25, 30, 35, 40, 45, 50]
    # Once the six have given back all 30, the others find nothing left.
    assert {(result["code"], result["field"]) for result in refused} == {("INVALID_INPUT", "input.eventLogId")}
    assert len(refused) == 4
    assert (await main_currencies(api, mobile))[1] == balance("rgpws7", "ac1", "50", "50")
    await assert_reconciled(database)


async def test_a_merged_customers_redemption_comes_back_to_the_survivor(api, database):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")
    event_log_id = await redeemed(api, mobile, "50", "r-1")  # nothing left of ac1: the merge opens no ac1
    survivor_mobile = new_mobile()
    registered = (await api.data(REGISTER, {"input": {"mobile": survivor_mobile}}))["registerCustomer"]
    assert registered["__typename"] == "CustomerRegistered", registered
    merged = await merge(api, by_mobile(survivor_mobile), by_mobile(mobile))
    assert merged["__typename"] == "CustomersMerged", merged

    result = await reverse(api, event_log_id, "back-1")

    assert reversed_fields(result) == ("AlternateCurrencyRedemptionReversed", "50", "0", "50", False)
    assert await main_currencies(api, survivor_mobile) == [
        balance("pJ6E8A", "ac2", "250", "0"),
        balance("rgpws7", "ac1", "50", "0"),
    ]
    await assert_reconciled(database)
