"""Requests a minute per organisation and key role, counted in a moving window (in the process, or in Redis).

A moving window: a request counts for the 60 seconds after it, exactly (a fixed window lets
twice the limit through around its edge). Counts live in this process's memory by default
(app/kernel/moving_window.py); with several processes (uvicorn workers, hosts) they share a Redis
server (`POINTLEDGER_RATE_LIMIT_STORAGE=redis://host:6379/0`) through the `limits` library, whose
scripts keep each hit atomic. The window runs on real time (a monotonic clock in the process, the
library's wall clock on Redis): rate limiting is about real time passing, not the business time a
request is stamped with.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from app.kernel.moving_window import MovingWindows

WINDOW_SECONDS = 60
MEMORY_SCHEME = "memory://"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one request's hit came to, and what the IETF RateLimit headers say of it."""

    allowed: bool
    policy: str  # the key role whose limit counted the request
    limit: int  # requests a minute
    remaining: int
    reset_seconds: int  # until a request is free again (the oldest one in the window leaves)

    def headers(self) -> dict[str, str]:
        """RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers), and Retry-After
        when refused."""
        headers = {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_seconds}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(self.reset_seconds, 1))
        return headers


class RateLimiter:
    def __init__(self, storage_url: str) -> None:
        # This process's memory: ours; a shared store (Redis): the library's (tests reset it).
        self.storage = None if storage_url.startswith(MEMORY_SCHEME) else _storage(storage_url)
        self._limiter = MovingWindowRateLimiter(self.storage) if self.storage is not None else None
        self._windows = MovingWindows(WINDOW_SECONDS)

    async def hit(self, org_id: int, role: str, per_minute: int, cost: int = 1) -> Verdict:
        """Count `cost` requests of the organisation's `role` keys, if the limit leaves room."""
        allowed = await self._count(org_id, role, per_minute, cost)
        return await self._verdict(org_id, role, per_minute, allowed)

    async def hit_up_to(self, org_id: int, role: str, per_minute: int, wanted: int) -> tuple[int, Verdict]:
        """Count as many of `wanted` requests as the limit leaves room for (a batch's items, in
        order): how many were counted, and the verdict on the first one that was not."""
        remaining, _ = await self._window(org_id, role, per_minute)
        granted = min(wanted, remaining)
        # Another process may have taken some meanwhile (Redis): then count one at a time.
        if granted and not await self._count(org_id, role, per_minute, granted):
            granted = 0
            while granted < wanted and await self._count(org_id, role, per_minute, 1):
                granted += 1
        return granted, await self._verdict(org_id, role, per_minute, granted == wanted)

    async def _count(self, org_id: int, role: str, per_minute: int, cost: int) -> bool:
        if self._limiter is None:
            return self._windows.hit((org_id, role), per_minute, cost)
        return await self._limiter.hit(_per_minute(per_minute), str(org_id), role, cost=cost)

    async def _window(self, org_id: int, role: str, per_minute: int) -> tuple[int, float]:
        """(requests left in the window, seconds until one more is free)."""
        if self._limiter is None:
            return self._windows.stats((org_id, role), per_minute)
        stats = await self._limiter.get_window_stats(_per_minute(per_minute), str(org_id), role)
        return stats.remaining, stats.reset_time - time.time()

    async def _verdict(self, org_id: int, role: str, per_minute: int, allowed: bool) -> Verdict:
        remaining, reset_seconds = await self._window(org_id, role, per_minute)
        return Verdict(allowed, role, per_minute, remaining, max(0, math.ceil(reset_seconds)))


@functools.lru_cache(maxsize=64)
def _per_minute(amount: int) -> RateLimitItem:
    return RateLimitItemPerMinute(amount)


def _storage(url: str) -> Storage:
    """The library's store: `redis://...` / `rediss://...` through redis-py's asyncio client."""
    if url.startswith(("redis://", "rediss://")):
        storage = storage_from_string(f"async+{url}", implementation="redispy")
    else:
        storage = storage_from_string(f"async+{url}")
    assert isinstance(storage, Storage)
    return storage
