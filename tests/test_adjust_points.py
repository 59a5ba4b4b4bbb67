"""adjustPoints: member care's manual credit or debit, through the API.

The org's main program: whole points, bronze earns 1 point per 100, lots expire at the end of
the 12th month after the month they were earned in. The clock stands at 2026-11-25 12:00 IST.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from app.kernel.enums import PointsCategory
from app.ledger.models import EventType, PointAccount, PointLot
from app.organizations.roles import Role
from tests.client import buy, customer_with_points, find_customer, ledger_entries, post_at_once
from tests.conftest import make_key
from tests.factories import by_mobile, by_user_id, new_mobile
from tests.ledger_checks import assert_reconciled, count_events
from tests.snapshots import table_counts

lots = PointLot.__table__
accounts = PointAccount.__table__

ADJUST = """
mutation Adjust($input: AdjustPointsInput!) {
  adjustPoints(input: $input) {
    __typename
    ... on PointsAdjusted {
      balanceAfter replayed
      adjustment { id userId programCode type points reason note eventLogId createdAt }
    }
    ... on Error { code message field }
    ... on InsufficientPointsError { availablePoints requestedPoints }
  }
}
"""

SUMMARY = """
query Summary($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) {
    ... on Customer { loyaltyPoints pointsSummaries { programCode loyaltyPoints lifetimePoints adjusted } }
  }
}
"""

# The end of November 2027 in Asia/Kolkata: where points earned in November 2026 expire.
NOVEMBER_2027_ENDS = datetime(2027, 11, 30, 18, 29, 59, tzinfo=UTC)


def adjustment(user_id: str, type_: str, points: str, key: str, **extra) -> dict:
    return {
        "customer": by_user_id(user_id),
        "type": type_,
        "points": points,
        "reason": "GOODWILL",
        "note": "Late delivery of order 1042",
        "idempotencyKey": key,
        **extra,
    }


async def adjust(api, document: dict, **kwargs) -> dict:
    return (await api.data(ADJUST, {"input": document}, **kwargs))["adjustPoints"]


async def main_summary(api, user_id: str) -> dict:
    customer = (await api.data(SUMMARY, {"lookup": by_user_id(user_id)}))["customer"]
    return next(summary for summary in customer["pointsSummaries"] if summary["programCode"] == "main")


async def open_lots(database, user_id: str) -> list[tuple[Decimal, Decimal, datetime | None]]:
    """(points, points remaining, expiry) of the customer's main REGULAR lots, oldest first."""
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(lots.c.points, lots.c.points_remaining, lots.c.expires_at)
                .join(accounts, accounts.c.id == lots.c.account_id)
                .where(accounts.c.customer_id == int(user_id), accounts.c.category == PointsCategory.REGULAR.value)
                .order_by(lots.c.id)
            )
        ).all()
    return [tuple(row) for row in rows]


async def test_a_credit_is_a_lot_with_the_programs_expiry_its_own_event_and_counts_as_adjusted(api, database, clock):
    _, user_id = await customer_with_points(api, "1000")  # 10 points

    result = await adjust(api, adjustment(user_id, "CREDIT", "50", "care-1"))

    assert result["__typename"] == "PointsAdjusted", result
    assert (result["balanceAfter"], result["replayed"]) == ("60", False)
    assert result["adjustment"] == {
        "id": result["adjustment"]["id"],
        "userId": user_id,
        "programCode": "main",
        "type": "CREDIT",
        "points": "50",
        "reason": "GOODWILL",
        "note": "Late delivery of order 1042",
        "eventLogId": result["adjustment"]["eventLogId"],
        "createdAt": clock.now().isoformat(),
    }
    assert await main_summary(api, user_id) == {
        "programCode": "main",
        "loyaltyPoints": "60",
        "lifetimePoints": "10",
        "adjusted": "50",
    }
    newest = (await ledger_entries(api, by_user_id(user_id)))[0]
    assert (
        newest["eventLogId"],
        newest["eventType"],
        newest["entryKind"],
        newest["entryType"],
        newest["points"],
        newest["balanceAfter"],
    ) == (result["adjustment"]["eventLogId"], "POINTS_ADJUSTMENT", "POINTS_ADJUSTMENT_CREDIT", "CREDIT", "50", "60")
    assert await open_lots(database, user_id) == [
        (Decimal(10), Decimal(10), NOVEMBER_2027_ENDS),
        (Decimal(50), Decimal(50), NOVEMBER_2027_ENDS),
    ]
    await assert_reconciled(database)


async def test_a_debit_takes_the_first_expiring_lots_first_and_counts_against_adjusted(api, database):
    mobile = new_mobile()
    await buy(api, mobile, "1000", billing_time="2026-01-10T10:00:00+05:30")  # 10 points, expire end of Jan 2027
    user_id = (await buy(api, mobile, "2000"))["transaction"]["customer"]["userId"]  # 20, end of Nov 2027

    result = await adjust(api, adjustment(user_id, "DEBIT", "15", "care-2", reason="ERROR_CORRECTION"))

    assert (result["__typename"], result["balanceAfter"], result["adjustment"]["reason"]) == (
        "PointsAdjusted",
        "15",
        "ERROR_CORRECTION",
    )
    assert [(points, remaining) for points, remaining, _ in await open_lots(database, user_id)] == [
        (Decimal(10), Decimal(0)),
        (Decimal(20), Decimal(15)),
    ]
    assert await main_summary(api, user_id) == {
        "programCode": "main",
        "loyaltyPoints": "15",
        "lifetimePoints": "30",
        "adjusted": "-15",
    }
    newest = (await ledger_entries(api, by_user_id(user_id)))[0]
    assert (newest["eventType"], newest["entryKind"], newest["entryType"], newest["points"]) == (
        "POINTS_ADJUSTMENT",
        "POINTS_ADJUSTMENT_DEBIT",
        "DEBIT",
        "15",
    )
    await assert_reconciled(database)


