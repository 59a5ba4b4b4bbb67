"""Referrals (seed 001's referral_code and is_referrer), through the API.

The main program pays the referee 50 points and the referrer 100 on the referee's first purchase
of at least 500 (bronze earns 1 point per 100); a referrer is paid at most 2 awards a month and
5 in all.
"""

from __future__ import annotations

import string
from datetime import timedelta
from typing import Any

import pytest

from app.referrals import rules
from tests.client import ledger_entries, post_at_once, purchase_day
from tests.conftest import make_org
from tests.factories import bill, by_user_id, new_mobile, org_spec
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts

REFERRAL = {
    "referrer_points": "100",
    "referee_points": "50",
    "referrer_awards_per_month": 2,
    "referrer_awards_total": 5,
    "first_purchase_only": True,
    "minimum_amount": "500",
}


def referral_spec(**changes: Any) -> dict[str, Any]:
    spec = org_spec("acme")
    spec["programs"][0]["referral"] = {**REFERRAL, **changes}
    return spec


@pytest.fixture
async def org(database):
    return await make_org(database, referral_spec())


ADD = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      transaction {
        number billingTime referralCode
        sideEffects {
          __typename
          ... on CustomerSideEffect { customerId registered }
          ... on PointsSideEffect { customerId awardedPoints totalPoints }
          ... on ReferralSideEffect { customerId programCode awardedPoints isReferrer reversed }
        }
        customer { userId referralCode loyaltyPoints referrer { userId } }
      }
    }
    ... on Error { code message field }
  }
}
"""

CUSTOMER = """
query Customer($lookup: CustomerLookupInput!, $first: Int = 10, $after: String) {
  customer(lookup: $lookup) {
    __typename
    ... on Customer {
      userId referralCode loyaltyPoints lifetimePoints
      referrer { userId referralCode }
      referees(first: $first, after: $after) {
        nodes { referredAt customer { userId mobile referralCode } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""

REGISTER = """
mutation Register($input: RegisterCustomerInput!) {
  registerCustomer(input: $input) {
    __typename
    ... on CustomerRegistered { customer { userId referralCode referrer { userId } } }
    ... on Error { code message field }
  }
}
"""


async def purchase(api, mobile: str, amount: str, **fields: Any) -> dict:
    """addTransaction's answer for a bill of `amount` without line items at till-1."""
    customer = {"mobile": mobile, **fields.pop("customer", {})}
    document = bill(customer=customer, amount=amount, grossAmount=None, discount=None, lineItems=[], **fields)
    return (await api.data(ADD, {"input": document}))["addTransaction"]


async def customer(api, user_id: str, **variables: Any) -> dict:
    return (await api.data(CUSTOMER, {"lookup": by_user_id(user_id), **variables}))["customer"]


async def referrer(api) -> tuple[str, str]:
    """A customer who bought for 1,000 (10 points): (user id, referral code)."""
    added = await purchase(api, new_mobile(), "1000")
    found = added["transaction"]["customer"]
    return found["userId"], found["referralCode"]


def effects(added: dict) -> list[dict]:
    return added["transaction"]["sideEffects"]


async def test_every_registered_customer_has_a_stable_code_of_its_own(api):
    first_id, first_code = await referrer(api)
    _second_id, second_code = await referrer(api)

    assert len(first_code) == 8
    assert set(first_code) <= set(rules.CODE_ALPHABET)
    assert first_code != second_code
    assert (await customer(api, first_id))["referralCode"] == first_code
    registered = (await api.data(REGISTER, {"input": {"firstname": "Ann", "mobile": new_mobile()}}))["registerCustomer"]
    assert registered["__typename"] == "CustomerRegistered"
    assert len(registered["customer"]["referralCode"]) == 8
    assert set(string.digits[:2]).isdisjoint(first_code + second_code)  # no 0/1: read aloud at a till


async def test_a_code_drawn_twice_is_drawn_again_and_never_reaches_the_client(api, monkeypatch):
    draws = iter(["TAKEN222", "TAKEN222", "TAKEN222", "FRESH333"])
    monkeypatch.setattr(rules, "new_code", lambda: next(draws))
    _, first_code = await referrer(api)

    added = await purchase(api, new_mobile(), "1000")

    assert first_code == "TAKEN222"
    assert added["__typename"] == "TransactionAdded"
    assert added["transaction"]["customer"]["referralCode"] == "FRESH333"


async def test_a_referred_customer_s_first_purchase_awards_both_in_the_bill(api, database):
    referrer_id, code = await referrer(api)

    added = await purchase(api, new_mobile(), "1000", customer={"referralCode": f" {code.lower()} "})

    referee = added["transaction"]["customer"]
    assert effects(added) == [
        {"__typename": "CustomerSideEffect", "customerId": referee["userId"], "registered": True},
        {"__typename": "PointsSideEffect", "customerId": referee["userId"], "awardedPoints": "10", "totalPoints": "10"},
        {
            "__typename": "ReferralSideEffect",
            "customerId": referee["userId"],
            "programCode": "main",
            "awardedPoints": "50",
            "isReferrer": False,
            "reversed": False,
        },
        {
            "__typename": "ReferralSideEffect",
            "customerId": referrer_id,
            "programCode": "main",
            "awardedPoints": "100",
            "isReferrer": True,
            "reversed": False,
        },
    ]
    assert referee["loyaltyPoints"] == "60"
    assert referee["referrer"] == {"userId": referrer_id}
    found = await customer(api, referrer_id)
    assert (found["loyaltyPoints"], found["lifetimePoints"]) == ("110", "110")
    assert found["referrer"] is None
    assert [node["customer"]["userId"] for node in found["referees"]["nodes"]] == [referee["userId"]]
    awards = await ledger_entries(api, by_user_id(referrer_id), {"entryKinds": ["REFERRAL_AWARD"]})
    assert [(entry["eventType"], entry["entryKind"], entry["points"]) for entry in awards] == [
        ("REFERRAL_AWARD", "REFERRAL_AWARD", "100")
    ]
    await assert_reconciled(database)


async def test_the_bill_s_own_referral_code_links_as_the_customer_s_does(api):
    referrer_id, code = await referrer(api)

    added = await purchase(api, new_mobile(), "1000", referralCode=code)

    assert added["transaction"]["referralCode"] == code
    assert added["transaction"]["customer"]["referrer"] == {"userId": referrer_id}
    assert [(effect["awardedPoints"], effect["isReferrer"]) for effect in effects(added)[2:]] == [
        ("50", False),
        ("100", True),
    ]


async def test_an_unknown_code_is_a_typed_error_naming_the_field_and_nothing_is_written(api, database):
    await referrer(api)
    before = await table_counts(database)

    added = await purchase(api, new_mobile(), "1000", customer={"referralCode": "NOSUCH22"})
    registered = (await api.data(REGISTER, {"input": {"mobile": new_mobile(), "referralCode": "NOSUCH22"}}))[
        "registerCustomer"
    ]

    assert (added["__typename"], added["code"], added["field"]) == (
        "NotFoundError",
        "REFERRAL_CODE_NOT_FOUND",
        "input.customer.referralCode",
    )
    assert (registered["__typename"], registered["code"], registered["field"]) == (
        "NotFoundError",
        "REFERRAL_CODE_NOT_FOUND",
        "input.referralCode",
    )
    assert await table_counts(database) == before


async def test_a_code_on_a_known_customer_links_nothing(api):
    _, code = await referrer(api)
    mobile = new_mobile()
    known_id = (await purchase(api, mobile, "1000"))["transaction"]["customer"]["userId"]

    added = await purchase(api, mobile, "1000", customer={"referralCode": code})

    assert added["transaction"]["customer"]["referrer"] is None
    assert [effect["__typename"] for effect in effects(added)] == ["CustomerSideEffect", "PointsSideEffect"]
    assert (await customer(api, known_id))["loyaltyPoints"] == "20"


async def test_a_first_purchase_below_the_minimum_qualifies_neither_it_nor_a_later_one(api, database):
    referrer_id, code = await referrer(api)
    mobile = new_mobile()

    small = await purchase(api, mobile, "400", customer={"referralCode": code})
    later = await purchase(api, mobile, "5000")

    assert [effect["__typename"] for effect in effects(small)] == ["CustomerSideEffect", "PointsSideEffect"]
    assert [effect["__typename"] for effect in effects(later)] == ["CustomerSideEffect", "PointsSideEffect"]
    assert small["transaction"]["customer"]["referrer"] == {"userId": referrer_id}
    assert (await customer(api, referrer_id))["loyaltyPoints"] == "10"
    await assert_reconciled(database)


async def test_a_registered_referee_s_first_bill_qualifies(api):
    referrer_id, code = await referrer(api)
    mobile = new_mobile()
    registered = (await api.data(REGISTER, {"input": {"mobile": mobile, "referralCode": code}}))["registerCustomer"]

    added = await purchase(api, mobile, "1000")

    assert registered["customer"]["referrer"] == {"userId": referrer_id}
    assert [(effect["awardedPoints"], effect["isReferrer"]) for effect in effects(added)[2:]] == [
        ("50", False),
        ("100", True),
    ]


async def test_the_referrer_is_paid_up_to_the_monthly_limit_and_the_referee_always(api, clock, database):
    referrer_id, code = await referrer(api)

    this_month = [await purchase(api, new_mobile(), "1000", referralCode=code) for _ in range(3)]
    clock.advance(timedelta(days=31))
    next_month = await purchase(api, new_mobile(), "1000", referralCode=code)

    assert [[(e["awardedPoints"], e["isReferrer"]) for e in effects(added)[2:]] for added in this_month] == [
        [("50", False), ("100", True)],
        [("50", False), ("100", True)],
        [("50", False)],
    ]
    assert [(e["awardedPoints"], e["isReferrer"]) for e in effects(next_month)[2:]] == [("50", False), ("100", True)]
    assert (await customer(api, referrer_id))["loyaltyPoints"] == "310"
    await assert_reconciled(database)


async def test_twenty_referees_at_once_pay_the_referrer_exactly_the_limit(org_api, database):
    api = await org_api(referral_spec(referrer_awards_per_month=None, referrer_awards_total=5))
    referrer_id, code = await referrer(api)
    documents = [
        bill(customer={"mobile": new_mobile()}, amount="1000", grossAmount=None, discount=None, lineItems=[])
        | {"referralCode": code}
        for _ in range(20)
    ]

    results = await post_at_once(api, ADD, documents)

    assert [result["__typename"] for result in results] == ["TransactionAdded"] * 20
    referrer_awards = [e for result in results for e in effects(result) if e.get("isReferrer") is True]
    referee_awards = [e for result in results for e in effects(result) if e.get("isReferrer") is False]
    assert (len(referrer_awards), len(referee_awards)) == (5, 20)
    assert (await customer(api, referrer_id))["loyaltyPoints"] == "510"
    await assert_reconciled(database)


async def test_the_referees_page_by_cursor_with_statements_flat_in_its_length(api, count_statements):
    referrer_id, code = await referrer(api)
    referees = [
        (await purchase(api, new_mobile(), "100", referralCode=code))["transaction"]["customer"]["userId"]
        for _ in range(5)
    ]

    first = await customer(api, referrer_id, first=2)
    second = await customer(api, referrer_id, first=2, after=first["referees"]["pageInfo"]["endCursor"])
    counter = count_statements()
    await customer(api, referrer_id, first=1)
    one = counter.count
    counter.count = 0
    whole = await customer(api, referrer_id, first=5)

    assert [node["customer"]["userId"] for node in first["referees"]["nodes"]] == referees[:2]
    assert [node["customer"]["userId"] for node in second["referees"]["nodes"]] == referees[2:4]
    assert first["referees"]["pageInfo"]["hasNextPage"] is True
    assert [node["customer"]["userId"] for node in whole["referees"]["nodes"]] == referees
    assert whole["referees"]["pageInfo"]["hasNextPage"] is False
    assert counter.count == one


RETURN = """
mutation Return($input: TransactionReturnInput!) {
  returnTransaction(input: $input) {
    __typename
    ... on TransactionReturned {
      pointsReturned
      transaction {
        sideEffects {
          __typename
          ... on ReferralSideEffect { customerId programCode awardedPoints isReferrer reversed }
        }
      }
    }
    ... on Error { code message field }
  }
}
"""


async def give_back(api, mobile: str, added: dict, return_type: str, amount: str | None = None) -> dict:
    document = {
        "type": "RETURN",
        "returnType": return_type,
        "number": added["transaction"]["number"],
        "purchaseTime": purchase_day(added["transaction"]),
        "tillCode": "till-1",
        "customer": {"mobile": mobile},
    }
    if amount is not None:
        document["amount"] = amount
    result = (await api.data(RETURN, {"input": document}))["returnTransaction"]
    assert result["__typename"] == "TransactionReturned", result
    return result


async def test_a_return_below_the_minimum_reverses_both_awards_once(api, database):
    referrer_id, code = await referrer(api)
    mobile = new_mobile()
    added = await purchase(api, mobile, "1000", customer={"referralCode": code})
    referee_id = added["transaction"]["customer"]["userId"]

    still_qualifying = await give_back(api, mobile, added, "AMOUNT", "400")
    below = await give_back(api, mobile, added, "AMOUNT", "200")
    rest = await give_back(api, mobile, added, "FULL")

    referral_effects = [
        [effect for effect in result["transaction"]["sideEffects"] if effect["__typename"] == "ReferralSideEffect"]
        for result in (still_qualifying, below, rest)
    ]
    assert referral_effects == [
        [],
        [
            {
                "__typename": "ReferralSideEffect",
                "customerId": referee_id,
                "programCode": "main",
                "awardedPoints": "50",
                "isReferrer": False,
                "reversed": True,
            },
            {
                "__typename": "ReferralSideEffect",
                "customerId": referrer_id,
                "programCode": "main",
                "awardedPoints": "100",
                "isReferrer": True,
                "reversed": True,
            },
        ],
        [],
    ]
    assert [result["pointsReturned"] for result in (still_qualifying, below, rest)] == ["4", "2", "4"]
    assert (await customer(api, referee_id))["loyaltyPoints"] == "0"
    assert (await customer(api, referrer_id))["loyaltyPoints"] == "10"
    kinds = {"entryKinds": ["REFERRAL_AWARD", "REFERRAL_REVERSAL"]}
    assert [
        (e["eventType"], e["entryType"], e["points"]) for e in await ledger_entries(api, by_user_id(referrer_id), kinds)
    ] == [
        ("REFERRAL_REVERSAL", "DEBIT", "100"),
        ("REFERRAL_AWARD", "CREDIT", "100"),
    ]
    await assert_reconciled(database)


ADJUST = """
mutation Adjust($input: AdjustPointsInput!) { adjustPoints(input: $input) { __typename } }
"""


async def test_a_reversal_takes_back_no_more_than_the_referee_still_holds(api, database):
    referrer_id, code = await referrer(api)
    mobile = new_mobile()
    added = await purchase(api, mobile, "1000", customer={"referralCode": code})
    referee_id = added["transaction"]["customer"]["userId"]
    debit = {
        "customer": by_user_id(referee_id),
        "type": "DEBIT",
        "points": "55",
        "reason": "OTHER",
        "note": "spent elsewhere",
        "idempotencyKey": "spend-55",
    }
    assert (await api.data(ADJUST, {"input": debit}))["adjustPoints"] == {"__typename": "PointsAdjusted"}

    full = await give_back(api, mobile, added, "FULL")

    reversed_points = [
        (effect["customerId"], effect["awardedPoints"])
        for effect in full["transaction"]["sideEffects"]
        if effect["__typename"] == "ReferralSideEffect"
    ]
    # 60 held, 55 taken: the return takes its 5 first, and nothing of the referee's award is left.
    assert (full["pointsReturned"], reversed_points) == ("5", [(referrer_id, "100")])
    assert (
        (await customer(api, referee_id))["loyaltyPoints"],
        (await customer(api, referrer_id))["loyaltyPoints"],
    ) == (
        "0",
        "10",
    )
    await assert_reconciled(database)


async def test_a_replayed_awarding_bill_tells_the_same_and_awards_nothing_more(api, database):
    referrer_id, code = await referrer(api)
    document = bill(
        customer={"mobile": new_mobile(), "referralCode": code}, amount="1000", grossAmount=None, discount=None
    ) | {"lineItems": []}
    first = (await api.data(ADD, {"input": document}))["addTransaction"]
    before = await table_counts(database)

    again = (await api.data(ADD, {"input": document}))["addTransaction"]

    assert effects(again) == effects(first)
    assert [effect["isReferrer"] for effect in effects(again)[2:]] == [False, True]
    assert await table_counts(database) == before
    assert (await customer(api, referrer_id))["loyaltyPoints"] == "110"


async def test_another_organisation_s_code_is_unknown_here(api, org_api, database):
    other = await org_api(referral_spec() | {"organization": {**referral_spec()["organization"], "code": "other"}})
    _, other_code = await referrer(other)
    before = await table_counts(database)

    added = await purchase(api, new_mobile(), "1000", referralCode=other_code)

    assert (added["__typename"], added["code"], added["field"]) == (
        "NotFoundError",
        "REFERRAL_CODE_NOT_FOUND",
        "input.referralCode",
    )
    assert await table_counts(database) == before
