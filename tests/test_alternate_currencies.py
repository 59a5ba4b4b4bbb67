"""Alternate currencies (seed 001's `alternate_currency` side effect), through the API.

The org's main program declares two currencies: rgpws7 "ac1" earns 0.05 per unit of a bill's
eligible amount, whole units rounded down, expiring 30 days after the bill; pJ6E8A "ac2" earns
0.25, to 2 decimal places rounded half up, never expiring. The cafe program declares none. Bronze
earns 1 main point per 100. The clock stands at 2026-11-25 12:00 IST.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from app.ledger.expiry import expire_points
from app.organizations.spec import OrganizationSpec
from app.outbox.models import OutboxEvent
from tests.client import (
    add,
    buy,
    customer_points,
    find_customer,
    ledger_entries,
    ledger_page,
    merge,
    post_at_once,
    purchase_day,
)
from tests.conftest import make_org
from tests.factories import bill, by_mobile, new_mobile, org_spec
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts

outbox_events = OutboxEvent.__table__

CURRENCIES = [
    {
        "identifier": "rgpws7",
        "name": "ac1",
        "earn_rate": "0.05",
        "rounding": "FLOOR",
        "decimal_places": 0,
        "expiry": {"strategy": "DAYS_AFTER_EARNING", "value": 30},
    },
    {"identifier": "pJ6E8A", "name": "ac2", "earn_rate": "0.25", "rounding": "HALF_UP", "decimal_places": 2},
]


def currencies_spec(**program: object) -> dict:
    spec = org_spec("acme")
    spec["programs"][0]["alternate_currencies"] = CURRENCIES
    spec["programs"][0].update(program)
    return spec


@pytest.fixture
async def org(database):
    return await make_org(database, currencies_spec())


ADD = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      transaction {
        number billingTime tillCode
        customer { userId }
        sideEffects {
          __typename
          ... on AlternateCurrencySideEffect { alternateCurrencyIdentifier alternateCurrencyName awardedValue }
          ... on PointsSideEffect { awardedPoints totalPoints }
          ... on CustomerSideEffect { registered }
        }
      }
    }
    ... on Error { code message field }
  }
}
"""

BALANCES = """
query Balances($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) {
    __typename
    ... on Customer {
      loyaltyPoints
      pointsSummaries {
        programCode loyaltyPoints lifetimePoints
        alternateCurrencies { identifier name value earnedValue redeemedValue returnedValue expiredValue }
      }
    }
  }
}
"""

REDEEM = """
mutation Redeem($input: RedeemAlternateCurrencyInput!) {
  redeemAlternateCurrency(input: $input) {
    __typename
    ... on AlternateCurrencyRedeemed { programCode alternateCurrency value balanceAfter replayed redeemedAt }
    ... on Error { code message field }
    ... on InsufficientPointsError { availablePoints requestedPoints }
  }
}
"""

CURRENCY_LEDGER = """
query Ledger($customer: CustomerLookupInput!, $filter: LedgerFilterInput) {
  ledgerEntries(customer: $customer, filter: $filter, first: 50) {
    __typename
    ... on LedgerEntryPage {
      entries { eventType entryKind entryType programCode pointsCategory alternateCurrency points balanceAfter }
    }
    ... on Error { code message field }
  }
}
"""

RETURN_EFFECTS = """
mutation Return($input: TransactionReturnInput!) {
  returnTransaction(input: $input) {
    __typename
    ... on TransactionReturned {
      pointsReturned
      transaction {
        sideEffects {
          __typename
          ... on AlternateCurrencyReturnedSideEffect {
            alternateCurrencyIdentifier alternateCurrencyName returnedValue valueNotRecovered
          }
        }
      }
    }
    ... on Error { code message field }
  }
}
"""


async def purchase(api, mobile: str, amount: str) -> dict:
    """A bill of `amount` (no line items) at till-1, main program: its transaction as ADD reads it."""
    document = bill(customer={"mobile": mobile}, amount=amount, grossAmount=None, discount=None, lineItems=[])
    result = (await api.data(ADD, {"input": document}))["addTransaction"]
    assert result["__typename"] == "TransactionAdded", result
    return result["transaction"]