async def test_a_debit_above_the_spendable_points_is_refused_and_writes_nothing(api, database):
    _, user_id = await customer_with_points(api, "1000")
    before = await table_counts(database)

    result = await adjust(api, adjustment(user_id, "DEBIT", "11", "care-3"))

    assert result == {
        "__typename": "InsufficientPointsError",
        "code": "INSUFFICIENT_POINTS",
        "message": "the customer has 10 spendable points in program main, fewer than 11",
        "field": "input.points",
        "availablePoints": "10",
        "requestedPoints": "11",
    }
    assert await table_counts(database) == before
    assert (await main_summary(api, user_id))["loyaltyPoints"] == "10"


async def test_the_same_key_replays_the_first_result_and_another_request_under_it_is_refused(api, database):
    _, user_id = await customer_with_points(api, "1000")
    first = await adjust(api, adjustment(user_id, "CREDIT", "5", "care-4"))
    after_first = await table_counts(database)

    again = await adjust(api, adjustment(user_id, "CREDIT", "5", "care-4"))
    other = await adjust(api, adjustment(user_id, "CREDIT", "6", "care-4"))

    assert again == {**first, "replayed": True}
    assert (other["__typename"], other["code"], other["field"]) == (
        "IdempotencyKeyReusedError",
        "IDEMPOTENCY_KEY_REUSED",
        "input.idempotencyKey",
    )
    assert await table_counts(database) == after_first
    assert await count_events(database, EventType.POINTS_ADJUSTMENT) == 1
    assert (await main_summary(api, user_id))["loyaltyPoints"] == "15"


async def test_bad_input_is_a_typed_error_naming_the_field_and_writes_nothing(api, database):
    _, user_id = await customer_with_points(api, "1000")
    before = await table_counts(database)

    answers = [
        await adjust(api, adjustment(user_id, "CREDIT", "5", "k-1", note="   ")),
        await adjust(api, adjustment(user_id, "CREDIT", "0", "k-2")),
        await adjust(api, adjustment(user_id, "CREDIT", "1.5", "k-3")),
        await adjust(api, adjustment(user_id, "CREDIT", "5", "k-4", programCode="nope")),
        await adjust(api, adjustment(user_id, "CREDIT", "5", " ")),
        await adjust(api, {**adjustment(user_id, "CREDIT", "5", "k-5"), "customer": by_mobile(new_mobile())}),
    ]

    assert [(answer["__typename"], answer["code"], answer["field"]) for answer in answers] == [
        ("InvalidInputError", "INVALID_INPUT", "input.note"),
        ("InvalidInputError", "INVALID_INPUT", "input.points"),
        ("InvalidInputError", "INVALID_INPUT", "input.points"),
        ("NotFoundError", "PROGRAM_NOT_FOUND", "input.programCode"),
        ("InvalidInputError", "INVALID_INPUT", "input.idempotencyKey"),
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "input.customer"),
    ]
    assert await table_counts(database) == before


async def test_only_a_member_care_key_may_adjust(api, database):
    _, user_id = await customer_with_points(api, "1000")
    app_key = await make_key(database, api.credentials.org_id, frozenset({Role.APP, Role.TILL, Role.ADMIN}), "app")
    care_key = await make_key(database, api.credentials.org_id, frozenset({Role.MEMBER_CARE}), "care")
    before = await table_counts(database)

    refused = await api.post(ADJUST, {"input": adjustment(user_id, "CREDIT", "5", "care-5")}, credentials=app_key)

    assert refused["data"] is None
    assert [(error["path"], error["extensions"]["code"]) for error in refused["errors"]] == [
        (["adjustPoints"], "FORBIDDEN")
    ]
    assert await table_counts(database) == before
    allowed = await adjust(api, adjustment(user_id, "CREDIT", "5", "care-5"), credentials=care_key)
    assert (allowed["__typename"], allowed["balanceAfter"]) == ("PointsAdjusted", "15")


async def test_concurrent_debits_never_take_the_balance_below_zero(api, database):
    _, user_id = await customer_with_points(api, "10000")  # 100 points

    answers = await post_at_once(
        api, ADJUST, [adjustment(user_id, "DEBIT", "30", f"debit-{number}") for number in range(10)]
    )

    assert (
        sorted(answer["__typename"] for answer in answers) == ["InsufficientPointsError"] * 7 + ["PointsAdjusted"] * 3
    )
    assert sorted(answer["balanceAfter"] for answer in answers if answer["__typename"] == "PointsAdjusted") == [
        "10",
        "40",
        "70",
    ]
    assert await main_summary(api, user_id) == {
        "programCode": "main",
        "loyaltyPoints": "10",
        "lifetimePoints": "100",
        "adjusted": "-90",
    }
    assert (await find_customer(api, by_user_id(user_id)))["loyaltyPoints"] == "10"
    await assert_reconciled(database)
