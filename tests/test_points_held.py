"""Points shown must be points held (issue 16): every field of a customer's points summary is true
at the request's time, computed from the lots, whether or not the expiry run has written its
debit yet; holds and expiry count from the bill's billing time where the program says so.

The org's main program earns REGULAR points (1 per 100 at bronze) expiring 30 days after the day
they were earned, and its tiers last 12 months; "held" earns PROMISED points held 7 days from the
billing time; "posted" earns PROMISED points held 7 days from posting, expiring 30 days after
posting. The clock starts at TEST_NOW (2026-11-25 12:00 in Asia/Kolkata).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.conversions.service import convert_promised_points
from app.customers.tiers import expire_tiers
from app.imports.models import ImportProfile
from app.ledger import repository as ledger_repository
from app.ledger.expiry import expire_points
from tests.client import buy, closing_balance, customer_points, ledger_entries, points_summary
from tests.conftest import TEST_NOW, make_org
from tests.factories import BASE_ORG, by_mobile, new_mobile
from tests.import_checks import finished, post_csv, statements_to_run
from tests.ledger_checks import assert_reconciled
from tests.test_returns import return_of, returned

IST = "+05:30"
HOLD_DAYS = 7


def held_spec(code: str = "acme") -> dict[str, Any]:
    spec = copy.deepcopy(BASE_ORG)
    spec["organization"]["code"] = code
    main = spec["programs"][0]
    main.update(expiry={"strategy": "DAYS_AFTER_EARNING", "value": 30}, tier_validity_months=12)
    tiers = [{"serial_number": 1, "name": "member", "upgrade_threshold": "0", "earn_rate": "0.01"}]
    spec["programs"] += [
        {
            "code": "held",
            "name": "Held from billing",
            "earn_category": "PROMISED",
            "promised_days": HOLD_DAYS,
            "expiry": {"strategy": "DAYS_AFTER_EARNING", "value": 60},
            "tiers": tiers,
        },
        {
            "code": "posted",
            "name": "Held and expiring from posting",
            "earn_category": "PROMISED",
            "promised_days": HOLD_DAYS,
            "hold_from": "POSTING_TIME",
            "expiry_from": "POSTING_TIME",
            "expiry": {"strategy": "DAYS_AFTER_EARNING", "value": 30},
            "tiers": tiers,
        },
    ]
    spec["stores"][0]["tills"] += [
        {"code": "till-held", "program": "held"},
        {"code": "till-posted", "program": "posted"},
    ]
    return spec


@pytest.fixture
async def org(database):
    return await make_org(database, held_spec())


SUMMARY_FIELDS = (
    "loyaltyPoints",
    "spendablePoints",
    "pendingPoints",
    "promisedPoints",
    "triggerBasedPoints",
    "expired",
    "lifetimePoints",
)


async def standing(api, lookup: dict[str, str], program: str = "main") -> dict[str, str]:
    """Every points field of one program's summary, the customer's loyaltyPoints and the ledger's
    closing balance of the program's REGULAR account, read as a client reads them."""
    customer = await customer_points(api, lookup)
    summary = points_summary(customer, program)
    closing = await closing_balance(api, lookup, {"programCodes": [program], "pointsCategories": ["REGULAR"]})
    assert closing["__typename"] == "LedgerClosingBalance", closing
    return {
        **{name: summary[name] for name in SUMMARY_FIELDS},
        "customerLoyaltyPoints": customer["loyaltyPoints"],
        "regularClosingBalance": closing["balance"],
    }


def fields(*values: str, customer: str, closing: str) -> dict[str, str]:
    return {
        **dict(zip(SUMMARY_FIELDS, values, strict=True)),
        "customerLoyaltyPoints": customer,
        "regularClosingBalance": closing,
    }


# --- Every field at every instant --------------------------------------------------------------

DECEMBER_LOT = b"customerprofileid,amount,startdate,expirydate\nHELD-1,100,2026-12-01T00:00:00Z,2026-12-31T00:00:00Z\n"


