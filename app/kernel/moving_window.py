"""A moving window of hits per key, counted in this process's memory (the rate limits' default store).

The `limits` library's in-memory store did this with a list of entry objects per key, newest
first: each hit inserted at the front (a copy of the whole window) and started a task that went
to a thread to find the expired entries (a thread hop per request), and each entry was an object
the garbage collector tracks. Under `scripts/bench`'s bills that was ~7% of a bill's CPU. Here a
key's hits are one deque of their times, oldest first: a hit appends, expiry pops from the left,
nothing leaves the event loop's thread, and floats are not tracked by the collector.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from itertools import repeat


class MovingWindows:
    """At most `limit` hits per key in any `window_seconds`: a hit counts until `window_seconds`
    after it, exactly. Not shared between processes (Redis is, through the `limits` library)."""

    def __init__(self, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self._hits: dict[Hashable, deque[float]] = {}  # a hit of cost n: its time n times
        self._swept_at = clock()

    def hit(self, key: Hashable, limit: int, cost: int = 1) -> bool:
        """Count `cost` hits of `key` if the window leaves room for all of them, else none."""
        now = self.clock()
        hits = self._current(key, now)
        if len(hits) + cost > limit:
            return False
        hits.extend(repeat(now, cost))
        if now - self._swept_at > self.window_seconds:
            self._sweep(now)
        return True

    def stats(self, key: Hashable, limit: int) -> tuple[int, float]:
        """(hits left in the window, seconds until one more is free: the oldest hit leaves)."""
        now = self.clock()
        hits = self._current(key, now)
        reset_seconds = hits[0] + self.window_seconds - now if hits else self.window_seconds
        return max(limit - len(hits), 0), reset_seconds

    def _current(self, key: Hashable, now: float) -> deque[float]:
        """The key's hits still in the window (the expired ones dropped)."""
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        expired_before = now - self.window_seconds
        while hits and hits[0] <= expired_before:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        """Forget the keys without a hit in the window (memory stays bounded by the active keys)."""
        self._swept_at = now
        for key in list(self._hits):
            if not self._current(key, now):
                del self._hits[key]
