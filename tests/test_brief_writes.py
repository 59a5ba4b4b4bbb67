"""A till's and member care's single-customer writes are brief (`Database.run_write(...,
brief=True)`): on SQLite their statements run on the event loop's thread, none through a trip to
the driver's thread (app/storage/sqlite_driver.py). A redemption on the bench's database:
8.4 -> 6.8 ms of CPU. Bills are pinned by tests/test_bill_statements.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from app.storage import sqlite_driver
from tests.client import customer_with_points, transfer
from tests.conftest import make_org
from tests.factories import by_mobile, by_user_id, transferable_spec
from tests.test_adjust_points import ADJUST, adjustment
from tests.test_promotions import exchange_of
from tests.test_redemptions import REDEEM, REVERSE
from tests.test_returns import post_return, purchase, return_of


@pytest.fixture
async def org(database):
    return await make_org(database, transferable_spec())


@pytest.fixture
def writer_inline(database) -> Any:
    """Per statement on the writer, in order: whether it ran inline (on the event loop's thread)."""
    if not database.is_sqlite:
        pytest.skip("SQLite's one writer")
    inline: list[bool] = []

    def before(*_: Any) -> None:
        inline.append(sqlite_driver._statements_inline.get())

    engine = database.write_engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    yield inline
    event.remove(engine, "before_cursor_execute", before)


async def test_redemptions_reversals_transfers_and_adjustments_run_on_the_event_loop_s_thread(api, writer_inline):
    # Given two customers with points
    mobile, user_id = await customer_with_points(api, "5000")
    _, other_user_id = await customer_with_points(api, "1000")
    writer_inline.clear()

    # When a till redeems, member care reverses part of it, transfers and adjusts points
    redemption = {"customer": by_mobile(mobile), "points": "20", "tillCode": "till-1"}
    redemption_id = (await api.data(REDEEM, {"input": redemption}))["redeemPoints"]["redemption"]["id"]
    reversal = {"redemptionId": redemption_id, "points": "5", "idempotencyKey": "reverse-1"}
    assert (await api.data(REVERSE, {"input": reversal}))["reverseRedemption"]["__typename"] == "RedemptionReversed"
    moved = await transfer(api, by_user_id(user_id), by_user_id(other_user_id), "7", idempotencyKey="transfer-1")
    assert moved["__typename"] == "PointsTransferred"
    adjusted = await api.data(ADJUST, {"input": adjustment(user_id, "CREDIT", "3", "adjust-1")})
    assert adjusted["adjustPoints"]["__typename"] == "PointsAdjusted"

    # Then every statement of the four writes ran inline, on the event loop's thread
    assert len(writer_inline) > 20
    assert set(writer_inline) == {True}


async def test_returns_by_line_in_full_and_exchanges_run_on_the_event_loop_s_thread(api, writer_inline):
    # Given three bills
    by_line, full, swapped = await purchase(api), await purchase(api), await purchase(api)
    writer_inline.clear()

    # When a till returns one line of the first, all of the second, and exchanges the third's
    partial = return_of(by_line, "LINE_ITEM", lineItems=[{"serial": 1, "qty": "1"}])
    assert (await post_return(api, partial))["__typename"] == "TransactionReturned"
    assert (await post_return(api, return_of(full)))["__typename"] == "TransactionReturned"
    exchange = exchange_of(swapped, swapped["mobile"], "SWAP-1", "SHIRT-02", "200")
    assert (await post_return(api, exchange))["__typename"] == "TransactionReturned"

    # Then every statement of the three ran inline, on the event loop's thread
    assert len(writer_inline) > 20
    assert set(writer_inline) == {True}