async def main_currencies(api, mobile: str) -> list[dict]:
    customer = (await api.data(BALANCES, {"lookup": by_mobile(mobile)}))["customer"]
    return next(summary for summary in customer["pointsSummaries"] if summary["programCode"] == "main")[
        "alternateCurrencies"
    ]


def balance(identifier: str, name: str, value: str, earned: str, redeemed="0", returned="0", expired="0") -> dict:
    return {
        "identifier": identifier,
        "name": name,
        "value": value,
        "earnedValue": earned,
        "redeemedValue": redeemed,
        "returnedValue": returned,
        "expiredValue": expired,
    }


async def currency_entries(api, mobile: str, currency: str) -> list[tuple]:
    page = (
        await api.data(CURRENCY_LEDGER, {"customer": by_mobile(mobile), "filter": {"alternateCurrency": currency}})
    )["ledgerEntries"]
    assert page["__typename"] == "LedgerEntryPage", page
    return [
        (e["eventType"], e["entryKind"], e["entryType"], e["alternateCurrency"], e["points"], e["balanceAfter"])
        for e in page["entries"]
    ]


def redemption(mobile: str, currency: str, value: str, key: str, **extra) -> dict:
    return {"customer": by_mobile(mobile), "currency": currency, "value": value, "idempotencyKey": key, **extra}


async def redeem(api, document: dict) -> dict:
    return (await api.data(REDEEM, {"input": document}))["redeemAlternateCurrency"]


async def post_return(api, document: dict) -> dict:
    return (await api.data(RETURN_EFFECTS, {"input": document}))["returnTransaction"]


def currency_effects(result: dict) -> list[dict]:
    """A return's alternate currency side effects."""
    return [
        effect
        for effect in result["transaction"]["sideEffects"]
        if effect["__typename"] == "AlternateCurrencyReturnedSideEffect"
    ]


def return_of(transaction: dict, mobile: str, return_type: str = "FULL", **overrides) -> dict:
    return {
        "type": "RETURN",
        "returnType": return_type,
        "number": transaction["number"],
        "purchaseTime": purchase_day(transaction),
        "tillCode": transaction["tillCode"],
        "customer": {"mobile": mobile},
        **overrides,
    }


# --- Earning ----------------------------------------------------------------------------------


async def test_a_bill_earns_each_currency_by_its_rule_with_one_side_effect_each_in_the_seeds_order(api, database):
    mobile = new_mobile()

    transaction = await purchase(api, mobile, "1234.50")

    assert transaction["sideEffects"] == [
        {"__typename": "CustomerSideEffect", "registered": True},
        {
            "__typename": "AlternateCurrencySideEffect",
            "alternateCurrencyIdentifier": "rgpws7",
            "alternateCurrencyName": "ac1",
            "awardedValue": "61",  # 61.725 rounded down to whole units
        },
        {
            "__typename": "AlternateCurrencySideEffect",
            "alternateCurrencyIdentifier": "pJ6E8A",
            "alternateCurrencyName": "ac2",
            "awardedValue": "308.63",  # 308.625 rounded half up to 2 places
        },
        {"__typename": "PointsSideEffect", "awardedPoints": "12", "totalPoints": "12"},
    ]
    assert await main_currencies(api, mobile) == [
        balance("pJ6E8A", "ac2", "308.63", "308.63"),
        balance("rgpws7", "ac1", "61", "61"),
    ]
    # The points are the points alone: no currency counts in them.
    customer = await customer_points(api, by_mobile(mobile))
    assert customer["loyaltyPoints"] == "12"
    assert await currency_entries(api, mobile, "rgpws7") == [
        ("ALTERNATE_CURRENCY_AWARD", "POINTS_ALLOCATION", "CREDIT", "rgpws7", "61", "61"),
        ("ALTERNATE_CURRENCY_AWARD", "OPENING_BALANCE", "CREDIT", "rgpws7", "0", "0"),
    ]
    await assert_reconciled(database)


