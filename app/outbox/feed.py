"""The live feed of the outbox: committed events handed to the process's subscribers (GraphQL
subscriptions), in id order, without each subscriber polling the database.

One reader task per process reads each subscribed organisation's new events once and hands every
subscriber those it wants. It reads when woken:
- right after a write transaction of this process that emitted events commits (`events_committed`,
  called from the transaction's after-commit hook: the event is visible by then);
- every `poll_interval_seconds` otherwise, for events committed by other processes (another
  worker, a CLI import): they arrive within that time.
It reads only events that can no longer be preceded by a smaller id (see repository: the feed
order lock on PostgreSQL), so moving its cursor past an id never skips an event.

A subscriber's queue is bounded: one that falls behind (a slow client) loses its queued events and
is told which ids it missed (`Received.missed_until`), then reads them back from the database at
its own pace; the feed holds at most `SUBSCRIBER_QUEUE_LENGTH_MAX` events for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.waiting import wait_at_most
from app.outbox import repository
from app.storage.database import Database

logger = logging.getLogger(__name__)

FEED_PAGE_SIZE = 500  # events read at once for an organisation (the reader comes back for more)
SUBSCRIBER_QUEUE_LENGTH_MAX = 256  # events held for one subscriber before it must read them itself
POLL_INTERVAL_SECONDS_DEFAULT = 2.0
LOCK_RETRY_SECONDS = 0.05  # PostgreSQL: the writers in flight held the feed order too long


@dataclass(frozen=True)
class FeedEvent:
    id: int
    type: str
    customer_id: int | None
    payload: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> FeedEvent:
        return cls(row.id, row.type, row.customer_id, row.payload, row.created_at)


@dataclass(frozen=True)
class Received:
    events: list[FeedEvent]  # in id order, each newer than what came before
    # Set: the events up to this id (after the last one handed over) were not kept for the
    # subscriber (it just started, or fell behind): read them from the database before `events`.
    missed_until: int | None = None


class FeedSubscription:
    """One subscriber: what the feed hands it, bounded."""

    def __init__(self, matches: Callable[[FeedEvent], bool], cursor: int) -> None:
        self.matches = matches
        self.start_id = cursor  # the feed's position when it joined: live events come after it
        self._queue: deque[FeedEvent] = deque()
        self._missed_until: int | None = cursor
        self._arrived = asyncio.Event()
        self._arrived.set()

    def _offer(self, event: FeedEvent) -> None:
        if self._missed_until is not None:
            return  # it reads from the database up to where the feed is: dropping costs nothing more
        if len(self._queue) >= SUBSCRIBER_QUEUE_LENGTH_MAX:
            self._queue.clear()
            self._missed_until = -1  # the feed's cursor once this batch is handed out (_settle)
        else:
            self._queue.append(event)
        self._arrived.set()

    def _settle(self, cursor: int) -> None:
        """After a batch: a subscriber that overflowed in it missed everything up to the cursor."""
        if self._missed_until == -1:
            self._missed_until = cursor

    async def receive(self, timeout_seconds: float | None = None) -> Received:
        """What arrived since the last call; waits for something, at most `timeout_seconds`
        (then an empty answer)."""
        if not self._arrived.is_set():
            await wait_at_most(self._arrived, timeout_seconds)
        self._arrived.clear()
        events, missed_until = list(self._queue), self._missed_until
        self._queue.clear()
        self._missed_until = None
        return Received(events, missed_until)


@dataclass
class _OrgFeed:
    ready: asyncio.Future[int]  # the cursor once the organisation's last event id is read
    cursor: int | None = None
    subscribers: set[FeedSubscription] = field(default_factory=set)


class OutboxFeed:
    def __init__(self, database: Database, poll_interval_seconds: float = POLL_INTERVAL_SECONDS_DEFAULT) -> None:
        self.database = database
        self.poll_interval_seconds = poll_interval_seconds
        self._orgs: dict[int, _OrgFeed] = {}
        self._dirty: set[int] = set()
        self._woken = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def subscribe(self, org_id: int, matches: Callable[[FeedEvent], bool]) -> AsyncIterator[FeedSubscription]:
        """A subscription to the organisation's events that `matches` accepts, from now on."""
        while True:
            state = self._orgs.get(org_id)
            if state is None:
                state = self._orgs[org_id] = _OrgFeed(asyncio.get_running_loop().create_future())
                self._start_reader()
                try:
                    state.cursor = await self._last_event_id(org_id)
                except BaseException as error:
                    del self._orgs[org_id]
                    state.ready.set_exception(error)
                    state.ready.exception()  # retrieved: the waiters get it, no "never retrieved" warning
                    raise
                state.ready.set_result(state.cursor)
                # A commit that woke the feed while the cursor was being read found no cursor to
                # read from: read once more from it, or those events wait for the next commit.
                self.wake(org_id)
            else:
                await asyncio.shield(state.ready)
            if self._orgs.get(org_id) is state:  # not left by all its subscribers meanwhile
                break
        assert state.cursor is not None
        subscription = FeedSubscription(matches, state.cursor)
        state.subscribers.add(subscription)
        try:
            yield subscription
        finally:
            state.subscribers.discard(subscription)
            if not state.subscribers and self._orgs.get(org_id) is state:
                del self._orgs[org_id]

    def position(self, org_id: int) -> int | None:
        """The last event id read for the organisation (None: nobody subscribes to it)."""
        state = self._orgs.get(org_id)
        return None if state is None else state.cursor

    def is_idle(self) -> bool:
        """Nothing read in flight nor due: the reader waits for a wake-up or the poll. (Its wake-up
        event is cleared only just before it waits, and every wake sets it.)"""
        return not self._woken.is_set()

    def wake(self, org_id: int) -> None:
        if org_id in self._orgs:
            self._dirty.add(org_id)
            self._woken.set()

    async def _last_event_id(self, org_id: int) -> int:
        while True:
            async with self.database.read_engine.connect() as connection:
                found = await repository.settled_events_after(connection, org_id=org_id, after_id=None, limit=1)
            if found is not None:
                return int(found[0].id)
            await asyncio.sleep(LOCK_RETRY_SECONDS)

    def _start_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_while_subscribed(), name="pointledger-outbox-feed")
            _LIVE_FEEDS.add(self)

    async def _read_while_subscribed(self) -> None:
        """Until the last subscriber leaves: wait for a wake-up or the poll, read, hand out."""
        try:
            while self._orgs:
                if not self._dirty:
                    self._woken.clear()
                    if not await wait_at_most(self._woken, self.poll_interval_seconds):
                        self._dirty.update(self._orgs)
                due, self._dirty = self._dirty, set()
                for org_id in due:
                    try:
                        await self._read(org_id)
                    except Exception:
                        logger.exception("the outbox feed could not read organisation %s's events", org_id)
                        await asyncio.sleep(self.poll_interval_seconds)
                        self._dirty.add(org_id)
        finally:
            _LIVE_FEEDS.discard(self)

    async def _read(self, org_id: int) -> None:
        state = self._orgs.get(org_id)
        if state is None or state.cursor is None:
            return
        async with self.database.read_engine.connect() as connection:
            rows = await repository.settled_events_after(
                connection, org_id=org_id, after_id=state.cursor, limit=FEED_PAGE_SIZE
            )
        if rows is None:
            self._dirty.add(org_id)
            await asyncio.sleep(LOCK_RETRY_SECONDS)
            return
        if self._orgs.get(org_id) is not state or not rows:
            return
        # Handed out and the cursor moved with no wait in between: a subscriber that overflows
        # reads back exactly up to the cursor, and everything after it reaches its queue.
        for row in rows:
            event = FeedEvent.from_row(row)
            for subscription in state.subscribers:
                if subscription.matches(event):
                    subscription._offer(event)
        state.cursor = rows[-1].id
        for subscription in state.subscribers:
            subscription._settle(state.cursor)
        if len(rows) == FEED_PAGE_SIZE:
            self._dirty.add(org_id)


