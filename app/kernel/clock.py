"""The one place that reads the time of day.

Time is an input: an entry point (a GraphQL request, a CLI command, the maintenance task, the
import runner) reads its clock once per unit of work and passes `now` down; nothing below it
asks the system for the time. Tests give the app a `FrozenClock` and set it where they need to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""


class SystemClock(Clock):
    """The wall clock: what a server runs on."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that stands still until it is set or advanced (tests, benchmarks, replays)."""

    def __init__(self, at: datetime) -> None:
        self._at = self._checked(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = self._checked(at)

    def advance(self, by: timedelta) -> datetime:
        self._at += by
        return self._at

    @staticmethod
    def _checked(at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("a clock's time needs a time zone")
        return at.astimezone(UTC)