async def test_a_second_bill_adds_to_the_same_accounts_and_a_replay_earns_nothing_more(api, database):
    mobile = new_mobile()
    first = await purchase(api, mobile, "1000")  # 50 ac1, 250 ac2
    document = bill(customer={"mobile": mobile}, amount="200", grossAmount=None, discount=None, lineItems=[])
    await add(api, document)  # 10 ac1, 50 ac2

    replay = (await api.data(ADD, {"input": document}))["addTransaction"]

    assert replay["__typename"] == "TransactionAdded"
    assert [effect.get("awardedValue") for effect in first["sideEffects"]] == [None, "50", "250", None]
    assert await main_currencies(api, mobile) == [
        balance("pJ6E8A", "ac2", "300", "300"),
        balance("rgpws7", "ac1", "60", "60"),
    ]
    assert await currency_entries(api, mobile, "rgpws7") == [
        ("ALTERNATE_CURRENCY_AWARD", "POINTS_ALLOCATION", "CREDIT", "rgpws7", "10", "60"),
        ("ALTERNATE_CURRENCY_AWARD", "POINTS_ALLOCATION", "CREDIT", "rgpws7", "50", "50"),
        ("ALTERNATE_CURRENCY_AWARD", "OPENING_BALANCE", "CREDIT", "rgpws7", "0", "0"),
    ]
    await assert_reconciled(database)


async def test_a_program_without_currencies_earns_none_and_a_bill_too_small_earns_no_unit(api, database):
    mobile = new_mobile()
    cafe = await buy(api, mobile, "1000", till="till-cafe")
    small = await purchase(api, mobile, "3")  # 0.15 ac1 rounds down to 0; 0.75 ac2

    assert [effect["__typename"] for effect in cafe["transaction"]["sideEffects"]] == [
        "CustomerSideEffect",
        "PointsSideEffect",
    ]
    assert [effect.get("alternateCurrencyIdentifier") for effect in small["sideEffects"]] == [None, "pJ6E8A", None]
    assert await main_currencies(api, mobile) == [balance("pJ6E8A", "ac2", "0.75", "0.75")]
    await assert_reconciled(database)


# --- The ledger -------------------------------------------------------------------------------


async def test_the_points_ledger_leaves_currencies_out_and_a_currency_view_shows_only_that_currency(api):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")

    points = await ledger_entries(api, by_mobile(mobile))
    ac2 = await currency_entries(api, mobile, "pJ6E8A")

    # The bill's points, then the opening entries of the 3 points categories of its 2 programs.
    assert [(entry["eventType"], entry["pointsCategory"], entry["points"]) for entry in points[:1]] == [
        ("TRANSACTION_ADD", "REGULAR", "10")
    ]
    assert sorted((entry["eventType"], entry["pointsCategory"], entry["points"]) for entry in points[1:]) == sorted(
        [("CUSTOMER_REGISTRATION", category, "0") for category in ("REGULAR", "PROMISED", "TRIGGER_BASED")] * 2
    )
    assert ac2 == [
        ("ALTERNATE_CURRENCY_AWARD", "POINTS_ALLOCATION", "CREDIT", "pJ6E8A", "250", "250"),
        ("ALTERNATE_CURRENCY_AWARD", "OPENING_BALANCE", "CREDIT", "pJ6E8A", "0", "0"),
    ]


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ({"alternateCurrency": "nope"}, "no program declares alternate currency 'nope'"),
        (
            {"alternateCurrency": "rgpws7", "pointsCategories": ["REGULAR"]},
            "a view is of points or of one alternate currency",
        ),
    ],
)
async def test_a_currency_view_of_an_unknown_currency_or_mixed_with_points_is_refused(api, view, message):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")

    page = await ledger_page(api, by_mobile(mobile), view)

    assert page == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": message,
        "field": "filter.alternateCurrency",
    }


# --- Returns ----------------------------------------------------------------------------------


