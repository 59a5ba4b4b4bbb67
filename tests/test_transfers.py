"""transferPoints and member care's Points Transfer tab, through the API.

The org's main program allows transfers (0 decimal places, bronze earns 1 point per 100); the
cafe program does not.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.kernel.enums import PointsCategory
from app.ledger.models import LedgerEntry, PointAccount, PointLot
from app.ledger.service import reconcile
from app.organizations.models import Program
from app.transfers.models import PointTransfer
from tests.client import earn, ledger_entries, merge, transfer
from tests.conftest import make_org
from tests.documents import TRANSFER
from tests.factories import by_mobile, by_user_id, new_mobile, transferable_spec
from tests.ledger_checks import assert_reconciled, overdraw
from tests.snapshots import table_counts

accounts = PointAccount.__table__
lots = PointLot.__table__
transfers = PointTransfer.__table__
entries = LedgerEntry.__table__
programs = Program.__table__

# What the concurrency test sends: no nested customers, to keep 500 requests quick.
TRANSFER_BRIEF = """
mutation Transfer($input: TransferPointsInput!) {
  transferPoints(input: $input) {
    __typename
    ... on PointsTransferred { fromBalanceAfter toBalanceAfter transfer { id points fromUserId toUserId } }
    ... on Error { code message field }
  }
}
"""

TRANSFERS_OF = """
query Transfers($customer: CustomerLookupInput!, $first: Int = 10, $after: String) {
  customerPointsTransfers(customer: $customer, first: $first, after: $after) {
    __typename
    ... on PointsTransferPage {
      customerId
      records {
        transferType transferId fromUserId toUserId programCode programName points notes createdAt
        from { userId } to { userId }
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""


@pytest.fixture
async def org(database):
    return await make_org(database, transferable_spec())


async def regular_lots(database, user_id: str) -> list[tuple[Decimal, datetime | None]]:
    """(points remaining, expiry) of the customer's main REGULAR lots that hold points, soonest first."""
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(lots.c.points_remaining, lots.c.expires_at)
                .join(accounts, accounts.c.id == lots.c.account_id)
                .where(
                    accounts.c.customer_id == int(user_id),
                    accounts.c.category == PointsCategory.REGULAR.value,
                    lots.c.points_remaining > 0,
                )
                .order_by(lots.c.expires_at, lots.c.id)
            )
        ).all()
    return [(row.points_remaining, row.expires_at) for row in rows]


# --- A transfer ---------------------------------------------------------------------------


async def test_a_transfer_is_one_event_debiting_the_sender_and_crediting_the_receiver(api, database):
    sender_mobile, receiver_mobile = new_mobile(), new_mobile()
    sender = await earn(api, sender_mobile, "10000")  # 100 points
    receiver = await earn(api, receiver_mobile, "1000")  # 10 points

    result = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "30", notes="birthday gift")

    assert result["__typename"] == "PointsTransferred"
    moved = result["transfer"]
    assert (result["replayed"], result["fromBalanceAfter"], result["toBalanceAfter"]) == (False, "70", "40")
    assert {key: moved[key] for key in ("fromUserId", "toUserId", "programCode", "programName", "points", "notes")} == {
        "fromUserId": sender,
        "toUserId": receiver,
        "programCode": "main",
        "programName": "Acme Rewards",
        "points": "30",
        "notes": "birthday gift",
    }
    assert moved["from"] == {"userId": sender, "mobile": "91" + sender_mobile, "loyaltyPoints": "70"}
    assert moved["to"] == {"userId": receiver, "mobile": "91" + receiver_mobile, "loyaltyPoints": "40"}

    # Each ledger shows its own side only (seed 003): the same event, a debit and a credit.
    debit = (await ledger_entries(api, by_user_id(sender)))[0]
    credit = (await ledger_entries(api, by_user_id(receiver)))[0]
    for entry, entry_type, balance in ((debit, "DEBIT", "70"), (credit, "CREDIT", "40")):
        assert (
            entry["eventType"],
            entry["entryKind"],
            entry["entryType"],
            entry["programCode"],
            entry["pointsCategory"],
            entry["points"],
            entry["balanceAfter"],
            entry["pointsOnEvent"],
            entry["eventLogId"],
        ) == (
            "POINTS_TRANSFER",
            "POINTS_TRANSFER",
            entry_type,
            "main",
            "REGULAR",
            "30",
            balance,
            "0",
            moved["eventLogId"],
        )
    async with database.read() as connection:
        stored = (await connection.execute(select(transfers))).one()
    assert (stored.id, stored.from_customer_id, stored.to_customer_id, stored.points, stored.notes) == (
        int(moved["id"]),
        int(sender),
        int(receiver),
        Decimal(30),
        "birthday gift",
    )
    await assert_reconciled(database)


async def test_transferred_points_leave_first_expiring_first_and_keep_their_expiry_at_the_receiver(
    api, database, clock
):
    sender_mobile, receiver_mobile = new_mobile(), new_mobile()
    now = clock.now()
    sender = await earn(api, sender_mobile, "4000", billing_time=now - timedelta(days=62))  # 40 points, expire sooner
    await earn(api, sender_mobile, "6000")  # 60 points, expire later
    receiver = await earn(api, receiver_mobile, "500")  # 5 points
    (older, older_expiry), (newer, newer_expiry) = await regular_lots(database, sender)
    assert (older, newer) == (Decimal(40), Decimal(60))
    assert older_expiry < newer_expiry

    result = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "50")

    assert (result["fromBalanceAfter"], result["toBalanceAfter"]) == ("50", "55")
    assert await regular_lots(database, sender) == [(Decimal(50), newer_expiry)]
    # The receiver's own 5 points were earned today, like the sender's newer lot: same expiry.
    assert sorted(await regular_lots(database, receiver)) == sorted(
        [(Decimal(40), older_expiry), (Decimal(10), newer_expiry), (Decimal(5), newer_expiry)]
    )
    await assert_reconciled(database)


