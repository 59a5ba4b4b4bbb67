"""The expiry run, what customers see of expiry, and the server's maintenance task.

The org's main and cafe programs expire points 30 days after the day they were earned (at the
end of that day in Asia/Kolkata); the "forever" program's points never expire. Lots with a past
expiry come from bills with a past billing time; the run gets an `as_of` chosen by the test.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli.main import cli
from app.http.app import create_app
from app.http.maintenance import MaintenanceTask
from app.kernel.enums import PointsCategory
from app.kernel.settings import Settings, get_settings
from app.ledger import service as ledger
from app.ledger.expiry import RunReport, expire_points
from app.ledger.models import EntryKind, EntryType, EventType, PointLot
from tests.client import buy, customer_points, ledger_entries, points_summary
from tests.conftest import make_org
from tests.factories import BASE_ORG, by_mobile, new_mobile
from tests.ledger_checks import assert_reconciled, count_events, program_id, spend

lots = PointLot.__table__

IST = "+05:30"
# Bills of January 2026: a lot earned on Jan 1 expires at the end of Jan 31 (IST), one earned on
# Jan 20 at the end of Feb 19.
FEBRUARY_1 = datetime.fromisoformat("2026-02-01T00:00:00+05:30")
MARCH_1 = datetime.fromisoformat("2026-03-01T00:00:00+05:30")


def expiry_spec(code: str = "acme") -> dict:
    spec = copy.deepcopy(BASE_ORG)
    spec["organization"]["code"] = code
    main, cafe = spec["programs"]
    main["expiry"] = {"strategy": "DAYS_AFTER_EARNING", "value": 30}
    cafe["expiry"] = {"strategy": "DAYS_AFTER_EARNING", "value": 30}
    spec["programs"].append(
        {
            "code": "forever",
            "name": "Points that never expire",
            "expiry": {"strategy": "NEVER"},
            "tiers": [{"serial_number": 1, "name": "member", "upgrade_threshold": "0", "earn_rate": "0.01"}],
        }
    )
    spec["stores"][0]["tills"].append({"code": "till-forever", "program": "forever"})
    return spec


@pytest.fixture
async def org(database):
    return await make_org(database, expiry_spec())


# --- The run ----------------------------------------------------------------------------------


async def test_lots_past_their_date_expire_with_one_debit_per_account_at_the_time_of_the_run(api, database, clock):
    clock.set(FEBRUARY_1)  # bills posted and expired the morning after Jan 31: the Feb 19 lot is still held
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")  # 10 points, expire after Jan 31
    await buy(api, mobile, "2000", billing_time=f"2026-01-20T10:00:00{IST}")  # 20 points, expire after Feb 19
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}", till="till-cafe")  # 50, after Jan 31

    report = await expire_points(database, FEBRUARY_1, now=clock.now())

    assert report == RunReport(accounts=2, lots=2, points=Decimal(60))
    customer = await customer_points(api, by_mobile(mobile))
    main, cafe = points_summary(customer), points_summary(customer, "cafe")
    assert (main["loyaltyPoints"], main["expired"], main["lifetimePoints"]) == ("20", "10", "30")
    assert (cafe["loyaltyPoints"], cafe["expired"]) == ("0", "50")
    expiries = [
        entry for entry in await ledger_entries(api, by_mobile(mobile)) if entry["eventType"] == "POINTS_EXPIRY"
    ]
    assert [
        (
            entry["programCode"],
            entry["entryType"],
            entry["entryKind"],
            entry["pointsCategory"],
            entry["points"],
            entry["pointsOnEvent"],
            entry["balanceAfter"],
        )
        for entry in expiries
    ] == [
        ("cafe", "DEBIT", "POINTS_EXPIRY", "REGULAR", "50", "-50", "0"),
        ("main", "DEBIT", "POINTS_EXPIRY", "REGULAR", "10", "-10", "20"),
    ]
    # The ledger time is when the expiry ran, not when the points' date ended.
    assert {datetime.fromisoformat(entry["createdAt"]) for entry in expiries} == {clock.now()}
    assert len({entry["eventLogId"] for entry in expiries}) == 2  # one event per account
    await assert_reconciled(database)


async def test_the_seeds_rule_expiry_once_a_second_run_finds_nothing_left(api, database, clock):
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")
    first = await expire_points(database, FEBRUARY_1, now=clock.now())

    second = await expire_points(database, FEBRUARY_1, now=clock.now())
    third = await expire_points(database, FEBRUARY_1 + timedelta(days=1), now=clock.now())

    assert first == RunReport(accounts=1, lots=1, points=Decimal(10))
    assert second == third == RunReport()
    assert await count_events(database, EventType.POINTS_EXPIRY) == 1
    assert points_summary(await customer_points(api, by_mobile(mobile)))["expired"] == "10"
    await assert_reconciled(database)


async def test_two_runs_at_once_expire_each_lot_once(api, database, clock):
    mobiles = [new_mobile() for _ in range(6)]
    for mobile in mobiles:
        await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")
        await buy(api, mobile, "3000", billing_time=f"2026-01-01T12:00:00{IST}")
        await buy(api, mobile, "1000", billing_time=f"2026-01-01T12:00:00{IST}", till="till-cafe")

    # Small batches so the two runs interleave over several write transactions.
    first, second = await asyncio.gather(
        expire_points(database, FEBRUARY_1, batch_accounts=2, now=clock.now()),
        expire_points(database, FEBRUARY_1, batch_accounts=2, now=clock.now()),
    )

    assert first + second == RunReport(accounts=12, lots=18, points=Decimal(6 * (10 + 30 + 50)))
    assert await count_events(database, EventType.POINTS_EXPIRY) == 12
    for mobile in mobiles:
        customer = await customer_points(api, by_mobile(mobile))
        assert [
            (item["programCode"], item["loyaltyPoints"], item["expired"]) for item in customer["pointsSummaries"]
        ] == [("main", "0", "40"), ("cafe", "0", "50"), ("forever", "0", "0")]
    await assert_reconciled(database)


async def test_a_partly_spent_lot_expires_only_what_is_left(api, org, database, clock):
    mobile = new_mobile()
    added = await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")  # 10 points, expire after Jan 31
    await buy(api, mobile, "2000", billing_time=f"2026-01-20T10:00:00{IST}")  # 20 points, expire after Feb 19
    customer_id = int(added["transaction"]["customer"]["userId"])
    await spend(database, org.org_id, customer_id, 6)  # first-expiring first: 6 of the 10

    assert await expire_points(database, FEBRUARY_1, now=clock.now()) == RunReport(
        accounts=1, lots=1, points=Decimal(4)
    )
    assert await expire_points(database, MARCH_1, now=clock.now()) == RunReport(accounts=1, lots=1, points=Decimal(20))

    customer = await customer_points(api, by_mobile(mobile))
    assert (points_summary(customer)["loyaltyPoints"], points_summary(customer)["expired"]) == ("0", "24")
    async with database.read() as connection:
        remaining = (await connection.execute(select(lots.c.points, lots.c.points_remaining).order_by(lots.c.id))).all()
    assert [tuple(row) for row in remaining] == [(10, 0), (20, 0)]
    await assert_reconciled(database)


async def test_points_that_never_expire_stay_and_lots_not_yet_due_wait(api, database, clock):
    mobile = new_mobile()
    await buy(api, mobile, "5000", billing_time=f"2026-01-01T10:00:00{IST}", till="till-forever")  # 50, no expiry
    await buy(api, mobile, "2000", billing_time=f"2026-01-20T10:00:00{IST}")  # 20 points, expire after Feb 19

    report = await expire_points(database, FEBRUARY_1, now=clock.now())
    much_later = await expire_points(database, datetime(2030, 1, 1, tzinfo=UTC), now=clock.now())

    assert report == RunReport()
    assert much_later == RunReport(accounts=1, lots=1, points=Decimal(20))
    customer = await customer_points(api, by_mobile(mobile))
    assert points_summary(customer, "forever")["loyaltyPoints"] == "50"
    assert points_summary(customer)["loyaltyPoints"] == "0"
    await assert_reconciled(database)


async def test_a_run_for_one_org_leaves_the_other_orgs_lots(api, org, database, clock):
    other = await make_org(database, expiry_spec("other"))
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}", credentials=other)

    assert await expire_points(database, FEBRUARY_1, org.org_id, now=clock.now()) == RunReport(
        accounts=1, lots=1, points=Decimal(10)
    )
    assert await expire_points(database, FEBRUARY_1, now=clock.now()) == RunReport(
        accounts=1, lots=1, points=Decimal(10)
    )
    await assert_reconciled(database)


async def test_a_run_in_many_batches_expires_every_account(api, database, clock):
    mobiles = [new_mobile() for _ in range(7)]
    for mobile in mobiles:
        await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")
        await buy(api, mobile, "1000", billing_time=f"2026-01-01T20:00:00{IST}")

    report = await expire_points(database, FEBRUARY_1, batch_accounts=3, now=clock.now())

    assert report == RunReport(accounts=7, lots=14, points=Decimal(140))
    assert await count_events(database, EventType.POINTS_EXPIRY) == 7
    await assert_reconciled(database)


# --- What the customer sees -------------------------------------------------------------------


async def test_the_expiry_schedule_groups_upcoming_points_by_local_date_and_program(api, org, database, clock):
    mobile = new_mobile()
    # Two bills on Nov 20 (IST) expire together at the end of Dec 20; one on Nov 21 at the end of Dec 21.
    added = await buy(api, mobile, "1000", billing_time=f"2026-11-20T09:00:00{IST}")
    await buy(api, mobile, "2000", billing_time=f"2026-11-20T22:00:00{IST}")
    await buy(api, mobile, "3000", billing_time=f"2026-11-21T09:00:00{IST}")
    await buy(api, mobile, "1000", billing_time=f"2026-11-20T09:00:00{IST}", till="till-cafe")
    # Never expires: not scheduled.
    await buy(api, mobile, "1000", billing_time=f"2026-11-20T09:00:00{IST}", till="till-forever")
    # Past its date, not yet expired: not upcoming.
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T09:00:00{IST}")
    customer_id = int(added["transaction"]["customer"]["userId"])
    # Two imported-style lots expiring on different UTC dates but the same Kolkata date (Dec 26).
    main_id = await program_id(database, "main")

    async def credit(connection):
        rows = await ledger.customer_accounts(connection, [customer_id], lock=True)
        account = next(row for row in rows if row.program_id == main_id and row.category == "REGULAR")
        now = clock.now()
        await ledger.post_event(
            connection,
            org_id=org.org_id,
            now=now,
            draft=ledger.EventDraft(EventType.TRANSACTION_ADD, customer_id, None, None, None),
            postings=[
                ledger.Posting(
                    ledger.AccountRef(account.id, customer_id, main_id, PointsCategory.REGULAR),
                    EntryType.CREDIT,
                    EntryKind.POINTS_ALLOCATION,
                    Decimal(7),
                    lots=(
                        ledger.LotDraft(Decimal(3), now, datetime(2026, 12, 25, 20, 0, tzinfo=UTC)),
                        ledger.LotDraft(Decimal(4), now, datetime(2026, 12, 26, 10, 0, tzinfo=UTC)),
                    ),
                )
            ],
        )

    await database.run_write(credit)

    customer = await customer_points(api, by_mobile(mobile))

    assert customer["expirySchedule"] == [
        {"expiresOn": "2026-12-20", "programCode": "main", "points": "30"},
        {"expiresOn": "2026-12-20", "programCode": "cafe", "points": "50"},
        {"expiresOn": "2026-12-21", "programCode": "main", "points": "30"},
        {"expiresOn": "2026-12-26", "programCode": "main", "points": "7"},
    ]
    first_two = (await customer_points(api, by_mobile(mobile), first=2))["expirySchedule"]
    assert [item["expiresOn"] for item in first_two] == ["2026-12-20", "2026-12-20"]
    await assert_reconciled(database)


async def test_spent_and_expired_points_leave_the_schedule(api, org, database):
    mobile = new_mobile()
    added = await buy(api, mobile, "1000", billing_time=f"2026-11-20T09:00:00{IST}")
    await buy(api, mobile, "2000", billing_time=f"2026-11-21T09:00:00{IST}")
    await spend(database, org.org_id, added["transaction"]["customer"]["userId"], 15)

    customer = await customer_points(api, by_mobile(mobile))

    assert customer["expirySchedule"] == [{"expiresOn": "2026-12-21", "programCode": "main", "points": "15"}]
    await assert_reconciled(database)


async def test_expired_points_are_listed_newest_first_in_pages(api, database, clock):
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")
    await buy(api, mobile, "2000", billing_time=f"2026-01-20T10:00:00{IST}")
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}", till="till-cafe")
    await expire_points(database, FEBRUARY_1, now=clock.now())
    await expire_points(database, MARCH_1, now=clock.now())

    first_page = (await customer_points(api, by_mobile(mobile), first=2))["expiredPoints"]
    second_page = (await customer_points(api, by_mobile(mobile), first=2, after=first_page["pageInfo"]["endCursor"]))[
        "expiredPoints"
    ]

    nodes = first_page["nodes"] + second_page["nodes"]
    assert [(node["programCode"], node["pointsCategory"], node["points"]) for node in nodes] == [
        ("main", "REGULAR", "20"),
        ("cafe", "REGULAR", "50"),
        ("main", "REGULAR", "10"),
    ]
    assert (first_page["pageInfo"]["hasNextPage"], second_page["pageInfo"]["hasNextPage"]) == (True, False)
    today = clock.now()
    for node in nodes:
        expired_at = datetime.fromisoformat(node["expiredAt"])
        assert expired_at <= today
        assert node["expiredOn"] == expired_at.astimezone(ZoneInfo("Asia/Kolkata")).date().isoformat()
    assert len({node["eventLogId"] for node in nodes}) == 3


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 0}, "must be between 1 and 100"),
        ({"first": 101}, "must be between 1 and 100"),
        ({"after": "bm90LWEtY3Vyc29y"}, "is not a cursor this API returned"),
    ],
)
async def test_bad_page_arguments_on_expired_points_are_refused(api, variables, message):
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")
    query = """
    query Points($lookup: CustomerLookupInput!, $first: Int = 10, $after: String) {
      customer(lookup: $lookup) { ... on Customer { expiredPoints(first: $first, after: $after) { nodes { points } } } }
    }
    """
    body = await api.post(query, {"lookup": by_mobile(mobile), **variables})

    assert [error["message"] for error in body["errors"]] == [message]


CUSTOMERS_OF_BILLS = """
query Bills($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) {
    ... on Customer {
      transactions(first: 50) {
        nodes {
          customer {
            userId
            pointsSummaries { programCode pendingPoints promisedPoints triggerBasedPoints spendablePoints }
            expirySchedule { expiresOn points }
            expiredPoints { nodes { points } }
          }
        }
      }
    }
  }
}
"""


async def statements_for(api, count_statements, bills):
    mobile = new_mobile()
    # Recent days, so that no lot has expired yet whatever today's date is.
    first_day = api.clock.now() - timedelta(days=bills + 1)
    for day in range(bills):
        await buy(api, mobile, "1000", billing_time=(first_day + timedelta(days=day)).isoformat())
    variables = {"lookup": by_mobile(mobile)}
    await api.data(CUSTOMERS_OF_BILLS, variables)  # the API key and the org are cached from here on

    counter = count_statements()
    nodes = (await api.data(CUSTOMERS_OF_BILLS, variables))["customer"]["transactions"]["nodes"]

    assert len(nodes) == bills
    assert all(len(node["customer"]["expirySchedule"]) == min(bills, 10) for node in nodes)
    return counter.count


async def test_holdings_schedules_and_expired_points_cost_the_same_statements_for_2_or_12_bills(
    api, database, count_statements
):
    with_two = await statements_for(api, count_statements, 2)
    with_twelve = await statements_for(api, count_statements, 12)

    assert with_two == with_twelve


# --- The command line and the server's task ---------------------------------------------------


async def test_the_expire_command_prints_what_it_did_and_refuses_a_future_date(
    api, database, monkeypatch, tmp_path, clock
):
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")
    await buy(api, mobile, "2000", billing_time=f"2026-01-20T10:00:00{IST}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, list(args), env={"COLUMNS": "250"}, catch_exceptions=False, obj=clock)

    try:
        by_date = await asyncio.to_thread(run, "expire", "--as-of", "2026-02-01", "--org", "acme")
        again = await asyncio.to_thread(run, "expire", "--as-of", "2026-02-01")
        by_time = await asyncio.to_thread(run, "expire", "--as-of", "2026-02-20T00:00:00+05:30")
        future = await asyncio.to_thread(run, "expire", "--as-of", (clock.now().date() + timedelta(days=2)).isoformat())
        unknown = await asyncio.to_thread(run, "expire", "--org", "nope")
        malformed = await asyncio.to_thread(run, "expire", "--as-of", "yesterday")
    finally:
        get_settings.cache_clear()

    assert (by_date.exit_code, by_date.output) == (
        0,
        "acme: expired 10 points from 1 lots in 1 accounts (as of 2026-02-01T00:00:00+05:30)\n",
    )
    assert (again.exit_code, again.output) == (
        0,
        "acme: expired 0 points from 0 lots in 0 accounts (as of 2026-02-01T00:00:00+05:30)\n",
    )
    assert (by_time.exit_code, by_time.output) == (
        0,
        "acme: expired 20 points from 1 lots in 1 accounts (as of 2026-02-20T00:00:00+05:30)\n",
    )
    assert future.exit_code == 2
    assert "is later than now" in future.output
    assert unknown.exit_code == 2
    assert "no organisation with code 'nope'" in unknown.output
    assert malformed.exit_code == 2
    assert "must be a date (YYYY-MM-DD) or a time with an offset" in malformed.output
    assert points_summary(await customer_points(api, by_mobile(mobile)))["expired"] == "30"
    await assert_reconciled(database)


async def test_the_servers_maintenance_task_expires_at_start_and_stops_with_the_server(api, database, clock):
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")
    app = create_app(
        Settings(database_url=database.url, maintenance_interval_seconds=3600), database=database, clock=clock
    )
    maintenance = app.state.services.maintenance

    async with app.router.lifespan_context(app):
        await asyncio.wait_for(maintenance.wait_for_passes(1), timeout=60)
        running = maintenance._task

    assert running is not None
    assert running.done()
    assert points_summary(await customer_points(api, by_mobile(mobile)))["expired"] == "10"
    await assert_reconciled(database)


async def test_a_failing_maintenance_pass_is_logged_and_the_next_one_still_runs(database, monkeypatch, caplog, clock):
    calls = []

    async def failing_maintain(*args, **kwargs):
        calls.append(kwargs["as_of"])
        raise RuntimeError("database went away")

    monkeypatch.setattr("app.http.maintenance.maintain", failing_maintain)
    task = MaintenanceTask(database, clock, interval_seconds=0.001, idempotency_retention=timedelta(hours=24))

    task.start()
    await asyncio.wait_for(task.wait_for_passes(2), timeout=60)
    await task.stop()

    assert len(calls) >= 2
    assert set(calls) == {clock.now()}
    assert "maintenance pass failed" in caplog.text
    assert "database went away" in caplog.text


def test_maintenance_is_off_with_an_interval_of_zero_and_keeps_idempotency_keys_a_day_at_least(clock):
    assert MaintenanceTask(None, clock, interval_seconds=0, idempotency_retention=timedelta(hours=24)).enabled is False  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="greater than or equal to 24"):
        Settings(idempotency_retention_hours=12)
    assert Settings().maintenance_interval_seconds == 3600
