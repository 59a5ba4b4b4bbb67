"""A query still running after the request time limit is cancelled: its read connection goes back
to the pool and the client gets REQUEST_TIMEOUT. Mutations are not cut: a write stopped halfway
would leave the client unsure whether it happened; their inputs and the cost limit bound them."""

from __future__ import annotations

import asyncio
from itertools import takewhile
from typing import Any

from graphql import GraphQLError, OperationType

REQUEST_TIMEOUT = "REQUEST_TIMEOUT"


class RunningQueries:
    """The time limits of the queries running now, kept by one timer for them all: it wakes every
    `period` while a query runs (a quarter second, or the limit when shorter) and cancels those
    past the limit, so a query stops within the limit plus that period. A timer a request cost
    about 40 us under uvloop (a fifth of `{ __typename }`); here a query costs a dict entry. The
    limit is the same for every query, so the dict, in arrival order, is in deadline order too."""

    def __init__(self, limit_seconds: float) -> None:
        self.limit_seconds = limit_seconds
        self.period = min(limit_seconds, 0.25)
        self._running: dict[QueryDeadline, float] = {}  # by arrival: due at this loop time
        self._timer: asyncio.TimerHandle | None = None

    def add(self, deadline: QueryDeadline) -> None:
        loop = asyncio.get_running_loop()
        self._running[deadline] = loop.time() + self.limit_seconds
        if self._timer is None:
            self._timer = loop.call_later(self.period, self._sweep)

    def discard(self, deadline: QueryDeadline) -> None:
        self._running.pop(deadline, None)

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        past = [deadline for deadline, _ in takewhile(lambda entry: entry[1] <= now, self._running.items())]
        for deadline in past:
            del self._running[deadline]
            deadline.expire()
        self._timer = loop.call_later(self.period, self._sweep) if self._running else None


class QueryDeadline:
    """One request's time limit: armed once its operation is known to be a query, it cancels the
    request's task past the limit; `expired` then tells the HTTP layer the cancellation was this."""

    __slots__ = ("_queries", "_task", "expired")

    def __init__(self, queries: RunningQueries) -> None:
        self._queries = queries
        self._task: asyncio.Task[Any] | None = None
        self.expired = False

    def arm(self) -> None:
        self._task = asyncio.current_task()
        self._queries.add(self)

    def disarm(self) -> None:
        if self._task is not None:
            self._queries.discard(self)
            self._task = None

    def expire(self) -> None:
        if self._task is not None:
            self.expired = True
            self._task.cancel()
            self._task = None


def arm_query_time_limit(context: Any, operation: OperationType) -> None:
    """Arms the request's deadline (`context.deadline`, which the HTTP layer holds around the
    operation) when the operation is a query (called as its execution starts)."""
    deadline: QueryDeadline | None = context.deadline
    if deadline is not None and operation is OperationType.QUERY:
        deadline.arm()


def timeout_error(limit_seconds: float) -> GraphQLError:
    return GraphQLError(
        f"The query ran longer than {limit_seconds:g} s and was stopped: ask for less (smaller pages, fewer fields).",
        extensions={"code": REQUEST_TIMEOUT},
    )
