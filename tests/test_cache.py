"""The refreshing cache behind API keys and org snapshots, and the bounded map behind product ids."""

from __future__ import annotations

import asyncio

from app.kernel.cache import LeastRecentlyUsed, RefreshingCache


class Source:
    """Counts loads; each load yields to the loop first, as a database read would."""

    def __init__(self) -> None:
        self.loads = 0
        self.value = "first"
        self.failing = False

    async def load(self, key: str) -> str:
        self.loads += 1
        await asyncio.sleep(0)
        if self.failing:
            raise RuntimeError("database down")
        return f"{key}:{self.value}"


async def test_concurrent_first_reads_load_once():
    source = Source()
    cache = RefreshingCache(source.load, ttl_seconds=60)

    values = await asyncio.gather(*[cache.get("k") for _ in range(20)])

    assert values == ["k:first"] * 20
    assert source.loads == 1


async def test_a_stale_value_is_served_while_one_refresh_runs():
    source = Source()
    cache = RefreshingCache(source.load, ttl_seconds=0.01)
    await cache.get("k")
    source.value = "second"
    await asyncio.sleep(0.02)

    stale = await asyncio.gather(*[cache.get("k") for _ in range(20)])
    await asyncio.sleep(0.01)  # let the background refresh land

    assert stale == ["k:first"] * 20
    assert source.loads == 2
    assert await cache.get("k") == "k:second"


async def test_a_failed_refresh_keeps_the_previous_value():
    source = Source()
    cache = RefreshingCache(source.load, ttl_seconds=0.01)
    await cache.get("k")
    source.failing = True
    await asyncio.sleep(0.02)

    assert await cache.get("k") == "k:first"
    await asyncio.sleep(0.01)
    assert await cache.get("k") == "k:first"


async def test_a_failed_first_load_reaches_every_waiting_caller_and_is_not_cached():
    source = Source()
    source.failing = True
    cache = RefreshingCache(source.load, ttl_seconds=60)

    results = await asyncio.gather(*[cache.get("k") for _ in range(3)], return_exceptions=True)

    assert [type(result) for result in results] == [RuntimeError] * 3
    source.failing = False
    assert await cache.get("k") == "k:first"


async def test_a_zero_time_to_live_always_reads_fresh():
    source = Source()
    cache = RefreshingCache(source.load, ttl_seconds=0)
    await cache.get("k")
    source.value = "second"

    assert await cache.get("k") == "k:second"
    assert source.loads == 2


async def test_memory_is_bounded_by_starting_over_when_full():
    source = Source()
    cache = RefreshingCache(source.load, ttl_seconds=60, entries_max=2)
    for key in ("a", "b", "c"):
        await cache.get(key)

    assert set(cache._entries) == {"c"}
    assert await cache.get("a") == "a:first"
    assert source.loads == 4  # "a" was loaded again


def test_the_least_recently_used_entry_goes_when_full():
    # Given a map of 3 entries, where "a" was read after "b" and "c" were stored.
    ids = LeastRecentlyUsed[str, int](3)
    ids.update({"a": 1, "b": 2, "c": 3})
    assert ids.get("a") == 1

    # When a fourth entry comes, "b" (the least recently used) goes; the others stay.
    ids.update({"d": 4})

    assert (len(ids), ids.get("b"), ids.get("a"), ids.get("c"), ids.get("d")) == (3, None, 1, 3, 4)
