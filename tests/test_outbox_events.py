"""The outbox's events, as the API calls that cause them write them: each type exactly once with
its exact payload, nothing for a refused or rolled-back write, a bill's events in one insert, a
customer's events in commit order.

The test bill (tests.factories.bill): 1,800 net at bronze in the main program (1 point per 100,
18 points, expiring at the end of November 2027 in Asia/Kolkata).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.customers.tiers import expire_tiers
from app.http.maintenance import maintain
from app.ledger.expiry import expire_points, notify_expiring_points
from app.outbox import service as outbox
from app.outbox.models import OutboxDelivery, OutboxEvent
from tests.client import add, buy, merge, transfer
from tests.conftest import TEST_NOW, make_org
from tests.factories import bill, by_mobile, by_user_id, new_mobile, transferable_spec
from tests.snapshots import table_counts
from tests.test_bill_statements import counting
from tests.test_promotions import LINK, create_promotion, small_bill, upload
from tests.test_returns import purchase, return_of, returned

event_table = OutboxEvent.__table__  # type: ignore[attr-defined]
delivery_table = OutboxDelivery.__table__  # type: ignore[attr-defined]

NOVEMBER_2027_ENDS = "2027-11-30T18:29:59+00:00"  # where points earned in November 2026 expire (main)
NOW = TEST_NOW.isoformat()

REDEEM = """
mutation Redeem($input: RedeemPointsInput!) {
  redeemPoints(input: $input) { __typename ... on PointsRedeemed { redemption { id } } ... on Error { code field } }
}
"""

REVERSE = """
mutation Reverse($input: ReverseRedemptionInput!) {
  reverseRedemption(input: $input) { __typename ... on Error { code field } }
}
"""

ADJUST = """
mutation Adjust($input: AdjustPointsInput!) {
  adjustPoints(input: $input) {
    __typename
    ... on PointsAdjusted { balanceAfter adjustment { id } }
    ... on Error { code field }
  }
}
"""

CHANGE = """
mutation Change($input: ChangeIdentifierInput!) {
  changeIdentifier(input: $input) { __typename ... on Error { code field } }
}
"""


@pytest.fixture
async def org(database):
    return await make_org(database, transferable_spec())


async def outbox_events(database, after_id: int = 0) -> list[tuple[str, int | None, dict[str, Any]]]:
    """(type, customer id, payload) of every event after `after_id`, in id order."""
    async with database.read() as connection:
        rows = await connection.execute(
            select(event_table.c.type, event_table.c.customer_id, event_table.c.payload)
            .where(event_table.c.id > after_id)
            .order_by(event_table.c.id)
        )
        return [(row.type, row.customer_id, row.payload) for row in rows]


async def last_event_id(database) -> int:
    async with database.read() as connection:
        rows = (await connection.execute(select(event_table.c.id).order_by(event_table.c.id.desc()).limit(1))).all()
        return rows[0].id if rows else 0


def transaction_added(user_id: str, transaction: dict[str, Any], points: str, amount: str = "1800") -> tuple:
    return (
        "transaction.added",
        int(user_id),
        {
            "version": 1,
            "userId": user_id,
            "transactionId": transaction["id"],
            "billNumber": transaction["number"],
            "type": "REGULAR",
            "storeCode": "store-1",
            "amount": amount,
            "billingTime": NOW,
            "programCode": "main",
            "pointsEarned": points,
        },
    )


def points_earned(user_id: str, transaction: dict[str, Any], points: str, balance: str) -> tuple:
    return (
        "points.earned",
        int(user_id),
        {
            "version": 1,
            "userId": user_id,
            "programCode": "main",
            "points": points,
            "balance": balance,
            "transactionId": transaction["id"],
            "billNumber": transaction["number"],
            "expiresAt": NOVEMBER_2027_ENDS,
        },
    )


# --- Bills ----------------------------------------------------------------------------------


async def test_a_bill_emits_transaction_added_then_points_earned_with_a_delivery_row_each(api, database):
    added = (await add(api, bill()))["transaction"]
    user_id = added["customer"]["userId"]

    assert await outbox_events(database) == [
        transaction_added(user_id, added, "18"),
        points_earned(user_id, added, "18", "18"),
    ]
    async with database.read() as connection:
        deliveries = (await connection.execute(select(delivery_table.c.event_id, delivery_table.c.attempts))).all()
    assert sorted(deliveries) == [(1, 0), (2, 0)]


async def test_a_bill_that_reaches_silver_adds_tier_changed_after_points_earned(api, database):
    mobile = new_mobile()

    added = (await buy(api, mobile, "25000"))["transaction"]

    user_id = added["customer"]["userId"]
    assert [event[0] for event in await outbox_events(database)] == [
        "transaction.added",
        "points.earned",
        "tier.changed",
    ]
    assert (await outbox_events(database))[2] == (
        "tier.changed",
        int(user_id),
        {
            "version": 1,
            "userId": user_id,
            "programCode": "main",
            "kind": "UPGRADE",
            "cause": "PURCHASE",
            "tierBefore": "bronze",
            "tierAfter": "silver",
            "tierExpiresAt": None,
        },
    )


async def test_a_bill_earning_nothing_emits_only_transaction_added(api, database):
    added = (await add(api, bill(amount="50", grossAmount=None, discount=None, lineItems=[])))["transaction"]

    user_id = added["customer"]["userId"]
    assert await outbox_events(database) == [transaction_added(user_id, added, "0", amount="50")]


async def test_a_not_interested_bill_emits_transaction_added_about_no_customer(api, database):
    added = (await add(api, bill(type="NOT_INTERESTED", customer=None, notInterestedReason="in a hurry")))[
        "transaction"
    ]

    assert await outbox_events(database) == [
        (
            "transaction.added",
            None,
            {
                "version": 1,
                "userId": None,
                "transactionId": added["id"],
                "billNumber": added["number"],
                "type": "NOT_INTERESTED",
                "storeCode": "store-1",
                "amount": "1800",
                "billingTime": NOW,
                "programCode": "main",
                "pointsEarned": "0",
            },
        )
    ]


async def test_a_refused_bill_emits_nothing(api, database):
    first = await add(api, bill())
    before = await table_counts(database)

    refused = await api.data(
        "mutation Add($input: TransactionAddInput!) { addTransaction(input: $input) { __typename } }",
        {"input": bill(number=first["transaction"]["number"], amount="1700")},
    )

    assert refused["addTransaction"]["__typename"] == "DuplicateBillNumberError"
    assert await table_counts(database) == before
    assert len(await outbox_events(database)) == 2


async def test_a_replayed_bill_emits_nothing_again(api, database):
    document = bill()
    await add(api, document)

    replay = await add(api, document)

    assert replay["replayed"] is True
    assert [event[0] for event in await outbox_events(database)] == ["transaction.added", "points.earned"]


async def test_a_bills_events_are_one_insert_and_its_deliveries_another(api, database):
    mobile = new_mobile()
    await buy(api, mobile, "100")

    async with counting(database) as statements:
        await buy(api, mobile, "25000")  # transaction.added, points.earned, tier.changed

    outbox_statements = [statement for statement in statements if "outbox" in statement]
    assert [" ".join(statement.split()[:3]) for statement in outbox_statements] == [
        "INSERT INTO outbox_events",
        "INSERT INTO outbox_deliveries",
    ]
    assert len(await outbox_events(database)) == 5


async def test_a_customers_events_follow_the_order_their_writes_committed(api, database):
    mobile = new_mobile()
    first = (await buy(api, mobile, "1000"))["transaction"]
    second = (await buy(api, mobile, "2000"))["transaction"]
    user_id = first["customer"]["userId"]

    assert await outbox_events(database) == [
        transaction_added(user_id, first, "10", amount="1000"),
        points_earned(user_id, first, "10", "10"),
        transaction_added(user_id, second, "20", amount="2000"),
        points_earned(user_id, second, "20", "30"),
    ]


# --- The outbox itself ----------------------------------------------------------------------


async def test_a_rolled_back_transaction_emits_nothing_and_leaves_nothing_for_the_next(api, database, org):
    async def stage_then_fail(connection):
        outbox.stage(
            connection, org_id=org.org_id, draft=outbox.EventDraft("test.rolled_back", {"version": 1}), now=TEST_NOW
        )
        raise RuntimeError("the change fails after its event was staged")

    with pytest.raises(RuntimeError):
        await database.run_write(stage_then_fail)
    added = (await add(api, bill()))["transaction"]

    user_id = added["customer"]["userId"]
    assert await outbox_events(database) == [
        transaction_added(user_id, added, "18"),
        points_earned(user_id, added, "18", "18"),
    ]


async def test_staging_outside_a_write_transaction_is_refused_rather_than_dropped(database, org):
    async with database.read() as connection:
        with pytest.raises(RuntimeError, match="run_write"):
            outbox.stage(connection, org_id=org.org_id, draft=outbox.EventDraft("test.lost", {}), now=TEST_NOW)


# --- Returns and redemptions ----------------------------------------------------------------


async def test_a_return_emits_transaction_returned_then_points_reversed(api, database):
    bought = await purchase(api)
    user_id = bought["customer"]["userId"]
    after = await last_event_id(database)

    result = await returned(api, return_of(bought))

    return_id = result["transaction"]["id"]
    assert await outbox_events(database, after) == [
        (
            "transaction.returned",
            int(user_id),
            {
                "version": 1,
                "userId": user_id,
                "transactionId": return_id,
                "billNumber": bought["number"],
                "returnType": "FULL",
                "returnedAmount": "1800",
                "returnedPoints": "18",
                "reversedRedemptionPoints": "0",
            },
        ),
        (
            "points.reversed",
            int(user_id),
            {
                "version": 1,
                "userId": user_id,
                "reversed": "EARNING",
                "programCode": "main",
                "points": "18",
                "transactionId": return_id,
                "billNumber": bought["number"],
                "redemptionId": None,
            },
        ),
    ]


async def test_a_redemption_emits_points_redeemed_and_its_reversal_points_reversed(api, database):
    mobile = new_mobile()
    user_id = (await buy(api, mobile, "3000"))["transaction"]["customer"]["userId"]
    after = await last_event_id(database)

    redeemed = (
        await api.data(
            REDEEM,
            {"input": {"customer": by_mobile(mobile), "points": "12", "tillCode": "till-1", "externalReference": "R1"}},
        )
    )["redeemPoints"]
    redemption_id = redeemed["redemption"]["id"]
    reversed_ = (await api.data(REVERSE, {"input": {"redemptionId": redemption_id, "points": "5"}}))[
        "reverseRedemption"
    ]

    assert reversed_["__typename"] == "RedemptionReversed"
    assert await outbox_events(database, after) == [
        (
            "points.redeemed",
            int(user_id),
            {
                "version": 1,
                "userId": user_id,
                "redemptionId": redemption_id,
                "points": "12",
                "shares": [{"programCode": "main", "points": "12"}],
                "externalReference": "R1",
            },
        ),
        (
            "points.reversed",
            int(user_id),
            {
                "version": 1,
                "userId": user_id,
                "reversed": "REDEMPTION",
                "programCode": None,
                "points": "5",
                "transactionId": None,
                "billNumber": None,
                "redemptionId": redemption_id,
            },
        ),
    ]


async def test_a_refused_redemption_emits_nothing(api, database):
    mobile = new_mobile()
    await buy(api, mobile, "1000")
    after = await last_event_id(database)

    refused = (
        await api.data(REDEEM, {"input": {"customer": by_mobile(mobile), "points": "11", "tillCode": "till-1"}})
    )["redeemPoints"]

    assert refused["__typename"] == "InsufficientPointsError"
    assert await outbox_events(database, after) == []


# --- Member care: adjustments, transfers, merges, identifiers -------------------------------


async def test_an_adjustment_emits_points_adjusted_with_the_balance_after(api, database):
    mobile = new_mobile()
    user_id = (await buy(api, mobile, "1000"))["transaction"]["customer"]["userId"]
    after = await last_event_id(database)

    adjusted = (
        await api.data(
            ADJUST,
            {
                "input": {
                    "customer": by_user_id(user_id),
                    "type": "DEBIT",
                    "points": "4",
                    "reason": "GOODWILL",
                    "note": "Wrong credit",
                    "idempotencyKey": "care-1",
                }
            },
        )
    )["adjustPoints"]

    assert adjusted["balanceAfter"] == "6"
    assert await outbox_events(database, after) == [
        (
            "points.adjusted",
            int(user_id),
            {
                "version": 1,
                "userId": user_id,
                "adjustmentId": adjusted["adjustment"]["id"],
                "programCode": "main",
                "entryType": "DEBIT",
                "points": "4",
                "balance": "6",
                "reason": "GOODWILL",
            },
        )
    ]


async def test_a_transfer_emits_points_transferred_on_each_side(api, database):
    sender_mobile, receiver_mobile = new_mobile(), new_mobile()
    sender = (await buy(api, sender_mobile, "1000"))["transaction"]["customer"]["userId"]
    receiver = (await buy(api, receiver_mobile, "500"))["transaction"]["customer"]["userId"]
    after = await last_event_id(database)

    result = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "3")

    transfer_id = result["transfer"]["id"]
    side = {"version": 1, "transferId": transfer_id, "programCode": "main", "points": "3"}
    assert await outbox_events(database, after) == [
        (
            "points.transferred",
            int(sender),
            {**side, "userId": sender, "direction": "OUT", "otherUserId": receiver, "balance": "7"},
        ),
        (
            "points.transferred",
            int(receiver),
            {**side, "userId": receiver, "direction": "IN", "otherUserId": sender, "balance": "8"},
        ),
    ]


async def test_a_refused_transfer_emits_nothing(api, database):
    sender_mobile, receiver_mobile = new_mobile(), new_mobile()
    await buy(api, sender_mobile, "1000")
    await buy(api, receiver_mobile, "500")
    after = await last_event_id(database)

    result = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "11")

    assert result["__typename"] == "InsufficientPointsError"
    assert await outbox_events(database, after) == []


async def test_a_merge_emits_customers_merged_on_the_survivor(api, database):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor = (await buy(api, survivor_mobile, "1000"))["transaction"]["customer"]["userId"]
    victim = (await buy(api, victim_mobile, "500", email="victim@example.com"))["transaction"]["customer"]["userId"]
    after = await last_event_id(database)

    merged = await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile))

    assert merged["__typename"] == "CustomersMerged"
    assert await outbox_events(database, after) == [
        (
            "customers.merged",
            int(survivor),
            {
                "version": 1,
                "userId": survivor,
                "mergedUserId": victim,
                "movedIdentifiers": [
                    {"type": "MOBILE", "value": "91" + victim_mobile},
                    {"type": "EMAIL", "value": "victim@example.com"},
                ],
                "transactionId": None,
            },
        )
    ]


async def test_replacing_an_identifier_emits_removed_then_added(api, database):
    mobile, new = new_mobile(), new_mobile()
    user_id = (await buy(api, mobile, "1000"))["transaction"]["customer"]["userId"]
    after = await last_event_id(database)

    changed = (
        await api.data(
            CHANGE,
            {
                "input": {
                    "customer": by_user_id(user_id),
                    "type": "MOBILE",
                    "add": new,
                    "remove": mobile,
                    "source": "INSTORE",
                }
            },
        )
    )["changeIdentifier"]

    assert changed["__typename"] == "IdentifierChanged"
    common = {"version": 1, "userId": user_id, "identifierType": "MOBILE", "source": "INSTORE"}
    assert await outbox_events(database, after) == [
        ("identifier.changed", int(user_id), {**common, "change": "REMOVED", "value": "91" + mobile}),
        ("identifier.changed", int(user_id), {**common, "change": "ADDED", "value": "91" + new}),
    ]


async def test_an_identifier_taken_by_another_customer_emits_nothing(api, database):
    mobile, other = new_mobile(), new_mobile()
    user_id = (await buy(api, mobile, "1000"))["transaction"]["customer"]["userId"]
    await buy(api, other, "1000")
    after = await last_event_id(database)

    refused = (
        await api.data(
            CHANGE, {"input": {"customer": by_user_id(user_id), "type": "MOBILE", "add": other, "source": "INSTORE"}}
        )
    )["changeIdentifier"]

    assert refused == {"__typename": "ConflictError", "code": "IDENTIFIER_TAKEN", "field": "input.add"}
    assert await outbox_events(database, after) == []


# --- Runs: expiry, tier expiry ----------------------------------------------------------------


async def test_the_expiry_run_emits_points_expired_per_account_once(api, database, clock):
    mobile = new_mobile()
    user_id = (await buy(api, mobile, "1000"))["transaction"]["customer"]["userId"]
    after = await last_event_id(database)
    run_at = datetime(2027, 12, 1, 3, 0, tzinfo=UTC)
    clock.set(run_at)

    await expire_points(database, run_at, now=clock.now())
    await expire_points(database, run_at, now=clock.now())

    assert await outbox_events(database, after) == [
        (
            "points.expired",
            int(user_id),
            {
                "version": 1,
                "userId": user_id,
                "programCode": "main",
                "category": "REGULAR",
                "points": "10",
                "expiredAt": run_at.isoformat(),
            },
        )
    ]


async def test_the_tier_expiry_run_emits_tier_changed(database, org_api, clock):
    spec = transferable_spec("tiered")
    spec["programs"][0]["tier_validity_months"] = 1
    api = await org_api(spec)
    user_id = (await buy(api, new_mobile(), "25000", credentials=api.credentials))["transaction"]["customer"]["userId"]
    after = await last_event_id(database)
    run_at = TEST_NOW + timedelta(days=70)
    clock.set(run_at)

    await expire_tiers(database, run_at, now=run_at)

    assert await outbox_events(database, after) == [
        (
            "tier.changed",
            int(user_id),
            {
                "version": 1,
                "userId": user_id,
                "programCode": "main",
                "kind": "EXPIRY",
                "cause": "TIER_EXPIRY",
                "tierBefore": "silver",
                "tierAfter": "bronze",
                "tierExpiresAt": None,
            },
        )
    ]


# --- Expiring points notices ----------------------------------------------------------------


def expiring(user_id: str, points: str, expires_at: str) -> tuple:
    payload = {"version": 1, "userId": user_id, "programCode": "main", "points": points, "expiresAt": expires_at}
    return ("points.expiring", int(user_id), payload)


async def test_expiring_points_are_noticed_once_per_lot_within_the_window_even_when_the_run_runs_twice(
    api, database, org_api, clock
):
    spec = transferable_spec("noticed")
    spec["organization"]["expiry_notice_days"] = 7
    noticed = await org_api(spec)
    mobile = new_mobile()
    user_id = (await buy(noticed, mobile, "1000", credentials=noticed.credentials))["transaction"]["customer"]["userId"]
    clock.set(datetime(2026, 12, 10, 6, 30, tzinfo=UTC))
    await buy(noticed, mobile, "2000", credentials=noticed.credentials)  # 20 points, expiring after December 2027
    await buy(api, new_mobile(), "1000")  # the test organisation sets no notice window
    after = await last_event_id(database)

    early = await notify_expiring_points(database, datetime(2027, 11, 20, tzinfo=UTC), now=clock.now())
    first_run_at = datetime(2027, 11, 24, tzinfo=UTC)
    first = await notify_expiring_points(database, first_run_at, now=first_run_at)
    again = await notify_expiring_points(database, first_run_at + timedelta(hours=1), now=first_run_at)
    december_run_at = datetime(2027, 12, 25, tzinfo=UTC)
    december = await notify_expiring_points(database, december_run_at, now=december_run_at)

    assert (early, first, again, december) == (0, 1, 0, 1)
    assert await outbox_events(database, after) == [
        expiring(user_id, "10", NOVEMBER_2027_ENDS),
        expiring(user_id, "20", "2027-12-31T18:29:59+00:00"),
    ]


async def test_the_maintenance_pass_emits_the_notices(database, org_api, clock):
    spec = transferable_spec("noticed")
    spec["organization"]["expiry_notice_days"] = 10
    noticed = await org_api(spec)
    user_id = (await buy(noticed, new_mobile(), "1000", credentials=noticed.credentials))["transaction"]["customer"][
        "userId"
    ]
    after = await last_event_id(database)
    run_at = datetime(2027, 11, 21, tzinfo=UTC)

    report = await maintain(database, as_of=run_at, idempotency_retention=timedelta(days=1))
    await maintain(database, as_of=run_at + timedelta(days=1), idempotency_retention=timedelta(days=1))

    assert report.expiry_notices == 1
    assert await outbox_events(database, after) == [expiring(user_id, "10", NOVEMBER_2027_ENDS)]


# --- Promo codes ----------------------------------------------------------------------------


async def test_linking_a_code_emits_promo_code_linked_and_its_use_on_a_bill_promo_code_redeemed(api, database, org):
    promotion = await create_promotion(api, name="coalition coupon")
    await upload(database, org, promotion, "code\nPAPER-1\n")
    mobile = new_mobile()
    user_id = (await add(api, small_bill("10", customer={"mobile": mobile})))["transaction"]["customer"]["userId"]
    after = await last_event_id(database)

    await api.data(LINK, {"input": {"code": "paper-1", "customer": by_mobile(mobile)}})
    await api.data(LINK, {"input": {"code": "PAPER-1", "customer": by_mobile(mobile)}})  # a replay: no event
    applied = (await add(api, small_bill("500", customer={"mobile": mobile})))["transaction"]

    found = await outbox_events(database, after)
    assert [event[0] for event in found] == [
        "promo_code.linked",
        "transaction.added",
        "promo_code.redeemed",
        "points.earned",
    ]
    assert found[0] == (
        "promo_code.linked",
        int(user_id),
        {
            "version": 1,
            "userId": user_id,
            "code": "PAPER-1",
            "promotionName": "coalition coupon",
            "mode": "NEXT_CHECKOUT",
        },
    )
    assert found[2] == (
        "promo_code.redeemed",
        int(user_id),
        {
            "version": 1,
            "userId": user_id,
            "code": "PAPER-1",
            "promotionName": "coalition coupon",
            "discount": "50",
            "transactionId": applied["id"],
            "billNumber": applied["number"],
            "linked": True,
        },
    )
