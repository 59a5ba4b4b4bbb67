"""What the ledger tells beyond points (seeds 002 and 003): subledger balances in the points
summaries and a subledger filter on ledger pages, the import's reason on its entries, the lot
trace (which earns each debit consumed), and the customer's details on a ledger page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.client import Api, add
from tests.factories import bill, new_mobile
from tests.import_checks import finished, post_csv
from tests.ledger_checks import assert_reconciled

SUBLEDGER_FILE = (
    b"customerprofileid,amount,startdate,expirydate,subledgerid,reason\n"
    b"SUB-1,100,,,partner-a,welcome\n"
    b"SUB-1,30,2099-01-01T00:00:00Z,,partner-a,later\n"
    b"SUB-1,50,,2026-12-31T00:00:00Z,partner-b,bonus\n"
    b"SUB-1,7,,,,\n"
)
SUB_1 = {"type": "EXTERNAL_ID", "value": "SUB-1"}

SUMMARIES = """
query Summaries($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) {
    ... on Customer {
      pointsSummaries { programCode subledgers { subledgerCode points pendingPoints spendablePoints } }
    }
  }
}
"""

LEDGER = """
query Ledger($customer: CustomerLookupInput!, $filter: LedgerFilterInput, $first: Int = 20) {
  ledgerEntries(customer: $customer, filter: $filter, first: $first) {
    __typename
    ... on LedgerEntryPage {
      entries {
        id eventLogId eventType entryType points reason importJobId
        consumedLots { earnEntryId earnEventLogId points earnedAt activeFrom expiresAt subledgerCode }
      }
    }
    ... on Error { code message field }
  }
}
"""

LEDGER_WITH_CUSTOMER = """
query Ledger($customer: CustomerLookupInput!) {
  ledgerEntries(customer: $customer, first: 1) {
    ... on LedgerEntryPage {
      customerId
      customer { userId firstname lastname mobile email externalId cardNumber type loyaltyPoints currentSlab }
      entries { eventType }
    }
  }
}
"""

CLOSING = """
query Closing($customer: CustomerLookupInput!, $filter: LedgerFilterInput) {
  ledgerClosingBalance(customer: $customer, filter: $filter) {
    __typename
    ... on LedgerClosingBalance { balance }
    ... on Error { code message field }
  }
}
"""

REDEEM = """
mutation Redeem($input: RedeemPointsInput!) {
  redeemPoints(input: $input) { __typename ... on PointsRedeemed { redemption { id points } } ... on Error { code } }
}
"""

REDEMPTIONS = """
query Redemptions($customer: CustomerLookupInput!) {
  pointsRedemptions(customer: $customer, first: 10) {
    ... on PointsRedemptionConnection { nodes { points lotsConsumed { programCode points earnEntryId } } }
  }
}
"""


async def imported(api: Api, body: bytes) -> dict[str, Any]:
    response = await post_csv(api, body)
    assert response.status_code == 202, response.text
    job = await finished(api, str(response.json()["job"]["id"]))
    assert (job["status"], job["rowsRejected"]) == ("DONE", 0), job
    return job


async def subledgers(api: Api, lookup: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    customer = (await api.data(SUMMARIES, {"lookup": lookup}))["customer"]
    return {summary["programCode"]: summary["subledgers"] for summary in customer["pointsSummaries"]}


async def entries(api: Api, lookup: dict[str, str], filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    page = (await api.data(LEDGER, {"customer": lookup, "filter": filter}))["ledgerEntries"]
    assert page["__typename"] == "LedgerEntryPage", page
    return page["entries"]


async def redeem(api: Api, lookup: dict[str, str], points: str) -> dict[str, Any]:
    result = (await api.data(REDEEM, {"input": {"customer": lookup, "points": points, "tillCode": "till-1"}}))[
        "redeemPoints"
    ]
    assert result["__typename"] == "PointsRedeemed", result
    return result["redemption"]


def lots_per_redemption(page: list[dict[str, Any]]) -> list[int]:
    return [len(entry["consumedLots"]) for entry in page if entry["eventType"] == "POINTS_REDEMPTION"]


def credit(entry: dict[str, Any]) -> tuple[str, str, str | None]:
    return (entry["eventType"], entry["points"], entry["reason"])


# --- Subledgers -------------------------------------------------------------------------------


async def test_the_points_summary_shows_what_each_subledger_holds(client_api):
    await imported(client_api, SUBLEDGER_FILE)

    assert await subledgers(client_api, SUB_1) == {
        "main": [
            {"subledgerCode": "partner-a", "points": "130", "pendingPoints": "30", "spendablePoints": "100"},
            {"subledgerCode": "partner-b", "points": "50", "pendingPoints": "0", "spendablePoints": "50"},
        ],
        "cafe": [],
    }


async def test_a_subledgers_points_past_their_expiry_date_are_not_held(client_api, clock):
    await imported(client_api, SUBLEDGER_FILE)

    clock.advance(timedelta(days=40))  # past partner-b's 2026-12-31, before any expiry run

    assert (await subledgers(client_api, SUB_1))["main"] == [
        {"subledgerCode": "partner-a", "points": "130", "pendingPoints": "30", "spendablePoints": "100"},
    ]


async def test_a_redemption_draws_on_the_subledgers_lots_first_expiring_first(client_api, database):
    await imported(client_api, SUBLEDGER_FILE)

    await redeem(client_api, SUB_1, "120")

    # 50 from partner-b's lot (it expires first), 70 from partner-a's unlimited lot.
    assert (await subledgers(client_api, SUB_1))["main"] == [
        {"subledgerCode": "partner-a", "points": "60", "pendingPoints": "30", "spendablePoints": "30"},
    ]
    await assert_reconciled(database)


async def test_the_subledger_filter_shows_the_entries_that_credited_or_drew_on_it(client_api):
    await imported(client_api, SUBLEDGER_FILE)
    await redeem(client_api, SUB_1, "120")

    partner_b = await entries(client_api, SUB_1, {"subledgerCodes": ["partner-b"]})
    partner_a = await entries(client_api, SUB_1, {"subledgerCodes": ["partner-a"]})
    both = await entries(client_api, SUB_1, {"subledgerCodes": ["partner-a", "partner-b"]})

    redemption = ("POINTS_REDEMPTION", "120", None)
    assert [credit(entry) for entry in partner_b] == [redemption, ("POINTS_IMPORT", "50", "bonus")]
    assert [credit(entry) for entry in partner_a] == [
        redemption,
        ("POINTS_IMPORT", "30", "later"),
        ("POINTS_IMPORT", "100", "welcome"),
    ]
    assert [credit(entry) for entry in both] == [
        redemption,
        ("POINTS_IMPORT", "50", "bonus"),
        ("POINTS_IMPORT", "30", "later"),
        ("POINTS_IMPORT", "100", "welcome"),
    ]


async def test_an_unknown_subledger_in_the_filter_is_invalid_input_naming_it(client_api):
    await imported(client_api, SUBLEDGER_FILE)

    page = (await client_api.data(LEDGER, {"customer": SUB_1, "filter": {"subledgerCodes": ["partner-a", "nope"]}}))[
        "ledgerEntries"
    ]

    assert page == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "no subledger with code 'nope'",
        "field": "filter.subledgerCodes[1]",
    }


async def test_a_closing_balance_of_a_subledger_is_refused(client_api):
    await imported(client_api, SUBLEDGER_FILE)

    answer = (await client_api.data(CLOSING, {"customer": SUB_1, "filter": {"subledgerCodes": ["partner-a"]}}))[
        "ledgerClosingBalance"
    ]

    assert answer == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "a closing balance is an account's; a subledger's points are in the points summary's subledgers",
        "field": "filter.subledgerCodes",
    }


# --- The import's reason ----------------------------------------------------------------------


async def test_imported_entries_carry_the_rows_reason_and_their_job(client_api):
    job = await imported(client_api, SUBLEDGER_FILE)

    imports = [entry for entry in await entries(client_api, SUB_1) if entry["eventType"] == "POINTS_IMPORT"]

    assert [(entry["points"], entry["reason"], entry["importJobId"]) for entry in imports] == [
        ("7", None, job["id"]),
        ("50", "bonus", job["id"]),
        ("30", "later", job["id"]),
        ("100", "welcome", job["id"]),
    ]


async def test_a_purchase_entry_has_no_reason_and_no_job(client_api):
    mobile = new_mobile()
    await add(client_api, bill(customer={"mobile": mobile}))

    [award, *_] = await entries(client_api, {"type": "MOBILE", "value": mobile})

    assert (award["eventType"], award["reason"], award["importJobId"]) == ("TRANSACTION_ADD", None, None)


# --- The lot trace --------------------------------------------------------------------------


async def test_a_redemption_entry_lists_the_earns_it_consumed(client_api, clock):
    await imported(client_api, SUBLEDGER_FILE)
    credits = {entry["points"]: entry for entry in await entries(client_api, SUB_1)}

    await redeem(client_api, SUB_1, "120")

    [redemption, *rest] = await entries(client_api, SUB_1)
    now = clock.now().isoformat()
    assert redemption["eventType"] == "POINTS_REDEMPTION"
    assert redemption["consumedLots"] == [
        {
            "earnEntryId": credits["50"]["id"],
            "earnEventLogId": credits["50"]["eventLogId"],
            "points": "50",
            "earnedAt": now,
            "activeFrom": now,
            "expiresAt": "2026-12-31T00:00:00+00:00",
            "subledgerCode": "partner-b",
        },
        {
            "earnEntryId": credits["100"]["id"],
            "earnEventLogId": credits["100"]["eventLogId"],
            "points": "70",
            "earnedAt": now,
            "activeFrom": now,
            "expiresAt": None,
            "subledgerCode": "partner-a",
        },
    ]
    assert all(entry["consumedLots"] == [] for entry in rest)  # credits consume nothing


async def test_the_lot_trace_of_a_page_costs_the_same_statements_for_one_redemption_and_for_five(
    client_api, count_statements
):
    await imported(client_api, SUBLEDGER_FILE)
    await redeem(client_api, SUB_1, "10")
    counter = count_statements()
    one = await entries(client_api, SUB_1)
    statements_for_one = counter.count

    for points in ("11", "12", "13", "14"):
        await redeem(client_api, SUB_1, points)
    counter.count = 0
    five = await entries(client_api, SUB_1)

    assert lots_per_redemption(one) == [1]
    # 10 + 11 + 12 + 13 from partner-b's 50; the 14 takes its last 4, then 10 of partner-a's lot.
    assert lots_per_redemption(five) == [2, 1, 1, 1, 1]
    assert counter.count == statements_for_one


async def test_a_redemption_names_the_earn_entries_of_the_lots_it_took_from(client_api):
    await imported(client_api, SUBLEDGER_FILE)
    credits = {entry["points"]: entry["id"] for entry in await entries(client_api, SUB_1)}
    await redeem(client_api, SUB_1, "120")

    answer = (await client_api.data(REDEMPTIONS, {"customer": SUB_1}))["pointsRedemptions"]

    [redemption] = answer["nodes"]
    assert redemption["lotsConsumed"] == [
        {"programCode": "main", "points": "50", "earnEntryId": credits["50"]},
        {"programCode": "main", "points": "70", "earnEntryId": credits["100"]},
    ]


# --- The customer on a ledger page ------------------------------------------------------------


async def test_a_ledger_page_carries_the_customers_basic_details(client_api):
    mobile = new_mobile()
    added = await add(client_api, bill(customer={"mobile": mobile, "firstname": "Asha", "lastname": "Rao"}))
    user_id = added["transaction"]["customer"]["userId"]

    page = (await client_api.data(LEDGER_WITH_CUSTOMER, {"customer": {"type": "MOBILE", "value": mobile}}))[
        "ledgerEntries"
    ]

    assert page == {
        "customerId": user_id,
        "customer": {
            "userId": user_id,
            "firstname": "Asha",
            "lastname": "Rao",
            "mobile": "91" + mobile,  # stored with the organisation's country code
            "email": None,
            "externalId": None,
            "cardNumber": None,
            "type": "LOYALTY",
            "loyaltyPoints": "18",
            "currentSlab": "bronze",
        },
        "entries": [{"eventType": "TRANSACTION_ADD"}],
    }
