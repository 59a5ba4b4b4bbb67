"""Small in-process caches for hot, rarely changing values (API keys, org snapshots, product ids).

Each key is loaded once however many requests ask at the same time. When a value is older than
the time to live, the next caller starts one refresh in the background and everyone keeps the
previous value until it lands: expiry never makes every in-flight request reload at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class RefreshingCache(Generic[Key, Value]):
    def __init__(self, load: Callable[[Key], Awaitable[Value]], ttl_seconds: float, entries_max: int = 10_000) -> None:
        self._load = load
        self.ttl_seconds = ttl_seconds
        self.entries_max = entries_max
        self._entries: dict[Key, tuple[float, Value]] = {}
        self._loading: dict[Key, asyncio.Future[Value]] = {}
        self._refreshing: set[Key] = set()
        self._background: set[asyncio.Task[None]] = set()

    async def get(self, key: Key) -> Value:
        entry = self._entries.get(key)
        if entry is None:
            return await self._load_once(key)
        loaded_at, value = entry
        if time.monotonic() - loaded_at >= self.ttl_seconds:
            if self.ttl_seconds <= 0:  # no caching asked for: always fresh
                return await self._load_once(key)
            if key not in self._refreshing:
                self._refreshing.add(key)
                # A refresh belongs to no request: it runs outside the caller's context variables.
                task = asyncio.create_task(self._refresh(key), context=contextvars.Context())
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        return value

    def forget(self, key: Key | None = None) -> None:
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    async def _load_once(self, key: Key) -> Value:
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Value] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await self._load(key)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: the callers waiting on it get it raised
            raise
        else:
            self._store(key, value)
            future.set_result(value)
            return value
        finally:
            del self._loading[key]

    async def _refresh(self, key: Key) -> None:
        try:
            self._store(key, await self._load(key))
        except Exception:  # keep serving the previous value; the next caller tries again
            logger.exception("refreshing cached %r failed", key)
        finally:
            self._refreshing.discard(key)

    def _store(self, key: Key, value: Value) -> None:
        if len(self._entries) >= self.entries_max and key not in self._entries:
            self._entries.clear()  # a bound on memory, e.g. under a flood of made-up key ids
        self._entries[key] = (time.monotonic(), value)


class LeastRecentlyUsed(Generic[Key, Value]):
    """A bounded map for values that never change once known (ids of rows never deleted): past
    `entries_max`, the entry used least recently goes."""

    def __init__(self, entries_max: int) -> None:
        assert entries_max > 0
        self.entries_max = entries_max
        self._entries: OrderedDict[Key, Value] = OrderedDict()

    def get(self, key: Key) -> Value | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def update(self, entries: Mapping[Key, Value]) -> None:
        for key, value in entries.items():
            self._entries[key] = value
            self._entries.move_to_end(key)
        while len(self._entries) > self.entries_max:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry: the rows were deleted after all (a database emptied under a
        running process, as a test empties its own)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
