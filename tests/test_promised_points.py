"""Points not spendable yet: PROMISED points (held for a return window, then converted by the
run), TRIGGER_BASED points (converted by a client's trigger), lots with a future start date.

The org's main program earns PROMISED points held 14 days and expiring 60 days after the day
they were earned; the "trigger" program earns TRIGGER_BASED points (till-trigger); the cafe
program earns REGULAR points.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.conversions.service import convert_promised_points
from app.http.maintenance import maintain
from app.kernel.enums import PointsCategory
from app.ledger import service as ledger
from app.ledger.expiry import RunReport
from app.ledger.models import EntryKind, EntryType, EventType, PointLot
from tests.client import buy, customer_points, ledger_entries, points_summary
from tests.conftest import make_org
from tests.factories import BASE_ORG, by_mobile, new_mobile
from tests.ledger_checks import assert_reconciled, count_events, program_id
from tests.snapshots import table_counts

lots = PointLot.__table__

IST = "+05:30"
HELD = timedelta(days=14)


def promised_spec(code: str = "acme") -> dict:
    spec = copy.deepcopy(BASE_ORG)
    spec["organization"]["code"] = code
    main = spec["programs"][0]
    main.update(earn_category="PROMISED", promised_days=14, expiry={"strategy": "DAYS_AFTER_EARNING", "value": 60})
    spec["programs"].append(
        {
            "code": "trigger",
            "name": "Points on delivery",
            "earn_category": "TRIGGER_BASED",
            "expiry": {"strategy": "DAYS_AFTER_EARNING", "value": 60},
            "tiers": [{"serial_number": 1, "name": "member", "upgrade_threshold": "0", "earn_rate": "0.01"}],
        }
    )
    spec["stores"][0]["tills"].append({"code": "till-trigger", "program": "trigger"})
    return spec


@pytest.fixture
async def org(database):
    return await make_org(database, promised_spec())


CONVERT = """
mutation Convert($input: ConvertTriggerBasedPointsInput!) {
  convertTriggerBasedPoints(input: $input) {
    __typename
    ... on TriggerBasedPointsConverted {
      replayed eventLogId userId points programs { programCode points }
      customer { userId pointsSummaries { programCode loyaltyPoints triggerBasedPoints } }
    }
    ... on Error { code message field }
  }
}
"""


async def summaries(api, mobile):
    """Each program's points summary, by program code."""
    customer = await customer_points(api, by_mobile(mobile))
    return {
        item["programCode"]: {key: value for key, value in item.items() if key != "programCode"}
        for item in customer["pointsSummaries"]
    }


def points(summary, *names):
    return tuple(summary[name] for name in names)


async def lot_rows(database, category):
    async with database.read() as connection:
        return (
            await connection.execute(
                select(lots.c.points, lots.c.points_remaining, lots.c.active_from, lots.c.expires_at)
                .where(lots.c.category == category)
                .order_by(lots.c.id)
            )
        ).all()


async def convert(api, **input):
    return (await api.data(CONVERT, {"input": input}))["convertTriggerBasedPoints"]


# --- PROMISED ---------------------------------------------------------------------------------