async def test_only_spendable_points_move_points_past_their_expiry_date_stay(api, database, clock):
    sender_mobile, receiver_mobile = new_mobile(), new_mobile()
    two_years_ago = clock.now() - timedelta(days=730)
    sender = await earn(api, sender_mobile, "5000", billing_time=two_years_ago)  # 50 points past their expiry date
    await earn(api, sender_mobile, "10000")  # 100 spendable
    await earn(api, receiver_mobile, "100")
    before = await table_counts(database)

    refused = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "101")
    moved = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "100")

    assert refused == {
        "__typename": "InsufficientPointsError",
        "code": "INSUFFICIENT_POINTS",
        "field": "input.points",
        "message": refused["message"],
        "availablePoints": "100",
        "requestedPoints": "101",
    }
    assert (moved["__typename"], moved["fromBalanceAfter"], moved["toBalanceAfter"]) == (
        "PointsTransferred",
        "50",
        "101",
    )
    expired_lot = await regular_lots(database, sender)
    assert [points for points, _ in expired_lot] == [Decimal(50)]
    assert expired_lot[0][1] < clock.now()
    after = await table_counts(database)
    assert after["point_transfers"] == before["point_transfers"] + 1
    await assert_reconciled(database)


async def test_the_program_defaults_to_the_orgs_default_program_and_a_decimal_program_takes_its_precision(
    org_api, database
):
    spec = transferable_spec("decimals")
    spec["programs"][0]["points_decimal_places"] = 2
    spec["programs"][0]["tiers"][0]["earn_rate"] = "0.0125"
    api = await org_api(spec)
    sender_mobile, receiver_mobile = new_mobile(), new_mobile()
    await earn(api, sender_mobile, "1001")  # 12.51 points (FLOOR to 2 places)
    await earn(api, receiver_mobile, "100")  # 1.25

    too_fine = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "0.125")
    moved = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "2.5")

    assert (too_fine["__typename"], too_fine["code"], too_fine["field"]) == (
        "InvalidInputError",
        "INVALID_INPUT",
        "input.points",
    )
    assert (
        moved["__typename"],
        moved["transfer"]["programCode"],
        moved["fromBalanceAfter"],
        moved["toBalanceAfter"],
    ) == ("PointsTransferred", "main", "10.01", "3.75")
    await assert_reconciled(database)