async def test_an_imported_lot_is_pending_then_held_then_expired_before_and_after_the_run(client_api, database, clock):
    job = await finished(client_api, str((await post_csv(client_api, DECEMBER_LOT)).json()["job"]["id"]))
    assert (job["status"], job["rowsImported"]) == ("DONE", 1)
    lookup = {"type": "EXTERNAL_ID", "value": "HELD-1"}

    # Before its start: pending, not held, in the ledger's balance.
    before_start = await standing(client_api, lookup)
    clock.set(datetime(2026, 12, 15, tzinfo=UTC))
    between = await standing(client_api, lookup)
    clock.set(datetime(2026, 12, 31, tzinfo=UTC))  # its expiry: past it from this instant on
    after_expiry = await standing(client_api, lookup)
    report = await expire_points(database, clock.now(), now=clock.now())
    after_run = await standing(client_api, lookup)

    #                         loyalty spendable pending promised trigger expired lifetime
    assert before_start == fields("0", "0", "100", "0", "0", "0", "100", customer="0", closing="100")
    assert between == fields("100", "100", "0", "0", "0", "0", "100", customer="100", closing="100")
    assert after_expiry == fields("0", "0", "0", "0", "0", "100", "100", customer="0", closing="100")
    assert report.points == 100
    assert after_run == fields("0", "0", "0", "0", "0", "100", "100", customer="0", closing="0")
    await assert_reconciled(database)


async def test_a_bills_points_past_their_expiry_are_expired_before_the_run(api, database, clock):
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time=f"2026-11-20T10:00:00{IST}")  # 10, expire after Dec 20
    await buy(api, mobile, "2000", billing_time=f"2026-11-25T10:00:00{IST}")  # 20, expire after Dec 25

    clock.set(datetime.fromisoformat(f"2026-12-22T09:00:00{IST}"))

    assert await standing(api, by_mobile(mobile)) == fields(
        "20", "20", "0", "0", "0", "10", "30", customer="20", closing="30"
    )
    customer = await customer_points(api, by_mobile(mobile))
    assert customer["expirySchedule"] == [{"expiresOn": "2026-12-25", "programCode": "main", "points": "20"}]
    assert customer["expiredPoints"]["nodes"] == []  # the run has not written its debit yet


# --- A lot imported already expired -----------------------------------------------------------

SEED_ROW = (
    b"customerprofileid,amount,startdate,expirydate,subledgerid,reason\n"
    b"URNGV8294NV,100,2009-11-10T23:00:00Z,2009-11-11T23:00:00Z,subledger1,appeasement\n"
)
SINCE_2009 = {"startDate": "2009-01-01T00:00:00Z"}


async def test_the_seeds_row_expired_in_2009_is_expired_in_the_transaction_that_credits_it(client_api, database, clock):
    job = await finished(client_api, str((await post_csv(client_api, SEED_ROW)).json()["job"]["id"]))
    lookup = {"type": "EXTERNAL_ID", "value": "URNGV8294NV"}

    report = await expire_points(database, clock.now(), now=clock.now())

    assert (job["status"], job["rowsImported"], job["pointsImported"], job["pointsExpired"]) == (
        "DONE",
        1,
        "100",
        "100",
    )
    assert await standing(client_api, lookup) == fields(
        "0", "0", "0", "0", "0", "100", "100", customer="0", closing="0"
    )
    entries = await ledger_entries(client_api, lookup, SINCE_2009)
    assert [
        (
            entry["eventType"],
            entry["entryType"],
            entry["entryKind"],
            entry["points"],
            entry["balanceAfter"],
            entry["createdAt"],
        )
        for entry in entries
        if entry["eventType"] != "CUSTOMER_REGISTRATION"
    ] == [
        ("POINTS_EXPIRY", "DEBIT", "POINTS_EXPIRY", "100", "0", "2009-11-11T23:00:00+00:00"),
        ("POINTS_IMPORT", "CREDIT", "POINTS_ALLOCATION", "100", "100", TEST_NOW.isoformat()),
    ]
    expired = (await customer_points(client_api, lookup))["expiredPoints"]["nodes"]
    assert [(node["expiredOn"], node["programCode"], node["points"]) for node in expired] == [
        ("2009-11-12", "main", "100")
    ]
    assert report.points == 0  # nothing left for the run
    await assert_reconciled(database)


