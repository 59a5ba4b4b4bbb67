"""No request walks a whole table: every statement a member-care flow sends (bills, redemptions
and their reversals, transfers, adjustments, their replays, the lists that show them) finds its
rows through an index on SQLite. A statement without one costs a full scan per request, which a
test database of a few rows never shows: a reversal read its redemption's ledger entries by
event with no index, about 1 s a request on 6,250,000 entries.

The statements are collected as they are sent, then SQLite's EXPLAIN QUERY PLAN is asked for
each on a connection of its own.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import event

from app.storage.database import sqlite_file
from tests.client import customer_with_points, ledger_entries, transfer
from tests.conftest import make_org
from tests.factories import by_mobile, by_user_id, new_mobile, transferable_spec
from tests.test_adjust_points import ADJUST, adjustment
from tests.test_redemptions import REDEEM, REDEMPTIONS, REVERSE
from tests.test_transfers import TRANSFERS_OF

# Tables that grow with the business: a scan of any of them grows with it.
GROWING_TABLES = (
    "customers",
    "customer_identifiers",
    "customer_history",
    "customer_programs",
    "point_accounts",
    "ledger_events",
    "ledger_entries",
    "point_lots",
    "lot_movements",
    "transactions",
    "transaction_line_items",
    "point_redemptions",
    "point_transfers",
    "point_adjustments",
    "outbox_events",
    "idempotency_keys",
)


@pytest.fixture
async def org(database):
    return await make_org(database, transferable_spec())


@pytest.fixture
def statements_sent(database) -> Any:
    """(SQL, parameters) of every statement the engines send, in order."""
    if not database.is_sqlite:
        pytest.skip("SQLite's query plans")
    sent: list[tuple[str, Any]] = []

    def before(connection, cursor, statement, parameters, context, executemany) -> None:
        if not executemany:
            sent.append((statement, parameters))

    engines = {database.read_engine.sync_engine, database.write_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
    yield sent
    for engine in engines:
        event.remove(engine, "before_cursor_execute", before)


def full_scans(database, sent: list[tuple[str, Any]]) -> dict[str, str]:
    """The statements whose plan scans a growing table (SQL -> the plan's line)."""
    path = sqlite_file(database.url)
    assert path is not None
    found: dict[str, str] = {}
    with sqlite3.connect(path) as connection:
        for sql, parameters in sent:
            if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH", "INSERT INTO")):
                continue
            if sql.lstrip().upper().startswith("INSERT") and " SELECT " not in sql.upper():
                continue
            plan = connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters or ()).fetchall()
            for *_, detail in plan:
                words = detail.split()
                if words[:1] == ["SCAN"] and words[1] in GROWING_TABLES and "COVERING" not in words:
                    found[" ".join(sql.split())] = detail
    return found


async def test_member_care_flows_find_their_rows_through_indexes(api, database, statements_sent):
    # Given two customers with points
    mobile, user_id = await customer_with_points(api, "5000")
    _, other_user_id = await customer_with_points(api, "1000")

    # When member care redeems, reverses part of it twice (the second a replay), transfers and
    # adjusts points (each once more as a replay), and reads the lists that show all of it
    redemption = {"customer": by_mobile(mobile), "points": "20", "tillCode": "till-1"}
    redemption_id = (await api.data(REDEEM, {"input": redemption}))["redeemPoints"]["redemption"]["id"]
    for _ in range(2):
        reversal = {"redemptionId": redemption_id, "points": "5", "idempotencyKey": "reverse-1"}
        assert (await api.data(REVERSE, {"input": reversal}))["reverseRedemption"]["__typename"] == "RedemptionReversed"
    for _ in range(2):
        moved = await transfer(api, by_user_id(user_id), by_user_id(other_user_id), "7", idempotencyKey="transfer-1")
        assert moved["__typename"] == "PointsTransferred"
    for _ in range(2):
        adjusted = await api.data(ADJUST, {"input": adjustment(user_id, "CREDIT", "3", "adjust-1")})
        assert adjusted["adjustPoints"]["__typename"] == "PointsAdjusted"
    await api.data(REDEMPTIONS, {"customer": by_user_id(user_id)})
    await api.data(TRANSFERS_OF, {"customer": by_user_id(user_id)})
    await ledger_entries(api, by_user_id(user_id))
    await customer_with_points(api, "100")  # a new customer's bill
    await api.data(REDEEM, {"input": {"customer": by_mobile(new_mobile()), "points": "1", "tillCode": "till-1"}})

    # Then no statement walked a growing table
    assert len(statements_sent) > 50
    assert full_scans(database, statements_sent) == {}