async def test_points_transferred_to_a_negative_balance_pay_its_debt_first(api, database, org, clock):
    sender_mobile, receiver_mobile = new_mobile(), new_mobile()
    now = clock.now()
    sender = await earn(api, sender_mobile, "2000", billing_time=now - timedelta(days=62))  # 20, expire sooner
    await earn(api, sender_mobile, "4000")  # 40, expire later
    receiver = await earn(api, receiver_mobile, "1000")  # 10
    await overdraw(database, org.org_id, receiver, Decimal(30))  # -20, as a return of spent points leaves it
    (_, older_expiry), (_, newer_expiry) = await regular_lots(database, sender)

    result = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "50")

    assert (result["fromBalanceAfter"], result["toBalanceAfter"]) == ("10", "30")
    # The debt is paid out of the soonest-expiring points: what is left is the later lot's.
    assert await regular_lots(database, receiver) == [(Decimal(30), newer_expiry)]
    assert older_expiry < newer_expiry
    await assert_reconciled(database)


# --- Refusals write nothing -----------------------------------------------------------------


async def test_refused_transfers_name_the_field_and_write_nothing(api, database):
    sender_mobile, receiver_mobile, stranger_mobile = new_mobile(), new_mobile(), new_mobile()
    sender = await earn(api, sender_mobile, "10000")
    await earn(api, receiver_mobile, "1000")
    other_org = await make_org(database, transferable_spec("other"))
    foreigner = await earn(api, stranger_mobile, "10000", credentials=other_org)  # a customer of another org
    before = await table_counts(database)

    cases = [
        ({"points": "101"}, "InsufficientPointsError", "INSUFFICIENT_POINTS", "input.points"),
        ({"points": "0"}, "InvalidInputError", "INVALID_INPUT", "input.points"),
        ({"points": "-5"}, "InvalidInputError", "INVALID_INPUT", "input.points"),
        ({"points": "1.5"}, "InvalidInputError", "INVALID_INPUT", "input.points"),
        ({"points": "1e30"}, "InvalidInputError", "INVALID_INPUT", "input.points"),
        ({"to": by_user_id(sender)}, "InvalidInputError", "SAME_CUSTOMER", "input.to"),
        ({"to": by_mobile(new_mobile())}, "NotFoundError", "CUSTOMER_NOT_FOUND", "input.to"),
        ({"to": by_user_id(foreigner)}, "NotFoundError", "CUSTOMER_NOT_FOUND", "input.to"),
        ({"from": by_mobile(stranger_mobile)}, "NotFoundError", "CUSTOMER_NOT_FOUND", "input.from"),
        ({"programCode": "cafe"}, "InvalidInputError", "PROGRAM_NOT_TRANSFERABLE", "input.programCode"),
        ({"programCode": "nope"}, "NotFoundError", "PROGRAM_NOT_FOUND", "input.programCode"),
        ({"notes": "x" * 1001}, "InvalidInputError", "INVALID_INPUT", "input.notes"),
        ({"notes": "note\u0000"}, "InvalidInputError", "INVALID_INPUT", "input.notes"),
        ({"idempotencyKey": ""}, "InvalidInputError", "INVALID_INPUT", "input.idempotencyKey"),
        ({"idempotencyKey": "key\u0000"}, "InvalidInputError", "INVALID_INPUT", "input.idempotencyKey"),
    ]
    for change, typename, code, field in cases:
        variables = {"from": by_mobile(sender_mobile), "to": by_mobile(receiver_mobile), "points": "10", **change}
        result = (await api.data(TRANSFER, {"input": variables}))["transferPoints"]
        assert (result["__typename"], result["code"], result["field"]) == (typename, code, field), (change, result)

    assert await table_counts(database) == before
    await assert_reconciled(database)


async def test_a_merged_customer_can_neither_send_nor_receive(api, database):
    survivor_mobile, victim_mobile, third_mobile = new_mobile(), new_mobile(), new_mobile()
    await earn(api, survivor_mobile, "1000")
    victim = await earn(api, victim_mobile, "1000")
    await earn(api, third_mobile, "1000")
    merged = await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile))
    assert merged["__typename"] == "CustomersMerged"
    before = await table_counts(database)

    to_victim = await transfer(api, by_mobile(third_mobile), by_user_id(victim), "5")
    from_victim = await transfer(api, by_user_id(victim), by_mobile(third_mobile), "5")

    assert (to_victim["__typename"], to_victim["code"], to_victim["field"]) == (
        "ConflictError",
        "CUSTOMER_MERGED",
        "input.to",
    )
    assert (from_victim["__typename"], from_victim["code"], from_victim["field"]) == (
        "ConflictError",
        "CUSTOMER_MERGED",
        "input.from",
    )
    assert await table_counts(database) == before
    # The victim's mobile finds the survivor now: a transfer to it lands there.
    landed = await transfer(api, by_mobile(third_mobile), by_mobile(victim_mobile), "5")
    assert (landed["__typename"], landed["toBalanceAfter"]) == ("PointsTransferred", "25")
    await assert_reconciled(database)