async def test_a_dry_run_counts_the_points_that_would_expire_and_writes_nothing(client_api, database):
    response = await post_csv(client_api, SEED_ROW + b"LATER-1,40,immediate,2099-01-01T00:00:00Z,,\n", dryRun="true")

    job = await finished(client_api, str(response.json()["job"]["id"]))

    assert (job["status"], job["dryRun"], job["pointsImported"], job["pointsExpired"]) == ("DONE", True, "140", "100")
    async with database.read() as connection:
        lots = (await connection.execute(select(func.count()).select_from(ledger_repository.lots))).scalar_one()
    assert lots == 0


async def test_expiring_imported_rows_at_once_costs_the_same_statements_for_2_or_40_rows(database, org, tmp_path):
    def expired_rows(count: int) -> bytes:
        rows = [
            f"OLD-{count}-{number},{number + 1},2009-01-01T00:00:00Z,2009-02-01T00:00:00Z" for number in range(count)
        ]
        return "\n".join(["customerprofileid,amount,startdate,expirydate", *rows, ""]).encode()

    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small.write_bytes(expired_rows(2))
    large.write_bytes(expired_rows(40))
    configuration = {"program_code": "main"}

    small_count = await statements_to_run(database, org.org_id, ImportProfile.TALON_ONE_POINTS, configuration, small)
    large_count = await statements_to_run(database, org.org_id, ImportProfile.TALON_ONE_POINTS, configuration, large)

    assert small_count == large_count
    async with database.read() as connection:
        expiry_events = (
            await connection.execute(
                select(func.count())
                .select_from(ledger_repository.events)
                .where(ledger_repository.events.c.event_type == "POINTS_EXPIRY")
            )
        ).scalar_one()
    assert expiry_events == 42
    await assert_reconciled(database)


# --- Holds and expiry from the billing time --------------------------------------------------


async def test_a_bill_billed_16_days_ago_with_a_7_day_hold_from_billing_is_spendable_at_once(api, database, clock):
    mobile = new_mobile()

    await buy(api, mobile, "1000", till="till-held", billing_time=clock.now() - timedelta(days=16))

    assert await standing(api, by_mobile(mobile), "held") == fields(
        "10", "10", "0", "0", "0", "0", "10", customer="10", closing="10"
    )
    [entry] = [
        entry for entry in await ledger_entries(api, by_mobile(mobile)) if entry["eventType"] == "TRANSACTION_ADD"
    ]
    assert (entry["programCode"], entry["pointsCategory"], entry["points"]) == ("held", "REGULAR", "10")
    await assert_reconciled(database)


async def test_a_hold_from_billing_time_ends_7_days_after_the_bill(api, database, clock):
    mobile = new_mobile()
    await buy(api, mobile, "1000", till="till-held", billing_time=clock.now() - timedelta(days=5))

    held = await standing(api, by_mobile(mobile), "held")
    clock.set(TEST_NOW + timedelta(days=2, seconds=1))  # 7 days and a second after the bill
    await convert_promised_points(database, clock.now(), now=clock.now())
    converted = await standing(api, by_mobile(mobile), "held")

    assert held == fields("0", "0", "10", "10", "0", "0", "10", customer="0", closing="0")
    assert converted == fields("10", "10", "0", "0", "0", "0", "10", customer="10", closing="10")
    await assert_reconciled(database)


async def test_a_program_holding_from_posting_holds_a_late_bill_7_more_days_and_expires_it_from_posting(
    api, database, clock
):
    mobile = new_mobile()
    await buy(api, mobile, "1000", till="till-posted", billing_time=clock.now() - timedelta(days=40))

    customer = await customer_points(api, by_mobile(mobile))

    assert await standing(api, by_mobile(mobile), "posted") == fields(
        "0", "0", "10", "10", "0", "0", "10", customer="0", closing="0"
    )
    # 30 days after the day it was posted (Nov 25), not after the day it was billed (Oct 16).
    assert customer["expirySchedule"] == [{"expiresOn": "2026-12-25", "programCode": "posted", "points": "10"}]
    [entry] = [
        entry for entry in await ledger_entries(api, by_mobile(mobile)) if entry["eventType"] == "TRANSACTION_ADD"
    ]
    assert (entry["pointsCategory"], entry["points"]) == ("PROMISED", "10")