_LIVE_FEEDS: set[OutboxFeed] = set()  # the feeds of this process with a reader running


def events_committed(org_id: int) -> None:
    """A write transaction that emitted events of this organisation has committed."""
    for feed in _LIVE_FEEDS:
        feed.wake(org_id)
    for listener in list(_COMMIT_LISTENERS):
        try:
            listener(org_id)
        except Exception:  # a listener's failure must not fail the write that already committed
            logger.exception("a listener of committed outbox events failed")


# Others of this process woken by every commit that emitted events (the webhook worker), called
# with the organisation's id in the event loop right after the commit: they must not block.
_COMMIT_LISTENERS: set[Callable[[int], None]] = set()


def listen_for_committed_events(listener: Callable[[int], None]) -> None:
    _COMMIT_LISTENERS.add(listener)


def stop_listening_for_committed_events(listener: Callable[[int], None]) -> None:
    _COMMIT_LISTENERS.discard(listener)


async def customer_events_between(
    connection: AsyncConnection, *, org_id: int, customer_id: int, after_id: int, until_id: int, limit: int
) -> list[FeedEvent]:
    """The customer's events with ids in (after_id, until_id], in id order (at most `limit`): what
    a subscriber reads back itself (a resume, a fall behind)."""
    rows = await repository.customer_events_between(
        connection, org_id=org_id, customer_id=customer_id, after_id=after_id, until_id=until_id, limit=limit
    )
    return [FeedEvent.from_row(row) for row in rows]