# --- Idempotency ----------------------------------------------------------------------------


async def test_a_replayed_transfer_returns_the_first_result_and_a_reused_key_is_refused(api, database):
    sender_mobile, receiver_mobile = new_mobile(), new_mobile()
    await earn(api, sender_mobile, "10000")
    await earn(api, receiver_mobile, "1000")
    first = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "30", idempotencyKey="gift-1")
    await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "5")  # balances move on
    before = await table_counts(database)

    again = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "30.0", idempotencyKey="gift-1")
    other = await transfer(api, by_mobile(sender_mobile), by_mobile(receiver_mobile), "31", idempotencyKey="gift-1")

    assert again["replayed"] is True
    assert {key: value for key, value in again.items() if key not in ("replayed", "transfer")} == {
        "__typename": "PointsTransferred",
        "fromBalanceAfter": "70",
        "toBalanceAfter": "40",
    }
    assert {key: value for key, value in again["transfer"].items() if key not in ("from", "to")} == {
        key: value for key, value in first["transfer"].items() if key not in ("from", "to")
    }
    assert (other["__typename"], other["code"], other["field"]) == (
        "IdempotencyKeyReusedError",
        "IDEMPOTENCY_KEY_REUSED",
        "input.idempotencyKey",
    )
    assert await table_counts(database) == before


# --- Member care: the Points Transfer tab ----------------------------------------------------


async def test_member_care_lists_a_customers_transfers_newest_first_as_deductions_and_additions(api, database):
    mobile, friend_mobile, other_mobile = new_mobile(), new_mobile(), new_mobile()
    customer = await earn(api, mobile, "10000")
    friend = await earn(api, friend_mobile, "10000")
    other = await earn(api, other_mobile, "10000")
    sent = await transfer(api, by_mobile(mobile), by_mobile(friend_mobile), "10")
    received = await transfer(api, by_mobile(other_mobile), by_mobile(mobile), "7", notes="thanks")
    await transfer(api, by_mobile(friend_mobile), by_mobile(other_mobile), "3")  # not theirs
    sent_again = await transfer(api, by_mobile(mobile), by_mobile(other_mobile), "1")

    first_page = (await api.data(TRANSFERS_OF, {"customer": by_mobile(mobile), "first": 2}))["customerPointsTransfers"]
    second_page = (
        await api.data(
            TRANSFERS_OF, {"customer": by_mobile(mobile), "first": 2, "after": first_page["pageInfo"]["endCursor"]}
        )
    )["customerPointsTransfers"]

    assert first_page["__typename"] == "PointsTransferPage"
    assert first_page["customerId"] == customer
    records = first_page["records"] + second_page["records"]
    assert [{key: value for key, value in record.items() if key != "createdAt"} for record in records] == [
        {
            "transferType": "DEDUCTION",
            "transferId": sent_again["transfer"]["id"],
            "fromUserId": None,
            "toUserId": other,
            "programCode": "main",
            "programName": "Acme Rewards",
            "points": "1",
            "notes": None,
            "from": None,
            "to": {"userId": other},
        },
        {
            "transferType": "ADDITION",
            "transferId": received["transfer"]["id"],
            "fromUserId": other,
            "toUserId": None,
            "programCode": "main",
            "programName": "Acme Rewards",
            "points": "7",
            "notes": "thanks",
            "from": {"userId": other},
            "to": None,
        },
        {
            "transferType": "DEDUCTION",
            "transferId": sent["transfer"]["id"],
            "fromUserId": None,
            "toUserId": friend,
            "programCode": "main",
            "programName": "Acme Rewards",
            "points": "10",
            "notes": None,
            "from": None,
            "to": {"userId": friend},
        },
    ]
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert second_page["pageInfo"] == {"hasNextPage": False, "endCursor": second_page["pageInfo"]["endCursor"]}
    assert records[0]["createdAt"] >= records[1]["createdAt"] >= records[2]["createdAt"]


