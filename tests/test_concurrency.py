"""Concurrent writes through the API: no lost update, no double award, no double registration.

The same tests run on SQLite (one writer, BEGIN IMMEDIATE) and on PostgreSQL (advisory locks on
natural keys, row locks, bounded retries) when POINTLEDGER_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import logging

from app.ledger.service import reconcile
from tests.client import find_customer, ledger_page, no_lock_errors_logged, post_at_once, signed
from tests.documents import ADD_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile
from tests.snapshots import table_counts


async def test_50_concurrent_purchases_by_one_customer_lose_no_update(api, database, caplog):
    caplog.set_level(logging.INFO)
    mobile = new_mobile()
    documents = [bill(customer={"mobile": mobile}) for _ in range(50)]  # 1,800 each, 1,800 eligible

    results = await post_at_once(api, ADD_TRANSACTION, documents)

    assert [result["__typename"] for result in results] == ["TransactionAdded"] * 50
    assert [result["replayed"] for result in results] == [False] * 50
    assert len({result["transaction"]["id"] for result in results}) == 50
    assert len({result["transaction"]["customer"]["userId"] for result in results}) == 1
    assert no_lock_errors_logged(caplog)
    customer = await find_customer(api, by_mobile(mobile), first=1)
    # Whatever order they ran in: 12 bills at bronze (1 per 100: 18 each; the 12th reaches
    # 21,600 and silver), then 38 at silver (2 per 100: 36 each).
    assert customer["loyaltyPoints"] == "1584"  # 12 x 18 + 38 x 36
    assert customer["lifetimePoints"] == "1584"
    assert customer["lifetimePurchases"] == "90000"  # 50 x 1,800
    assert customer["currentSlab"] == "silver"
    main = customer["pointsSummaries"][0]
    assert (main["programCode"], main["loyaltyPoints"], main["cumulativePurchases"]) == ("main", "1584", "90000")
    page = await ledger_page(api, by_mobile(mobile), {"programCodes": ["main"], "pointsCategories": ["REGULAR"]})
    assert page["pageInfo"]["hasNextPage"] is False
    assert len(page["entries"]) == 51  # the opening balance and 50 awards
    assert sum(signed(entry) for entry in page["entries"]) == 1584
    # Each entry's balance follows from the one before it: no two awards saw the same balance.
    oldest_first = list(reversed(page["entries"]))
    running = 0
    for entry in oldest_first:
        running += signed(entry)
        assert entry["balanceAfter"] == str(running)
    assert sorted(int(entry["points"]) for entry in oldest_first[1:]) == [18] * 12 + [36] * 38
    async with database.read() as connection:
        assert await reconcile(connection) == []


async def test_the_same_bill_posted_10_times_at_once_is_added_once_and_awarded_once(api, database, caplog):
    caplog.set_level(logging.INFO)
    mobile = new_mobile()
    document = bill(number="SAME-1", customer={"mobile": mobile}, billingTime="2026-11-20T10:00:00+05:30")

    results = await post_at_once(api, ADD_TRANSACTION, [document] * 10)

    assert [result["__typename"] for result in results] == ["TransactionAdded"] * 10
    assert len({result["transaction"]["id"] for result in results}) == 1
    assert sorted(result["replayed"] for result in results) == [False] + [True] * 9
    assert {result["transaction"]["customer"]["loyaltyPoints"] for result in results} == {"18"}
    assert no_lock_errors_logged(caplog)
    counts = await table_counts(database)
    assert (counts["transactions"], counts["customers"], counts["ledger_events"], counts["ledger_entries"]) == (
        1,
        1,
        2,
        7,
    )
    page = await ledger_page(api, by_mobile(mobile))
    awards = [entry for entry in page["entries"] if entry["eventType"] == "TRANSACTION_ADD"]
    assert [(entry["transactionId"], entry["points"], entry["balanceAfter"]) for entry in awards] == [
        (results[0]["transaction"]["id"], "18", "18")
    ]
    async with database.read() as connection:
        assert await reconcile(connection) == []


async def test_20_concurrent_first_purchases_by_one_new_mobile_register_one_customer(api, database, caplog):
    caplog.set_level(logging.INFO)
    mobile = new_mobile()
    documents = [bill(customer={"mobile": mobile}, amount="100", lineItems=[]) for _ in range(20)]

    results = await post_at_once(api, ADD_TRANSACTION, documents)

    assert [result["__typename"] for result in results] == ["TransactionAdded"] * 20
    assert len({result["transaction"]["customer"]["userId"] for result in results}) == 1
    assert no_lock_errors_logged(caplog)
    counts = await table_counts(database)
    assert (counts["customers"], counts["customer_identifiers"], counts["transactions"]) == (1, 1, 20)
    page = await ledger_page(api, by_mobile(mobile))
    registrations = [entry for entry in page["entries"] if entry["eventType"] == "CUSTOMER_REGISTRATION"]
    assert len(registrations) == 6
    assert len({entry["eventLogId"] for entry in registrations}) == 1
    customer = await find_customer(api, by_mobile(mobile), first=1)
    assert (customer["loyaltyPoints"], customer["lifetimePurchases"]) == ("20", "2000")
    async with database.read() as connection:
        assert await reconcile(connection) == []
