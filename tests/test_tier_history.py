"""Member care's Slab History (customerTierHistory) and the tier expiry run.

The org's main program: bronze (0), silver (20,000), gold (100,000), and a tier reached lasts 12
months (to the end of that local day in Asia/Kolkata). The clock stands at 2026-11-25 12:00 IST.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli.main import cli
from app.customers.models import TierChange
from app.customers.tiers import expire_tiers
from app.http.maintenance import maintain
from app.kernel.settings import get_settings
from tests.client import buy, merge, points_summary
from tests.conftest import make_org
from tests.factories import BASE_ORG, bill, by_mobile, new_mobile
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts
from tests.test_returns import return_of, returned

tier_changes = TierChange.__table__

TIER_HISTORY = """
query TierHistory($customer: CustomerLookupInput!, $program: String, $first: Int = 10, $after: String) {
  customerTierHistory(customer: $customer, program: $program, first: $first, after: $after) {
    __typename
    ... on TierHistoryPage {
      customerId
      records {
        programCode kind cause fromTier { serialNumber name } toTier { serialNumber name }
        tierExpiresAt transactionId createdAt
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""

CUSTOMER_TIER = """
query Tier($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) {
    __typename
    ... on Customer {
      userId currentSlab tierExpiryDate lifetimePurchases
      pointsSummaries { programCode currentSlab slabExpiryDate cumulativePurchases loyaltyPoints }
    }
  }
}
"""

# A tier reached on 2026-11-25 (IST) lasts to the end of 2027-11-25 in Asia/Kolkata.
EXPIRES_AT = "2027-11-25T18:29:59+00:00"
AFTER_EXPIRY = datetime(2027, 11, 25, 18, 30, tzinfo=UTC)


def validity_spec(code: str = "acme") -> dict:
    spec = copy.deepcopy(BASE_ORG)
    spec["organization"]["code"] = code
    spec["programs"][0]["tier_validity_months"] = 12
    return spec


@pytest.fixture
async def org(database):
    return await make_org(database, validity_spec())


async def customer_tier(api, lookup) -> dict:
    customer = (await api.data(CUSTOMER_TIER, {"lookup": lookup}))["customer"]
    assert customer["__typename"] == "Customer", customer
    return customer


async def tier_history(api, lookup, **variables) -> dict:
    return (await api.data(TIER_HISTORY, {"customer": lookup, **variables}))["customerTierHistory"]


def changes(page: dict) -> list[tuple]:
    return [
        (
            record["programCode"],
            record["kind"],
            record["cause"],
            record["fromTier"]["name"],
            record["toTier"]["name"],
            record["tierExpiresAt"],
            record["transactionId"],
        )
        for record in page["records"]
    ]


async def silver_customer(api) -> tuple[str, dict]:
    """A new customer who reached silver with one bill: (mobile, the bill's transaction)."""
    mobile = new_mobile()
    transaction = (await buy(api, mobile, "20000"))["transaction"]
    assert transaction["customer"]["currentSlab"] == "silver"
    return mobile, transaction


# --- The history ------------------------------------------------------------------------------


async def test_purchases_that_reach_a_tier_are_listed_newest_first_with_the_bill_and_the_new_expiry(api, clock):
    mobile, first = await silver_customer(api)
    clock.advance(timedelta(hours=1))
    second = (await buy(api, mobile, "80000"))["transaction"]
    await buy(api, mobile, "1000")  # no change of tier: no history

    page = await tier_history(api, by_mobile(mobile))

    assert page["__typename"] == "TierHistoryPage"
    assert page["customerId"] == first["customer"]["userId"]
    assert changes(page) == [
        ("main", "UPGRADE", "PURCHASE", "silver", "gold", EXPIRES_AT, second["id"]),
        ("main", "UPGRADE", "PURCHASE", "bronze", "silver", EXPIRES_AT, first["id"]),
    ]
    assert [record["createdAt"] for record in page["records"]] == [
        "2026-11-25T07:30:00+00:00",
        "2026-11-25T06:30:00+00:00",
    ]
    assert page["pageInfo"]["hasNextPage"] is False
    assert second["customer"]["tierExpiryDate"] is not None


async def test_a_return_below_the_threshold_is_a_downgrade_caused_by_the_return(api, database):
    mobile, bought = await silver_customer(api)
    bought["mobile"] = mobile

    back = await returned(api, return_of(bought, "AMOUNT", amount="500"))

    assert changes(await tier_history(api, by_mobile(mobile))) == [
        ("main", "DOWNGRADE", "RETURN", "silver", "bronze", None, back["transaction"]["id"]),
        ("main", "UPGRADE", "PURCHASE", "bronze", "silver", EXPIRES_AT, bought["id"]),
    ]
    await assert_reconciled(database)


async def test_a_merge_that_lifts_the_survivor_over_a_threshold_is_an_upgrade_caused_by_the_merge(api):
    survivor, victim = new_mobile(), new_mobile()
    await buy(api, survivor, "15000")
    await buy(api, victim, "10000")

    merged = await merge(api, by_mobile(survivor), by_mobile(victim))

    assert merged["__typename"] == "CustomersMerged"
    assert changes(await tier_history(api, by_mobile(survivor))) == [
        ("main", "UPGRADE", "MERGE", "bronze", "silver", EXPIRES_AT, None)
    ]


async def test_pages_follow_the_cursor_and_a_program_filter_narrows_the_list(api, clock):
    mobile, first = await silver_customer(api)
    second = (await buy(api, mobile, "80000"))["transaction"]

    page_one = await tier_history(api, by_mobile(mobile), first=1)
    page_two = await tier_history(api, by_mobile(mobile), first=1, after=page_one["pageInfo"]["endCursor"])
    cafe = await tier_history(api, by_mobile(mobile), program="cafe")

    assert [record["transactionId"] for record in page_one["records"]] == [second["id"]]
    assert page_one["pageInfo"]["hasNextPage"] is True
    assert [record["transactionId"] for record in page_two["records"]] == [first["id"]]
    assert page_two["pageInfo"]["hasNextPage"] is False
    assert (cafe["__typename"], cafe["records"]) == ("TierHistoryPage", [])


async def test_an_unknown_program_a_bad_cursor_or_customer_are_typed_errors_naming_the_field(api):
    mobile, _ = await silver_customer(api)

    unknown_program = await tier_history(api, by_mobile(mobile), program="nope")
    bad_cursor = await tier_history(api, by_mobile(mobile), after="not-a-cursor")
    unknown_customer = await tier_history(api, by_mobile(new_mobile()))

    assert unknown_program == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "no program has the code 'nope'",
        "field": "program",
    }
    assert (bad_cursor["__typename"], bad_cursor["field"]) == ("InvalidInputError", "after")
    assert (unknown_customer["__typename"], unknown_customer["code"]) == ("NotFoundError", "CUSTOMER_NOT_FOUND")


async def test_the_history_page_costs_the_same_statements_for_one_change_or_many(api, database, count_statements):
    one, _ = await silver_customer(api)
    many, _ = await silver_customer(api)
    await buy(api, many, "80000")

    counter = count_statements()
    await tier_history(api, by_mobile(one))
    for_one = counter.count
    counter.count = 0
    await tier_history(api, by_mobile(many))

    assert counter.count == for_one
    # The customer's id by its identifier, the page of tier changes; SQLite's read transaction also sends its BEGIN.
    assert for_one == (3 if database.is_sqlite else 2)


# --- The expiry run ---------------------------------------------------------------------------


async def test_an_expired_tier_goes_back_to_the_base_tier_once_and_the_customer_qualifies_again(api, database, clock):
    mobile, bought = await silver_customer(api)
    clock.set(AFTER_EXPIRY + timedelta(hours=1))

    early = await expire_tiers(database, AFTER_EXPIRY - timedelta(seconds=2), now=clock.now())
    expired = await expire_tiers(database, AFTER_EXPIRY, now=clock.now())
    again = await expire_tiers(database, AFTER_EXPIRY + timedelta(days=1), now=clock.now())

    assert (early, expired, again) == (0, 1, 0)
    page = await tier_history(api, by_mobile(mobile))
    assert changes(page) == [
        ("main", "EXPIRY", "TIER_EXPIRY", "silver", "bronze", None, None),
        ("main", "UPGRADE", "PURCHASE", "bronze", "silver", EXPIRES_AT, bought["id"]),
    ]
    assert page["records"][0]["createdAt"] == "2027-11-25T19:30:00+00:00"
    customer = await customer_tier(api, by_mobile(mobile))
    main = points_summary(customer)
    assert (customer["currentSlab"], customer["tierExpiryDate"], main["slabExpiryDate"]) == ("bronze", None, None)
    assert (main["cumulativePurchases"], main["loyaltyPoints"]) == ("0", "200")
    assert customer["lifetimePurchases"] == "20000"  # lifetime purchases stay
    # A new qualifying period: purchases count from zero, and reaching silver again upgrades.
    small = (await buy(api, mobile, "19000"))["transaction"]
    assert small["customer"]["currentSlab"] == "bronze"
    back = (await buy(api, mobile, "1000"))["transaction"]
    assert back["customer"]["currentSlab"] == "silver"
    await assert_reconciled(database)


async def test_concurrent_runs_expire_each_tier_exactly_once(api, database, clock):
    mobiles = [(await silver_customer(api))[0] for _ in range(7)]
    await buy(api, new_mobile(), "1000")  # bronze, no expiry: never a candidate
    clock.set(AFTER_EXPIRY)

    counts = await asyncio.gather(
        *(expire_tiers(database, AFTER_EXPIRY, now=clock.now(), batch_standings=2) for _ in range(4))
    )

    assert sum(counts) == 7
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(tier_changes.c.customer_id).where(tier_changes.c.kind == "EXPIRY").order_by("customer_id")
            )
        ).all()
    user_ids = [(await customer_tier(api, by_mobile(mobile)))["userId"] for mobile in mobiles]
    assert [str(row.customer_id) for row in rows] == sorted(user_ids, key=int)
    for mobile in mobiles:
        assert (await customer_tier(api, by_mobile(mobile)))["currentSlab"] == "bronze"


async def test_a_tier_is_expired_per_organisation_and_only_there(api, org_api, database, clock):
    other = await org_api(validity_spec("other"))
    mine, _ = await silver_customer(api)
    theirs, _ = await silver_customer(other)
    clock.set(AFTER_EXPIRY)

    expired = await expire_tiers(database, AFTER_EXPIRY, api.credentials.org_id, now=clock.now())

    assert expired == 1
    assert (await customer_tier(api, by_mobile(mine)))["currentSlab"] == "bronze"
    assert (await customer_tier(other, by_mobile(theirs)))["currentSlab"] == "silver"


async def test_the_maintenance_pass_expires_tiers_with_points_and_promised_points(api, database, clock):
    mobile, _ = await silver_customer(api)
    before = await table_counts(database)

    not_yet = await maintain(database, as_of=clock.now(), idempotency_retention=timedelta(days=1))
    clock.set(AFTER_EXPIRY)
    report = await maintain(database, as_of=clock.now(), idempotency_retention=timedelta(days=1))

    assert (not_yet.tiers_expired, report.tiers_expired) == (0, 1)
    assert (await table_counts(database))["tier_changes"] == before["tier_changes"] + 1
    assert (await customer_tier(api, by_mobile(mobile)))["currentSlab"] == "bronze"


async def test_the_expire_tiers_command_prints_what_it_did(api, database, monkeypatch, tmp_path, clock):
    await silver_customer(api)
    clock.set(AFTER_EXPIRY + timedelta(days=1))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, list(args), env={"COLUMNS": "250"}, catch_exceptions=False, obj=clock)

    try:
        before = await asyncio.to_thread(run, "expire-tiers", "--as-of", "2027-11-25", "--org", "acme")
        due = await asyncio.to_thread(run, "expire-tiers", "--as-of", "2027-11-26")
        again = await asyncio.to_thread(run, "expire-tiers")
    finally:
        get_settings.cache_clear()

    assert (before.exit_code, before.output) == (
        0,
        "acme: expired the tiers of 0 customers (as of 2027-11-25T00:00:00+05:30)\n",
    )
    assert (due.exit_code, due.output) == (
        0,
        "acme: expired the tiers of 1 customers (as of 2027-11-26T00:00:00+05:30)\n",
    )
    assert (again.exit_code, again.output.startswith("acme: expired the tiers of 0 customers")) == (0, True)


async def test_a_refused_purchase_that_would_have_reached_silver_writes_no_tier_history(api, database):
    mobile = new_mobile()
    await buy(api, mobile, "1000")
    before = await table_counts(database)

    refused = await api.data(
        "mutation Add($input: TransactionAddInput!) { addTransaction(input: $input) { __typename "
        "... on Error { code field } } }",
        {
            "input": bill(
                customer={"mobile": mobile},
                amount="20000",
                lineItems=[],
                grossAmount=None,
                discount=None,
                pointsRedemptions=["999999"],
            )
        },
    )

    assert refused["addTransaction"] == {
        "__typename": "NotFoundError",
        "code": "REDEMPTION_NOT_FOUND",
        "field": "input.pointsRedemptions[0]",
    }
    assert await table_counts(database) == before