async def test_member_care_transfers_of_an_unknown_customer_or_a_foreign_cursor_are_typed_errors(api):
    mobile = new_mobile()
    await earn(api, mobile, "100")

    unknown = (await api.data(TRANSFERS_OF, {"customer": by_mobile(new_mobile())}))["customerPointsTransfers"]
    bad_cursor = (await api.data(TRANSFERS_OF, {"customer": by_mobile(mobile), "after": "bm9wZTox"}))[
        "customerPointsTransfers"
    ]
    too_many = (await api.data(TRANSFERS_OF, {"customer": by_mobile(mobile), "first": 101}))["customerPointsTransfers"]

    assert (unknown["__typename"], unknown["code"], unknown["field"]) == (
        "NotFoundError",
        "CUSTOMER_NOT_FOUND",
        "customer",
    )
    assert (bad_cursor["__typename"], bad_cursor["field"]) == ("InvalidInputError", "after")
    assert (too_many["__typename"], too_many["field"]) == ("InvalidInputError", "first")


# --- Concurrency ----------------------------------------------------------------------------


async def test_500_random_concurrent_transfers_among_20_customers_keep_every_point(api, database, caplog):
    caplog.set_level(logging.INFO, logger="app.storage.database")
    customer_count, transfer_count, wave_size = 20, 500, 100
    mobiles = [new_mobile() for _ in range(customer_count)]
    user_ids = [await earn(api, mobile, "10000") for mobile in mobiles]  # 100 points each
    expected = {user_id: Decimal(100) for user_id in user_ids}
    randomness = random.Random(20261122)
    requests = []
    for _ in range(transfer_count):
        sender, receiver = randomness.sample(range(customer_count), 2)
        # By user id half the time, by mobile otherwise: both lookups race the same rows.
        requests.append(
            (
                by_mobile(mobiles[sender]) if randomness.random() < 0.5 else by_user_id(user_ids[sender]),
                by_mobile(mobiles[receiver]) if randomness.random() < 0.5 else by_user_id(user_ids[receiver]),
                str(randomness.randint(1, 60)),
            )
        )

    results = []
    for start in range(0, transfer_count, wave_size):
        wave = requests[start : start + wave_size]
        results.extend(await asyncio.gather(*(transfer(api, *request, document=TRANSFER_BRIEF) for request in wave)))

    outcomes = {result["__typename"] for result in results}
    assert outcomes <= {"PointsTransferred", "InsufficientPointsError"}, [
        r for r in results if r["__typename"] not in ("PointsTransferred", "InsufficientPointsError")
    ][:3]
    succeeded = [result for result in results if result["__typename"] == "PointsTransferred"]
    assert len(succeeded) > transfer_count // 2  # the amounts are small enough that most go through
    for result in succeeded:
        moved = result["transfer"]
        expected[moved["fromUserId"]] -= Decimal(moved["points"])
        expected[moved["toUserId"]] += Decimal(moved["points"])
        assert Decimal(result["fromBalanceAfter"]) >= 0
    async with database.read() as connection:
        balances = dict(
            (
                await connection.execute(
                    select(accounts.c.customer_id, accounts.c.balance)
                    .join(programs, programs.c.id == accounts.c.program_id)
                    .where(accounts.c.category == PointsCategory.REGULAR.value, programs.c.code == "main")
                )
            ).all()
        )
        stored_transfers = (await connection.execute(select(func.count()).select_from(transfers))).scalar_one()
        negative_entries = (
            await connection.execute(select(func.count()).select_from(entries).where(entries.c.balance_after < 0))
        ).scalar_one()
        discrepancies = await reconcile(connection)
    assert {str(customer_id): balance for customer_id, balance in balances.items()} == expected
    assert sum(balances.values(), Decimal(0)) == Decimal(100 * customer_count)
    assert stored_transfers == len(succeeded)
    assert negative_entries == 0  # no balance was ever below zero, not only at the end
    assert discrepancies == []
    # Accounts are locked in id order: opposite transfers wait, they never deadlock (and so are never retried).
    assert [record.message for record in caplog.records if "retrying write" in record.message] == []