async def test_returns_take_back_the_share_of_the_amount_returned_exactly_with_each_currencys_rounding(api, database):
    mobile = new_mobile()
    bought = await purchase(api, mobile, "1000")  # 50 ac1, 250.00 ac2

    part = await post_return(api, return_of(bought, mobile, "AMOUNT", amount="333"))
    rest = await post_return(api, return_of(bought, mobile, "AMOUNT", amount="667"))

    assert currency_effects(part) == [
        {
            "__typename": "AlternateCurrencyReturnedSideEffect",
            "alternateCurrencyIdentifier": "rgpws7",
            "alternateCurrencyName": "ac1",
            "returnedValue": "16",  # 16.65 rounded down
            "valueNotRecovered": "0",
        },
        {
            "__typename": "AlternateCurrencyReturnedSideEffect",
            "alternateCurrencyIdentifier": "pJ6E8A",
            "alternateCurrencyName": "ac2",
            "returnedValue": "83.25",
            "valueNotRecovered": "0",
        },
    ]
    # The whole bill is back: what is left of each award, so the returns add up to the award.
    assert [(effect["alternateCurrencyIdentifier"], effect["returnedValue"]) for effect in currency_effects(rest)] == [
        ("rgpws7", "34"),
        ("pJ6E8A", "166.75"),
    ]
    assert await main_currencies(api, mobile) == [
        balance("pJ6E8A", "ac2", "0", "250", returned="250"),
        balance("rgpws7", "ac1", "0", "50", returned="50"),
    ]
    assert await currency_entries(api, mobile, "rgpws7") == [
        ("ALTERNATE_CURRENCY_RETURN", "POINTS_RETURN", "DEBIT", "rgpws7", "34", "0"),
        ("ALTERNATE_CURRENCY_RETURN", "POINTS_RETURN", "DEBIT", "rgpws7", "16", "34"),
        ("ALTERNATE_CURRENCY_AWARD", "POINTS_ALLOCATION", "CREDIT", "rgpws7", "50", "50"),
        ("ALTERNATE_CURRENCY_AWARD", "OPENING_BALANCE", "CREDIT", "rgpws7", "0", "0"),
    ]
    await assert_reconciled(database)


async def test_a_return_after_the_currency_was_spent_takes_the_balance_and_reports_the_rest(api, database):
    mobile = new_mobile()
    bought = await purchase(api, mobile, "1000")  # 50 ac1
    assert (await redeem(api, redemption(mobile, "rgpws7", "40", "spend-1")))["balanceAfter"] == "10"

    result = await post_return(api, return_of(bought, mobile))

    assert [
        (effect["alternateCurrencyIdentifier"], effect["returnedValue"], effect["valueNotRecovered"])
        for effect in currency_effects(result)
    ] == [("rgpws7", "10", "40"), ("pJ6E8A", "250", "0")]
    assert await main_currencies(api, mobile) == [
        balance("pJ6E8A", "ac2", "0", "250", returned="250"),
        balance("rgpws7", "ac1", "0", "50", redeemed="40", returned="10"),
    ]
    await assert_reconciled(database)


async def test_with_negative_balances_allowed_a_return_takes_back_the_whole_share(org_api, database):
    api = await org_api(currencies_spec(allow_negative_balance=True))
    mobile = new_mobile()
    bought = await purchase(api, mobile, "1000")
    await redeem(api, redemption(mobile, "rgpws7", "40", "spend-1"))

    result = await post_return(api, return_of(bought, mobile))

    assert [
        (effect["alternateCurrencyIdentifier"], effect["returnedValue"], effect["valueNotRecovered"])
        for effect in currency_effects(result)
    ] == [("rgpws7", "50", "0"), ("pJ6E8A", "250", "0")]
    assert (await main_currencies(api, mobile))[1] == balance("rgpws7", "ac1", "0", "50", redeemed="40", returned="50")
    assert (await currency_entries(api, mobile, "rgpws7"))[0][5] == "-40"
    await assert_reconciled(database)


# --- Redemptions ------------------------------------------------------------------------------