async def test_promised_points_are_pending_until_their_day_then_convert_in_one_event_netting_to_zero(
    api, database, clock
):
    mobile = new_mobile()
    earned_at = clock.now()
    await buy(api, mobile, "1800")  # 18 points into PROMISED, active in 14 days

    before = await summaries(api, mobile)
    clock.set(earned_at + HELD - timedelta(hours=1))
    early = await convert_promised_points(database, clock.now(), now=clock.now())
    converted_at = clock.advance(timedelta(days=1))
    report = await convert_promised_points(database, clock.now(), now=clock.now())
    clock.advance(timedelta(days=1))
    again = await convert_promised_points(database, clock.now(), now=clock.now())
    after = await summaries(api, mobile)

    names = ("loyaltyPoints", "spendablePoints", "pendingPoints", "promisedPoints", "lifetimePoints")
    assert points(before["main"], *names) == ("0", "0", "18", "18", "18")
    assert early == again == RunReport()
    assert report == RunReport(accounts=1, lots=1, points=Decimal(18))
    assert points(after["main"], *names) == ("18", "18", "0", "0", "18")
    # The seed: both entries belong to one event, whose points_on_event is zero.
    entries = await ledger_entries(api, by_mobile(mobile))
    conversion = [entry for entry in entries if entry["eventType"] == "PROMISED_POINTS_CONVERSION"]
    assert sorted(
        (
            entry["pointsCategory"],
            entry["entryType"],
            entry["entryKind"],
            entry["points"],
            entry["pointsOnEvent"],
            entry["balanceAfter"],
        )
        for entry in conversion
    ) == [
        ("PROMISED", "DEBIT", "PROMISED_POINTS_CONVERSION", "18", "0", "0"),
        ("REGULAR", "CREDIT", "PROMISED_POINTS_CONVERSION", "18", "0", "18"),
    ]
    assert len({entry["eventLogId"] for entry in conversion}) == 1
    assert await count_events(database, EventType.PROMISED_POINTS_CONVERSION) == 1
    # The regular lot keeps the promised lot's expiry and is active from the conversion.
    (promised,), (regular,) = await lot_rows(database, "PROMISED"), await lot_rows(database, "REGULAR")
    assert (promised.points_remaining, regular.points, regular.points_remaining) == (0, 18, 18)
    assert regular.expires_at == promised.expires_at
    assert earned_at < promised.active_from < regular.active_from == converted_at
    await assert_reconciled(database)


async def test_pending_points_are_not_spendable_before_their_start(api, org, database, clock):
    mobile = new_mobile()
    added = await buy(api, mobile, "1000", till="till-cafe")  # 50 regular points, spendable at once
    customer_id = int(added["transaction"]["customer"]["userId"])
    starts = clock.now() + timedelta(days=3)
    cafe_id = await program_id(database, "cafe")

    async def credit_future_lot(connection):  # as an import with a future start date writes it
        account = next(
            row
            for row in await ledger.customer_accounts(connection, [customer_id], lock=True)
            if row.program_id == cafe_id and row.category == "REGULAR"
        )
        await ledger.post_event(
            connection,
            org_id=org.org_id,
            now=clock.now(),
            draft=ledger.EventDraft(EventType.TRANSACTION_ADD, customer_id, None, None, None),
            postings=[
                ledger.Posting(
                    ledger.AccountRef(account.id, customer_id, cafe_id, PointsCategory.REGULAR),
                    EntryType.CREDIT,
                    EntryKind.POINTS_ALLOCATION,
                    Decimal(30),
                    lots=(ledger.LotDraft(Decimal(30), starts, None),),
                )
            ],
        )
        return account.id

    account_id = await database.run_write(credit_future_lot)

    cafe = (await summaries(api, mobile))["cafe"]
    async with database.read() as connection:
        now_spendable = await ledger.spendable_points(connection, [account_id], clock.now())
        later_spendable = await ledger.spendable_points(connection, [account_id], starts + timedelta(seconds=1))
    # Points not started are not held: pending, not in loyaltyPoints (tests/test_points_held.py).
    assert points(cafe, "loyaltyPoints", "spendablePoints", "pendingPoints", "promisedPoints") == (
        "50",
        "50",
        "30",
        "0",
    )
    assert (now_spendable[account_id], later_spendable[account_id]) == (50, 80)
    await assert_reconciled(database)


async def test_two_conversion_runs_at_once_convert_each_lot_once(api, database, clock):
    mobiles = [new_mobile() for _ in range(5)]
    for mobile in mobiles:
        await buy(api, mobile, "1000")
        await buy(api, mobile, "2000", billing_time=f"2026-11-20T10:00:00{IST}")  # held from then
    as_of = clock.now() + HELD + timedelta(days=1)

    first, second = await asyncio.gather(
        convert_promised_points(database, as_of, batch_accounts=2, now=clock.now()),
        convert_promised_points(database, as_of, batch_accounts=2, now=clock.now()),
    )

    assert first + second == RunReport(accounts=5, lots=10, points=Decimal(5 * 30))
    assert await count_events(database, EventType.PROMISED_POINTS_CONVERSION) == 5
    for mobile in mobiles:
        assert points((await summaries(api, mobile))["main"], "loyaltyPoints", "promisedPoints") == ("30", "0")
    # Two lots with different expiry dates became two regular lots with the same dates.
    promised = await lot_rows(database, "PROMISED")
    regular = await lot_rows(database, "REGULAR")
    assert sorted(row.expires_at for row in regular) == sorted(row.expires_at for row in promised)
    await assert_reconciled(database)