async def test_a_bill_billed_past_its_expiry_from_billing_is_expired_at_once(api, database, clock):
    mobile = new_mobile()

    added = await buy(api, mobile, "1000", billing_time=clock.now() - timedelta(days=40))

    assert added["transaction"]["customer"]["pointsSummaries"][0]["loyaltyPoints"] == "0"
    assert await standing(api, by_mobile(mobile)) == fields(
        "0", "0", "0", "0", "0", "10", "10", customer="0", closing="10"
    )


# --- No N+1 ---------------------------------------------------------------------------------


async def statements_for_summaries(api, count_statements, bills: int) -> tuple[int, dict[str, str]]:
    mobile = new_mobile()
    for day in range(bills):  # one lot per bill, each with its own expiry date
        await buy(api, mobile, "1000", billing_time=TEST_NOW - timedelta(days=day))
    await customer_points(api, by_mobile(mobile))  # the API key and the org are cached from here on

    counter = count_statements()
    customer = await customer_points(api, by_mobile(mobile))

    assert points_summary(customer)["loyaltyPoints"] == str(10 * bills)
    return counter.count, points_summary(customer)


async def test_the_customers_summaries_cost_the_same_statements_for_1_or_12_lots(api, count_statements):
    with_one, _ = await statements_for_summaries(api, count_statements, 1)
    with_twelve, summary = await statements_for_summaries(api, count_statements, 12)

    assert with_one == with_twelve
    assert (summary["spendablePoints"], summary["pendingPoints"], summary["expired"]) == ("120", "0", "0")


# --- The tier's expiry (tierExpiryDate) ----------------------------------------------------------

TIER = """
query Tier($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) {
    ... on Customer { currentSlab tierExpiryDate pointsSummaries { programCode currentSlab slabExpiryDate } }
  }
}
"""


async def tier_of(api, mobile: str) -> tuple[str, str | None, str | None]:
    """The customer's slab and tierExpiryDate, and the main summary's slabExpiryDate."""
    customer = (await api.data(TIER, {"lookup": by_mobile(mobile)}))["customer"]
    main = points_summary(customer)
    assert main["currentSlab"] == customer["currentSlab"]
    return customer["currentSlab"], customer["tierExpiryDate"], main["slabExpiryDate"]


async def test_tier_expiry_dates_follow_each_upgrade_downgrade_and_the_expiry_run(api, database, clock):
    mobile = new_mobile()
    # The end of the local day (Asia/Kolkata, 18:29:59 UTC) 12 months after each change.
    silver = (await buy(api, mobile, "20000"))["transaction"]  # 2026-11-25
    after_silver = await tier_of(api, mobile)
    clock.set(datetime.fromisoformat(f"2027-01-10T10:00:00{IST}"))
    gold = (await buy(api, mobile, "80000"))["transaction"]
    after_gold = await tier_of(api, mobile)
    clock.set(datetime.fromisoformat(f"2027-02-01T10:00:00{IST}"))
    await returned(api, return_of({**gold, "mobile": mobile}, "AMOUNT", amount="5000"))  # 95,000: below gold
    after_return = await tier_of(api, mobile)
    clock.set(datetime(2028, 2, 2, tzinfo=UTC))
    expired = await expire_tiers(database, clock.now(), now=clock.now())
    after_expiry = await tier_of(api, mobile)
    again = (await buy(api, mobile, "20000"))["transaction"]

    assert silver["customer"]["tierExpiryDate"] == after_silver[1] == "2027-11-25T18:29:59+00:00"
    assert after_silver == ("silver", "2027-11-25T18:29:59+00:00", "2027-11-25T18:29:59+00:00")
    assert after_gold == ("gold", "2028-01-10T18:29:59+00:00", "2028-01-10T18:29:59+00:00")
    assert after_return == ("silver", "2028-02-01T18:29:59+00:00", "2028-02-01T18:29:59+00:00")
    assert expired == 1
    assert after_expiry == ("bronze", None, None)
    assert (again["customer"]["currentSlab"], again["customer"]["tierExpiryDate"]) == (
        "silver",
        "2029-02-02T18:29:59+00:00",
    )
    await assert_reconciled(database)