async def test_a_redemption_takes_units_once_per_key(api, database, clock):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")

    first = await redeem(api, redemption(mobile, "pJ6E8A", "100.5", "r-1"))
    again = await redeem(api, redemption(mobile, "pJ6E8A", "100.5", "r-1"))

    assert first == {
        "__typename": "AlternateCurrencyRedeemed",
        "programCode": "main",
        "alternateCurrency": "pJ6E8A",
        "value": "100.5",
        "balanceAfter": "149.5",
        "replayed": False,
        "redeemedAt": clock.now().isoformat(),
    }
    assert again == {**first, "replayed": True}
    assert await main_currencies(api, mobile) == [
        balance("pJ6E8A", "ac2", "149.5", "250", redeemed="100.5"),
        balance("rgpws7", "ac1", "50", "50"),
    ]
    assert (await currency_entries(api, mobile, "pJ6E8A"))[0] == (
        "ALTERNATE_CURRENCY_REDEMPTION",
        "POINTS_REDEMPTION",
        "DEBIT",
        "pJ6E8A",
        "100.5",
        "149.5",
    )
    await assert_reconciled(database)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"currency": "rgpws7", "value": "51"},
            {
                "__typename": "InsufficientPointsError",
                "code": "INSUFFICIENT_POINTS",
                "field": "input.value",
                "availablePoints": "50",
                "requestedPoints": "51",
            },
        ),
        (
            {"currency": "nope", "value": "1"},
            {"__typename": "NotFoundError", "code": "ALTERNATE_CURRENCY_NOT_FOUND", "field": "input.currency"},
        ),
        (
            {"currency": "rgpws7", "value": "1.5"},
            {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "field": "input.value"},
        ),
        (
            {"currency": "rgpws7", "value": "0"},
            {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "field": "input.value"},
        ),
        (
            {"currency": "rgpws7", "value": "1", "programCode": "cafe"},
            {"__typename": "NotFoundError", "code": "ALTERNATE_CURRENCY_NOT_FOUND", "field": "input.currency"},
        ),
    ],
)
async def test_a_refused_redemption_names_the_field_and_writes_nothing(api, database, document, expected):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")
    before = await table_counts(database)

    result = await redeem(api, {"customer": by_mobile(mobile), "idempotencyKey": "refused", **document})

    assert {key: value for key, value in result.items() if key != "message"} == expected
    assert await table_counts(database) == before
    assert (await main_currencies(api, mobile))[1] == balance("rgpws7", "ac1", "50", "50")


async def test_a_customer_who_never_earned_the_currency_has_none_to_redeem(api, database):
    mobile = new_mobile()
    await buy(api, mobile, "1000", till="till-cafe")
    before = await table_counts(database)

    result = await redeem(api, redemption(mobile, "rgpws7", "1", "none"))

    assert (result["__typename"], result["availablePoints"], result["requestedPoints"]) == (
        "InsufficientPointsError",
        "0",
        "1",
    )
    assert await table_counts(database) == before


async def test_20_concurrent_redemptions_of_10_from_50_let_exactly_5_through(api, database):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")  # 50 ac1

    results = await post_at_once(api, REDEEM, [redemption(mobile, "rgpws7", "10", f"race-{n}") for n in range(20)])

    succeeded = sorted(
        result["balanceAfter"] for result in results if result["__typename"] == "AlternateCurrencyRedeemed"
    )
    refused = [result for result in results if result["__typename"] != "AlternateCurrencyRedeemed"]
    assert succeeded == ["0", "10", "20", "30", "40"]
    assert {(result["code"], result["requestedPoints"]) for result in refused} == {("INSUFFICIENT_POINTS", "10")}
    assert len(refused) == 15
    assert (await main_currencies(api, mobile))[1] == balance("rgpws7", "ac1", "0", "50", redeemed="50")
    assert all(int(entry[5]) >= 0 for entry in await currency_entries(api, mobile, "rgpws7"))
    await assert_reconciled(database)


# --- Expiry -----------------------------------------------------------------------------------


async def test_units_past_their_expiry_are_not_held_and_the_expiry_run_debits_them(api, database, clock):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")  # 50 ac1, expiring at the end of the 30th day; ac2 never

    clock.advance(timedelta(days=31))
    before_run = await main_currencies(api, mobile)
    report = await expire_points(database, clock.now(), now=clock.now())
    after_run = await main_currencies(api, mobile)

    assert before_run == [
        balance("pJ6E8A", "ac2", "250", "250"),
        balance("rgpws7", "ac1", "0", "50"),
    ]
    assert after_run == [
        balance("pJ6E8A", "ac2", "250", "250"),
        balance("rgpws7", "ac1", "0", "50", expired="50"),
    ]
    assert (await customer_points(api, by_mobile(mobile)))["loyaltyPoints"] == "10"
    # One account and lot expired, no points: and no points.expired event tells of the units.
    assert (report.accounts, report.lots, report.points) == (1, 1, 0)
    async with database.read() as connection:
        told = await connection.execute(select(func.count()).where(outbox_events.c.type == "points.expired"))
    assert told.scalar_one() == 0
    await assert_reconciled(database)


