"""Merges and referrals (issue 16): the survivor keeps its own code, the victim's code names the
survivor, the victim's referees and awards count for the survivor, a survivor nobody referred
takes the victim's referrer (and its referee award: one per person and program), and a referral
between the two merged customers (one person referring themselves) pays nothing more.

The main program pays the referee 50 points and the referrer 100 on the referee's first purchase
of at least 500 (bronze earns 1 point per 100 of the bill); here a referrer is paid at most 3
awards a month.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.client import merge
from tests.conftest import make_org
from tests.factories import by_user_id, new_mobile
from tests.ledger_checks import assert_reconciled
from tests.test_referrals import REGISTER, customer, purchase, referral_spec


@pytest.fixture
async def org(database):
    return await make_org(database, referral_spec(referrer_awards_per_month=3))


async def buyer(api, amount: str = "1000", **customer_fields: Any) -> dict[str, Any]:
    """A customer registered by a bill of `amount` (with a referral code given in `customer_fields`)."""
    mobile = new_mobile()
    added = await purchase(api, mobile, amount, customer=customer_fields)
    assert added["__typename"] == "TransactionAdded", added
    return {"mobile": mobile, **added["transaction"]["customer"], "sideEffects": added["transaction"]["sideEffects"]}


async def registered(api, referral_code: str | None = None) -> dict[str, Any]:
    """A customer registered without a purchase (linked to `referral_code`'s owner when given)."""
    mobile = new_mobile()
    fields = {"mobile": mobile, **({"referralCode": referral_code} if referral_code else {})}
    result = (await api.data(REGISTER, {"input": fields}))["registerCustomer"]
    assert result["__typename"] == "CustomerRegistered", result
    return {"mobile": mobile, **result["customer"]}


async def merged(api, survivor: dict[str, Any], victim: dict[str, Any]) -> dict[str, Any]:
    result = await merge(api, by_user_id(survivor["userId"]), by_user_id(victim["userId"]))
    assert result["__typename"] == "CustomersMerged", result
    return result


def referral_awards(side_effects: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """A bill's referral side effects: (customer, points, is referrer)."""
    return [
        (effect["customerId"], effect["awardedPoints"], effect["isReferrer"])
        for effect in side_effects
        if effect["__typename"] == "ReferralSideEffect"
    ]


def referees_of(found: dict[str, Any]) -> list[str]:
    return [node["customer"]["userId"] for node in found["referees"]["nodes"]]


async def test_the_victims_code_and_referees_count_for_the_survivor_which_keeps_its_own_code(api, database):
    survivor, victim = await buyer(api), await buyer(api)
    paid_to_victim = await buyer(api, referralCode=victim["referralCode"])  # victim: 10 + 100
    paid_to_survivor = await buyer(api, referralCode=survivor["referralCode"])  # survivor: 10 + 100
    waiting = await registered(api, victim["referralCode"])  # linked, no purchase yet

    result = await merged(api, survivor, victim)
    after_merge = await buyer(api, referralCode=victim["referralCode"].lower())
    waiting_bill = await purchase(api, waiting["mobile"], "1000")
    fourth = await buyer(api, referralCode=victim["referralCode"])

    assert result["survivor"]["loyaltyPoints"] == "220"
    # A code given after the merge names the survivor; the link and the award follow.
    assert after_merge["referrer"] == {"userId": survivor["userId"]}
    assert referral_awards(after_merge["sideEffects"]) == [
        (after_merge["userId"], "50", False),
        (survivor["userId"], "100", True),
    ]
    # The victim's waiting referee pays the survivor, which is then at its 3 awards this month
    # (the victim's one among them): the fourth referee is paid, its referrer not.
    assert referral_awards(waiting_bill["transaction"]["sideEffects"]) == [(waiting["userId"], "50", False)]
    assert waiting_bill["transaction"]["customer"]["referrer"] == {"userId": survivor["userId"]}
    assert referral_awards(fourth["sideEffects"]) == [(fourth["userId"], "50", False)]
    found = await customer(api, survivor["userId"])
    assert (found["referralCode"], found["loyaltyPoints"], found["referrer"]) == (survivor["referralCode"], "320", None)
    assert referees_of(found) == [
        paid_to_victim["userId"],
        paid_to_survivor["userId"],
        waiting["userId"],
        after_merge["userId"],
        fourth["userId"],
    ]
    gone = await customer(api, victim["userId"])
    assert (gone["referralCode"], gone["loyaltyPoints"], referees_of(gone)) == (victim["referralCode"], "0", [])
    await assert_reconciled(database)


@pytest.mark.parametrize("referred", ["survivor", "victim"])
async def test_a_referral_between_the_two_is_dropped_and_pays_nothing(api, database, referred):
    """One referred the other, with no purchase yet: after the merge it is one person referring
    themselves."""
    if referred == "survivor":
        victim = await buyer(api)
        survivor = await registered(api, victim["referralCode"])
    else:
        survivor = await buyer(api)
        victim = await registered(api, survivor["referralCode"])

    await merged(api, survivor, victim)
    bill = await purchase(api, survivor["mobile"], "1000")

    assert referral_awards(bill["transaction"]["sideEffects"]) == []
    found = await customer(api, survivor["userId"])
    # 10 earned here and the 10 of whichever bought before.
    assert (found["referrer"], found["loyaltyPoints"], referees_of(found)) == (None, "20", [])
    assert referees_of(await customer(api, victim["userId"])) == []
    await assert_reconciled(database)


async def test_a_survivor_nobody_referred_takes_the_victims_referrer_and_is_paid_once(api, database):
    referrer = await buyer(api)
    waiting_victim = await registered(api, referrer["referralCode"])
    paid_victim = await buyer(api, referralCode=referrer["referralCode"])  # paid 50, the referrer 100
    waiting_survivor, paid_survivor = await registered(api), await registered(api)

    await merged(api, waiting_survivor, waiting_victim)
    await merged(api, paid_survivor, paid_victim)
    waiting_bill = await purchase(api, waiting_survivor["mobile"], "1000")
    paid_bill = await purchase(api, paid_survivor["mobile"], "1000")

    # The victim's link was waiting for a purchase: the survivor's first purchase pays it.
    assert referral_awards(waiting_bill["transaction"]["sideEffects"]) == [
        (waiting_survivor["userId"], "50", False),
        (referrer["userId"], "100", True),
    ]
    # The victim was paid already: the person is not paid a second time.
    assert referral_awards(paid_bill["transaction"]["sideEffects"]) == []
    assert paid_bill["transaction"]["customer"]["loyaltyPoints"] == "70"  # 10 + the victim's 60
    for survivor in (waiting_survivor, paid_survivor):
        assert (await customer(api, survivor["userId"]))["referrer"]["userId"] == referrer["userId"]
    found = await customer(api, referrer["userId"])
    assert found["loyaltyPoints"] == "210"
    assert referees_of(found) == [waiting_survivor["userId"], paid_survivor["userId"]]
    await assert_reconciled(database)


async def test_a_survivor_with_its_own_referrer_keeps_it(api, database):
    own_referrer, victims_referrer = await buyer(api), await buyer(api)
    survivor = await registered(api, own_referrer["referralCode"])
    victim = await registered(api, victims_referrer["referralCode"])

    await merged(api, survivor, victim)
    first_bill = await purchase(api, survivor["mobile"], "1000")

    assert referral_awards(first_bill["transaction"]["sideEffects"]) == [
        (survivor["userId"], "50", False),
        (own_referrer["userId"], "100", True),
    ]
    assert (await customer(api, survivor["userId"]))["referrer"]["userId"] == own_referrer["userId"]
    await assert_reconciled(database)


async def test_a_bill_naming_both_customers_merges_their_referrals_the_same_way(api, database):
    survivor = await buyer(api)
    email = f"{new_mobile()}@example.com"
    victim_added = await purchase(api, new_mobile(), "1000", customer={"email": email})
    victim = victim_added["transaction"]["customer"]
    referee = await buyer(api, referralCode=victim["referralCode"])

    # The mobile is the primary identifier: its owner survives.
    both = await purchase(api, survivor["mobile"], "100", customer={"email": email})
    newcomer = await buyer(api, referralCode=victim["referralCode"])

    assert both["transaction"]["customer"]["userId"] == survivor["userId"]
    assert newcomer["referrer"] == {"userId": survivor["userId"]}
    found = await customer(api, survivor["userId"], first=10)
    assert referees_of(found) == [referee["userId"], newcomer["userId"]]
    assert (await customer(api, referee["userId"]))["referrer"]["userId"] == survivor["userId"]
    await assert_reconciled(database)


async def test_a_merge_beside_its_victims_referees_purchases_leaves_every_award_with_the_survivor(api, database):
    survivor, victim = await buyer(api), await buyer(api)
    waiting = [await registered(api, victim["referralCode"]) for _ in range(3)]

    merge_result, *bills = await asyncio.gather(
        merge(api, by_user_id(survivor["userId"]), by_user_id(victim["userId"])),
        *(purchase(api, referee["mobile"], "1000") for referee in waiting),
    )

    assert merge_result["__typename"] == "CustomersMerged", merge_result
    assert [bill["__typename"] for bill in bills] == ["TransactionAdded"] * 3
    # Each referee's award was paid to the victim before the merge (and moved with its balance) or
    # to the survivor after it: the victim is left with nothing, the survivor with all three.
    assert (await customer(api, victim["userId"]))["loyaltyPoints"] == "0"
    found = await customer(api, survivor["userId"])
    assert (found["loyaltyPoints"], sorted(referees_of(found))) == (
        "320",
        sorted(referee["userId"] for referee in waiting),
    )
    await assert_reconciled(database)
