"""One request cannot hold the database for everybody (issue 12, item 2): a query past the request
time limit is stopped and its connection returned, mutations are never cut halfway, and one
organisation's requests hold at most their share of the read pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text

from app.http.app import create_app
from app.kernel.settings import Settings
from app.storage.database import Database
from tests.client import Api, buy, customer_points, customer_with_points, points_summary
from tests.conftest import POSTGRES_URL, stop_background_work
from tests.documents import CUSTOMER
from tests.factories import org_spec

# Armed at once, so the deadline passes at the query's first wait (its first read): deterministic.
AT_ONCE = 1e-9


@asynccontextmanager
async def server_api(api: Api, settings: Settings, database: Database | None = None) -> AsyncIterator[Api]:
    """The same organisation's Api on a server with these settings."""
    app = create_app(settings, database=database or api.database, clock=api.clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
        yield Api(client, api.credentials, database or api.database, api.clock)
    await stop_background_work(app)


async def test_a_query_past_the_time_limit_is_stopped_and_its_connection_returned(api):
    mobile, _ = await customer_with_points(api)
    settings = Settings(database_url=api.database.url, request_time_limit_seconds=AT_ONCE)

    async with server_api(api, settings) as hurried:
        body = await hurried.post(CUSTOMER, {"lookup": {"type": "MOBILE", "value": mobile}})

    assert body == {
        "data": None,
        "errors": [
            {
                "message": (
                    "The query ran longer than 1e-09 s and was stopped: ask for less (smaller pages, fewer fields)."
                ),
                "extensions": {"code": "REQUEST_TIMEOUT"},
            }
        ],
    }
    assert connections_in_use(api.database) == 0
    customer = (await api.data(CUSTOMER, {"lookup": {"type": "MOBILE", "value": mobile}}))["customer"]
    assert customer["loyaltyPoints"] == "10"


async def test_a_mutation_is_never_cut_by_the_time_limit(api):
    settings = Settings(database_url=api.database.url, request_time_limit_seconds=AT_ONCE)

    async with server_api(api, settings) as hurried:
        added = await buy(hurried, "+919800000001", "500")

    assert added["transaction"]["customer"]["loyaltyPoints"] == "5"
    summary = points_summary(await customer_points(api, {"type": "MOBILE", "value": "+919800000001"}))
    assert summary["loyaltyPoints"] == "5"


async def test_an_organisation_holds_at_most_its_share_of_the_read_pool(database):
    share_max = database.snapshots_per_share_max
    flooding = [database.for_request(share_key="flooding") for _ in range(share_max + 1)]
    for request in flooding[:share_max]:
        async with request.read():  # its snapshot (and connection) stays open until close()
            pass

    waiting = asyncio.create_task(_read_one(flooding[share_max]))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()  # its organisation's share is used up: it waits its turn
    assert await asyncio.wait_for(_read_one(database.for_request(share_key="other")), 10) == 1

    await flooding[0].close()
    assert await asyncio.wait_for(waiting, 10) == 1
    for request in flooding:
        await request.close()
    assert connections_in_use(database) == 0


def connections_in_use(database: Database) -> int:
    """Connections a read or a write holds now (SQLite's idle kept readers serve nobody)."""
    return sum(pool.checkedout() for pool in database.pools().values())


async def _read_one(request) -> int:
    try:
        async with request.read() as connection:
            return (await connection.execute(text("SELECT 1"))).scalar_one()
    finally:
        await request.close()


@pytest.mark.skipif(not POSTGRES_URL, reason="a read blocked by a table lock needs PostgreSQL")
async def test_one_organisations_blocked_reads_leave_the_pool_to_the_others(api, org_api):
    """A pool of 4 connections (2 + 2 overflow), 2 a share: six of one organisation's queries
    blocked on a locked table hold two, and another organisation's query still gets one."""
    other = await org_api(org_spec("other"))
    mobile, _ = await customer_with_points(other)
    small = Database(POSTGRES_URL, pool_size=2)
    settings = Settings(database_url=POSTGRES_URL, pool_size=2)
    locker = Database(POSTGRES_URL, pool_size=1)
    try:
        async with server_api(api, settings, small) as flooding, locker.write_engine.connect() as lock:
            await lock.begin()
            await lock.execute(text("LOCK TABLE trackers IN ACCESS EXCLUSIVE MODE"))
            blocked = [asyncio.create_task(flooding.post("{ trackers { code } }")) for _ in range(6)]
            await asyncio.sleep(0.2)  # let them reach the lock (the assertions below do not depend on it)

            lookup = {"lookup": {"type": "MOBILE", "value": mobile}}
            answer = await asyncio.wait_for(flooding.data(CUSTOMER, lookup, credentials=other.credentials), 10)

            assert answer["customer"]["loyaltyPoints"] == "10"
            assert not any(task.done() for task in blocked)
            await lock.rollback()
            assert [body["data"] for body in await asyncio.gather(*blocked)] == [{"trackers": []}] * 6
    finally:
        await small.dispose()
        await locker.dispose()