# --- Merges -----------------------------------------------------------------------------------


async def test_a_merge_carries_each_currency_into_the_survivor_opening_its_account_when_it_had_none(api, database):
    survivor, victim = new_mobile(), new_mobile()
    await purchase(api, survivor, "200")  # 10 ac1, 50 ac2
    await redeem(api, redemption(survivor, "pJ6E8A", "50", "spend-all"))
    await buy(api, victim, "1000", till="till-cafe")  # no currency
    await purchase(api, victim, "100")  # 5 ac1, 25 ac2

    result = await merge(api, by_mobile(survivor), by_mobile(victim))

    assert result["__typename"] == "CustomersMerged", result
    assert await main_currencies(api, survivor) == [
        balance("pJ6E8A", "ac2", "25", "50", redeemed="50"),
        balance("rgpws7", "ac1", "15", "10"),
    ]
    assert [entry[:2] + entry[4:] for entry in await currency_entries(api, survivor, "rgpws7")][:1] == [
        ("MERGE_CUSTOMER", "MERGE", "5", "15")
    ]
    await assert_reconciled(database)


async def test_a_merge_into_a_survivor_without_any_currency_opens_its_accounts(api, database):
    survivor, victim = new_mobile(), new_mobile()
    await buy(api, survivor, "1000", till="till-cafe")
    await purchase(api, victim, "100")  # 5 ac1, 25 ac2

    result = await merge(api, by_mobile(survivor), by_mobile(victim))

    assert result["__typename"] == "CustomersMerged", result
    assert await main_currencies(api, survivor) == [
        balance("pJ6E8A", "ac2", "25", "0"),
        balance("rgpws7", "ac1", "5", "0"),
    ]
    assert await currency_entries(api, survivor, "rgpws7") == [
        ("MERGE_CUSTOMER", "MERGE", "CREDIT", "rgpws7", "5", "5"),
        ("MERGE_CUSTOMER", "OPENING_BALANCE", "CREDIT", "rgpws7", "0", "0"),
    ]
    await assert_reconciled(database)


# --- Reading many customers ---------------------------------------------------------------------


async def test_the_balances_of_a_customer_cost_the_same_statements_whatever_they_hold(api, count_statements):
    none, some = new_mobile(), new_mobile()
    await buy(api, none, "1000", till="till-cafe")
    await purchase(api, some, "1000")
    await purchase(api, some, "500")

    counters = []
    for mobile in (none, some):
        counter = count_statements()
        await main_currencies(api, mobile)
        counters.append(counter.count)

    assert counters[0] == counters[1]


# --- The organisation file ----------------------------------------------------------------------


def test_a_program_declares_each_currency_once():
    spec = currencies_spec()
    spec["programs"][0]["alternate_currencies"] = [CURRENCIES[0], {**CURRENCIES[1], "identifier": "rgpws7"}]

    with pytest.raises(ValidationError, match="duplicate program main alternate currency 'rgpws7'"):
        OrganizationSpec.model_validate(spec)


def test_a_currency_identifier_fits_its_ledger_category():
    spec = currencies_spec()
    spec["programs"][0]["alternate_currencies"] = [{**CURRENCIES[0], "identifier": "x" * 18}]

    with pytest.raises(ValidationError, match="at most 17 characters"):
        OrganizationSpec.model_validate(spec)


async def test_find_customer_still_answers_with_currencies_held(api):
    mobile = new_mobile()
    await purchase(api, mobile, "1000")

    customer = await find_customer(api, by_mobile(mobile))

    assert (customer["__typename"], customer["loyaltyPoints"]) == ("Customer", "10")
