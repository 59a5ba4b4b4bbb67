"""mergeCustomers through the API: the seed's merge rules (003), history, errors, replays, races.

Purchases earn 1 main point per 100 at till-1 and 5 cafe points per 100 at till-cafe.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.kernel.enums import PointsCategory
from app.ledger.models import PointAccount, PointLot
from app.organizations.models import Program
from tests.client import earn, entry_shape, find_customer, ledger_entries, merge
from tests.conftest import make_org
from tests.factories import by_mobile, by_user_id, new_mobile, org_spec
from tests.ledger_checks import assert_reconciled, overdraw
from tests.snapshots import table_counts

accounts = PointAccount.__table__
lots = PointLot.__table__
programs = Program.__table__

HISTORY = """
query History($customer: CustomerLookupInput!) {
  customerHistory(customer: $customer, first: 1) {
    __typename
    ... on CustomerHistoryPage { records { action otherUserId details } }
    ... on Error { code message field }
  }
}
"""


async def main_lots(database, user_id: str) -> list[tuple[Decimal, datetime | None]]:
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(lots.c.points_remaining, lots.c.expires_at)
                .join(accounts, accounts.c.id == lots.c.account_id)
                .join(programs, programs.c.id == accounts.c.program_id)
                .where(
                    accounts.c.customer_id == int(user_id),
                    accounts.c.category == PointsCategory.REGULAR.value,
                    programs.c.code == "main",
                    lots.c.points_remaining > 0,
                )
            )
        ).all()
    return sorted((row.points_remaining, row.expires_at) for row in rows)


# --- The seed's rules -----------------------------------------------------------------------


async def test_a_merge_moves_each_balance_in_one_event_whose_debits_end_the_victims_ledger(api, database, clock):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor = await earn(api, survivor_mobile, "1000")  # 10 main
    victim = await earn(api, victim_mobile, "4000", billing_time=clock.now() - timedelta(days=62))  # 40, sooner
    await earn(api, victim_mobile, "6000")  # 60 main
    await earn(api, victim_mobile, "1000", till="till-cafe")  # 50 cafe
    (older, older_expiry), (newer, newer_expiry) = await main_lots(database, victim)
    assert (older, newer) == (Decimal(40), Decimal(60))

    result = await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile))

    assert {key: value for key, value in result.items() if key != "survivor"} == {
        "__typename": "CustomersMerged",
        "replayed": False,
        "victimUserId": victim,
    }
    merged = result["survivor"]
    assert (merged["userId"], merged["mobile"], merged["loyaltyPoints"]) == (survivor, "91" + survivor_mobile, "160")
    assert merged["pointsSummaries"] == [
        {"programCode": "main", "loyaltyPoints": "110"},
        {"programCode": "cafe", "loyaltyPoints": "50"},
    ]
    assert {"type": "MOBILE", "value": "91" + victim_mobile} in merged["identifiers"]

    # Seed 003: the merge debits are the very last entries of the victim's ledger, the credits
    # appear in the survivor's; the ledgers stay distinct.
    victim_entries = await ledger_entries(api, by_user_id(victim))
    survivor_entries = await ledger_entries(api, by_user_id(survivor))
    merge_event = victim_entries[0]["eventLogId"]
    assert sorted(entry_shape(entry) for entry in victim_entries[:2]) == [
        ("MERGE_CUSTOMER", "MERGE", "DEBIT", "cafe", "50", "0", "0"),
        ("MERGE_CUSTOMER", "MERGE", "DEBIT", "main", "100", "0", "0"),
    ]
    assert sorted(entry_shape(entry) for entry in survivor_entries[:2]) == [
        ("MERGE_CUSTOMER", "MERGE", "CREDIT", "cafe", "50", "50", "0"),
        ("MERGE_CUSTOMER", "MERGE", "CREDIT", "main", "100", "110", "0"),
    ]
    assert {entry["eventLogId"] for entry in victim_entries[:2] + survivor_entries[:2]} == {merge_event}
    assert all(entry["eventType"] != "MERGE_CUSTOMER" for entry in victim_entries[2:] + survivor_entries[2:])
    # The victim's lots move with their expiry dates.
    assert await main_lots(database, victim) == []
    assert await main_lots(database, survivor) == sorted(
        [(Decimal(10), newer_expiry), (Decimal(40), older_expiry), (Decimal(60), newer_expiry)]
    )
    await assert_reconciled(database)


async def test_the_victims_identifiers_find_the_survivor_afterwards_and_its_user_id_its_closed_ledger(api, database):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor = await earn(api, survivor_mobile, "1000")
    victim = await earn(api, victim_mobile, "2000")
    await merge(api, by_user_id(survivor), by_user_id(victim))

    found = await find_customer(api, by_mobile(victim_mobile))
    later = await earn(api, victim_mobile, "500")  # a purchase by the victim's mobile lands on the survivor

    assert (found["userId"], found["loyaltyPoints"]) == (survivor, "30")
    assert later == survivor
    assert (await find_customer(api, by_mobile(survivor_mobile)))["loyaltyPoints"] == "35"
    closed = await find_customer(api, by_user_id(victim))
    assert (closed["userId"], closed["loyaltyPoints"], closed["identifiers"]) == (victim, "0", [])
    victim_last = (await ledger_entries(api, by_user_id(victim)))[0]
    assert entry_shape(victim_last) == ("MERGE_CUSTOMER", "MERGE", "DEBIT", "main", "20", "0", "0")
    await assert_reconciled(database)


async def test_a_negative_victim_balance_is_reversed_a_victim_credit_and_a_survivor_debit(api, database, org):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor = await earn(api, survivor_mobile, "5000")  # 50
    victim = await earn(api, victim_mobile, "1000")  # 10
    await overdraw(database, org.org_id, victim, Decimal(30))  # -20

    result = await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile))

    assert (result["__typename"], result["survivor"]["loyaltyPoints"]) == ("CustomersMerged", "30")
    victim_last = (await ledger_entries(api, by_user_id(victim)))[0]
    survivor_last = (await ledger_entries(api, by_user_id(survivor)))[0]
    assert entry_shape(victim_last) == ("MERGE_CUSTOMER", "MERGE", "CREDIT", "main", "20", "0", "0")
    assert entry_shape(survivor_last) == ("MERGE_CUSTOMER", "MERGE", "DEBIT", "main", "20", "30", "0")
    assert victim_last["eventLogId"] == survivor_last["eventLogId"]
    await assert_reconciled(database)


async def test_the_history_records_combine_on_the_survivor_and_merged_into_on_the_victim(api):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor = await earn(api, survivor_mobile, "1000")
    victim = await earn(api, victim_mobile, "1000")

    await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile))

    survivor_history = (await api.data(HISTORY, {"customer": by_user_id(survivor)}))["customerHistory"]
    victim_history = (await api.data(HISTORY, {"customer": by_user_id(victim)}))["customerHistory"]
    assert survivor_history["records"] == [
        {
            "action": "COMBINE",
            "otherUserId": victim,
            "details": {"identifiers": [{"type": "MOBILE", "value": "91" + victim_mobile}]},
        }
    ]
    assert victim_history["records"] == [{"action": "MERGED_INTO", "otherUserId": survivor, "details": None}]


# --- Refusals and replays -------------------------------------------------------------------


async def test_refused_merges_name_the_field_and_write_nothing(api, database):
    survivor_mobile, victim_mobile, merged_mobile = new_mobile(), new_mobile(), new_mobile()
    survivor = await earn(api, survivor_mobile, "1000")
    await earn(api, victim_mobile, "1000")
    merged = await earn(api, merged_mobile, "1000")
    await merge(api, by_mobile(survivor_mobile), by_mobile(merged_mobile))
    other_org = await make_org(database, org_spec("other"))
    foreigner = await earn(api, new_mobile(), "1000", credentials=other_org)
    before = await table_counts(database)

    cases = [
        (by_mobile(survivor_mobile), by_user_id(survivor), "InvalidInputError", "SAME_CUSTOMER", "input.victim"),
        (by_mobile(survivor_mobile), by_mobile(merged_mobile), "InvalidInputError", "SAME_CUSTOMER", "input.victim"),
        (by_mobile(survivor_mobile), by_user_id(merged), "ConflictError", "CUSTOMER_MERGED", "input.victim"),
        (by_user_id(merged), by_mobile(victim_mobile), "ConflictError", "CUSTOMER_MERGED", "input.survivor"),
        (by_mobile(survivor_mobile), by_mobile(new_mobile()), "NotFoundError", "CUSTOMER_NOT_FOUND", "input.victim"),
        (by_mobile(new_mobile()), by_mobile(victim_mobile), "NotFoundError", "CUSTOMER_NOT_FOUND", "input.survivor"),
        (by_mobile(survivor_mobile), by_user_id(foreigner), "NotFoundError", "CUSTOMER_NOT_FOUND", "input.victim"),
        (
            by_mobile(survivor_mobile),
            {"type": "MOBILE", "value": "12"},
            "InvalidInputError",
            "INVALID_IDENTIFIER",
            "input.victim.value",
        ),
    ]
    for survivor_lookup, victim_lookup, typename, code, field in cases:
        result = await merge(api, survivor_lookup, victim_lookup)
        assert (result["__typename"], result["code"], result["field"]) == (typename, code, field), (
            victim_lookup,
            result,
        )

    assert await table_counts(database) == before
    await assert_reconciled(database)


async def test_a_merge_sent_again_with_its_key_returns_the_first_result_and_a_reused_key_is_refused(api, database):
    survivor_mobile, victim_mobile, other_mobile = new_mobile(), new_mobile(), new_mobile()
    survivor = await earn(api, survivor_mobile, "1000")
    victim = await earn(api, victim_mobile, "1000")
    await earn(api, other_mobile, "1000")
    first = await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile), idempotencyKey="merge-1")
    before = await table_counts(database)

    again = await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile), idempotencyKey="merge-1")
    # Without the key the same request is refused: the victim's mobile finds the survivor now.
    unkeyed = await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile))
    reused = await merge(api, by_mobile(survivor_mobile), by_mobile(other_mobile), idempotencyKey="merge-1")

    assert (first["replayed"], again["replayed"]) == (False, True)
    assert {key: value for key, value in again.items() if key != "replayed"} == {
        key: value for key, value in first.items() if key != "replayed"
    }
    assert (again["victimUserId"], again["survivor"]["userId"]) == (victim, survivor)
    assert (unkeyed["code"], unkeyed["field"]) == ("SAME_CUSTOMER", "input.victim")
    assert (reused["__typename"], reused["code"], reused["field"]) == (
        "IdempotencyKeyReusedError",
        "IDEMPOTENCY_KEY_REUSED",
        "input.idempotencyKey",
    )
    assert await table_counts(database) == before


# --- Races ----------------------------------------------------------------------------------


async def test_a_bill_for_the_victim_during_the_merge_moves_with_it_or_lands_on_the_survivor(api, database):
    rounds = 5
    for _ in range(rounds):
        survivor_mobile, victim_mobile = new_mobile(), new_mobile()
        survivor = await earn(api, survivor_mobile, "1000")
        victim = await earn(api, victim_mobile, "2000")

        merged, _ = await asyncio.gather(
            merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile)),
            earn(api, victim_mobile, "5000"),
        )

        assert merged["__typename"] == "CustomersMerged"
        # Either way the bill's 50 points end on the survivor and the merge debit stays the victim's last entry.
        assert (await find_customer(api, by_user_id(survivor)))["loyaltyPoints"] == "80"
        victim_entries = await ledger_entries(api, by_user_id(victim))
        assert victim_entries[0]["eventType"] == "MERGE_CUSTOMER"
        assert victim_entries[0]["balanceAfter"] == "0"
        assert victim_entries[0]["points"] in ("20", "70")
    await assert_reconciled(database)


async def test_two_opposite_merges_at_once_leave_one_survivor(api, database):
    rounds = 5
    for _ in range(rounds):
        x_mobile, y_mobile = new_mobile(), new_mobile()
        x = await earn(api, x_mobile, "1000")
        y = await earn(api, y_mobile, "2000")

        results = await asyncio.gather(
            merge(api, by_mobile(x_mobile), by_mobile(y_mobile)), merge(api, by_mobile(y_mobile), by_mobile(x_mobile))
        )

        won = [result for result in results if result["__typename"] == "CustomersMerged"]
        lost = [result for result in results if result["__typename"] != "CustomersMerged"]
        assert len(won) == 1
        assert len(lost) == 1
        # The loser either resolved both mobiles to the survivor (SAME_CUSTOMER) or had resolved
        # them before and found its survivor merged once it held the lock (CUSTOMER_MERGED).
        assert (lost[0]["code"], lost[0]["field"]) in {
            ("SAME_CUSTOMER", "input.victim"),
            ("CUSTOMER_MERGED", "input.survivor"),
        }
        assert won[0]["survivor"]["loyaltyPoints"] == "30"
        assert {won[0]["survivor"]["userId"], won[0]["victimUserId"]} == {x, y}
    await assert_reconciled(database)