async def test_a_promised_lot_past_its_expiry_expires_where_it_is_instead_of_converting(org_api, database, clock):
    # Held from posting (a bill billed long ago is still held), expiring from billing.
    spec = promised_spec("posting")
    spec["programs"][0]["hold_from"] = "POSTING_TIME"
    api = await org_api(spec)
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time=f"2026-01-01T10:00:00{IST}")  # expired after Mar 2, still held
    await buy(api, mobile, "2000")  # held, then converted
    as_of = clock.now() + HELD + timedelta(days=1)

    report = await maintain(database, as_of=as_of, idempotency_retention=timedelta(hours=24))
    clock.set(as_of)

    assert report.expired == RunReport(accounts=1, lots=1, points=Decimal(10))
    assert report.converted == RunReport(accounts=1, lots=1, points=Decimal(20))
    main = (await summaries(api, mobile))["main"]
    assert points(main, "loyaltyPoints", "promisedPoints", "expired", "lifetimePoints") == ("20", "0", "10", "30")
    expiry = [entry for entry in await ledger_entries(api, by_mobile(mobile)) if entry["eventType"] == "POINTS_EXPIRY"]
    assert [(entry["pointsCategory"], entry["points"]) for entry in expiry] == [("PROMISED", "10")]
    await assert_reconciled(database)


async def test_promised_points_carried_by_a_merge_still_convert(api, database, clock):
    survivor, victim = new_mobile(), new_mobile()
    await buy(api, survivor, "1000")
    await buy(api, victim, "2000", email="victim@example.com")
    # A bill naming the survivor's mobile and the victim's email merges the victim into the survivor.
    await buy(api, survivor, "500", email="victim@example.com")

    report = await convert_promised_points(database, clock.now() + HELD + timedelta(days=1), now=clock.now())

    assert report == RunReport(accounts=1, lots=3, points=Decimal(35))
    assert points((await summaries(api, survivor))["main"], "loyaltyPoints", "promisedPoints") == ("35", "0")
    await assert_reconciled(database)


# --- TRIGGER_BASED ----------------------------------------------------------------------------


async def test_a_trigger_converts_the_customers_trigger_based_points_in_one_event_netting_to_zero(api, database):
    mobile = new_mobile()
    await buy(api, mobile, "1800", till="till-trigger")  # 18 points into TRIGGER_BASED
    await buy(api, mobile, "1000", till="till-trigger")  # 10 more

    before = (await summaries(api, mobile))["trigger"]
    result = await convert(api, customer=by_mobile(mobile), idempotencyKey="delivered-1")

    assert points(
        before, "loyaltyPoints", "triggerBasedPoints", "spendablePoints", "pendingPoints", "lifetimePoints"
    ) == ("0", "28", "0", "0", "28")
    assert result["__typename"] == "TriggerBasedPointsConverted"
    assert (result["replayed"], result["points"], result["programs"]) == (
        False,
        "28",
        [{"programCode": "trigger", "points": "28"}],
    )
    trigger_summary = points_summary(result["customer"], "trigger")
    assert (trigger_summary["loyaltyPoints"], trigger_summary["triggerBasedPoints"]) == ("28", "0")
    entries = await ledger_entries(api, by_mobile(mobile))
    conversion = [entry for entry in entries if entry["eventType"] == "TRIGGER_BASED_POINTS_CONVERSION"]
    assert sorted(
        (entry["eventLogId"], entry["pointsCategory"], entry["entryType"], entry["points"], entry["pointsOnEvent"])
        for entry in conversion
    ) == [
        (result["eventLogId"], "REGULAR", "CREDIT", "28", "0"),
        (result["eventLogId"], "TRIGGER_BASED", "DEBIT", "28", "0"),
    ]
    after = (await summaries(api, mobile))["trigger"]
    assert points(after, "loyaltyPoints", "spendablePoints", "triggerBasedPoints", "lifetimePoints") == (
        "28",
        "28",
        "0",
        "28",
    )
    await assert_reconciled(database)


async def test_a_trigger_for_one_bill_converts_only_that_bills_points(api, database):
    mobile = new_mobile()
    first = await buy(api, mobile, "1800", till="till-trigger")
    await buy(api, mobile, "1000", till="till-trigger")

    one_bill = await convert(api, customer=by_mobile(mobile), transactionId=first["transaction"]["id"])
    the_rest = await convert(api, customer=by_mobile(mobile), programCode="trigger")

    assert (one_bill["__typename"], one_bill["points"]) == ("TriggerBasedPointsConverted", "18")
    assert (the_rest["__typename"], the_rest["points"]) == ("TriggerBasedPointsConverted", "10")
    assert points((await summaries(api, mobile))["trigger"], "loyaltyPoints", "triggerBasedPoints") == ("28", "0")
    assert await count_events(database, EventType.TRIGGER_BASED_POINTS_CONVERSION) == 2
    await assert_reconciled(database)


async def test_a_trigger_with_nothing_to_convert_or_naming_what_does_not_exist_writes_nothing(api, database):
    mobile, other = new_mobile(), new_mobile()
    first = await buy(api, mobile, "1800", till="till-trigger")
    others_bill = await buy(api, other, "1000", till="till-trigger")
    await buy(api, mobile, "1000")  # promised points are not trigger-based
    assert (await convert(api, customer=by_mobile(mobile), transactionId=first["transaction"]["id"]))["points"] == "18"
    before = await table_counts(database)

    results = [
        await convert(api, customer=by_mobile(mobile)),
        await convert(api, customer=by_mobile(mobile), transactionId=first["transaction"]["id"]),
        await convert(api, customer=by_mobile(new_mobile())),
        await convert(api, customer=by_mobile(mobile), programCode="nope"),
        await convert(api, customer=by_mobile(mobile), transactionId=others_bill["transaction"]["id"]),
        await convert(api, customer=by_mobile(mobile), transactionId="not-an-id"),
        await convert(api, customer={"type": "USER_ID", "value": "99999999999"}),
    ]

    assert [(result["__typename"], result["code"], result["field"]) for result in results] == [
        ("ConflictError", "NO_POINTS_TO_CONVERT", "input"),
        ("ConflictError", "NO_POINTS_TO_CONVERT", "input"),
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "input.customer"),
        ("NotFoundError", "PROGRAM_NOT_FOUND", "input.programCode"),
        ("NotFoundError", "TRANSACTION_NOT_FOUND", "input.transactionId"),
        ("NotFoundError", "TRANSACTION_NOT_FOUND", "input.transactionId"),
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "input.customer"),
    ]
    assert await table_counts(database) == before
    await assert_reconciled(database)


async def test_a_replayed_trigger_returns_the_first_result_and_a_reused_key_is_refused(api, database):
    mobile = new_mobile()
    await buy(api, mobile, "1800", till="till-trigger")
    first = await convert(api, customer=by_mobile(mobile), idempotencyKey="delivery-42")
    after_first = await table_counts(database)

    replay = await convert(api, customer=by_mobile(mobile), idempotencyKey="delivery-42")
    reused = await convert(api, customer=by_mobile(mobile), programCode="trigger", idempotencyKey="delivery-42")

    assert (first["replayed"], replay["replayed"]) == (False, True)
    assert {key: value for key, value in replay.items() if key != "replayed"} == {
        key: value for key, value in first.items() if key != "replayed"
    }
    assert (reused["__typename"], reused["code"], reused["field"]) == (
        "IdempotencyKeyReusedError",
        "IDEMPOTENCY_KEY_REUSED",
        "input.idempotencyKey",
    )
    assert await table_counts(database) == after_first
    await assert_reconciled(database)


async def test_two_triggers_at_once_convert_the_points_once(api, database):
    mobile = new_mobile()
    await buy(api, mobile, "1800", till="till-trigger")

    results = await asyncio.gather(*(convert(api, customer=by_mobile(mobile)) for _ in range(4)))

    assert sorted(result["__typename"] for result in results) == ["ConflictError"] * 3 + ["TriggerBasedPointsConverted"]
    assert points((await summaries(api, mobile))["trigger"], "loyaltyPoints", "triggerBasedPoints") == ("18", "0")
    await assert_reconciled(database)
