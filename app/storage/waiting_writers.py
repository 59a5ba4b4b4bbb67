"""Whether a writer is waiting for SQLite's write lock, across processes.

A SQLite writer that finds the lock taken polls for it (its busy handler), and nothing shows
that it waits. So each writer of ours says so while it begins its transaction (BEGIN IMMEDIATE,
the statement that may wait): it holds a shared `flock` on a file beside the database
(`<database>-writers`, as SQLite keeps `-wal` and `-shm` there). A long writer (a bulk import)
asks between its chunks whether anyone holds it: a non-blocking exclusive `flock` then fails.
Alone, it may keep its transaction open longer (fewer, larger commits); with a writer waiting,
it ends its transaction and lets that writer in.

`flock` locks belong to an open file, not to a process: two descriptors of one process conflict
as two processes do (a CLI import and the server's Database in one test process), and a process
that dies lets go of its locks. Where the file cannot be used, every question is answered "a
writer may be waiting", which keeps the import's time limit as it was.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUFFIX = "-writers"


class WaitingWriters:
    """The waiting-writers file of one SQLite database (None: an in-memory database, no file)."""

    def __init__(self, database_path: Path | None) -> None:
        self.path = None if database_path is None else database_path.with_name(database_path.name + SUFFIX)
        # The descriptor a long writer asks with, opened on first use and kept.
        self._probe: int | None = None

    def _open(self) -> int | None:
        if self.path is None:
            return None
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return None

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a BEGIN that may wait for the lock: meanwhile, the others see a writer waiting."""
        descriptor = self._open()
        if descriptor is None:
            yield
            return
        try:
            # Blocks only while a long writer asks (an exclusive lock taken and let go at once).
            fcntl.flock(descriptor, fcntl.LOCK_SH)
            yield
        finally:
            os.close(descriptor)  # lets go of the lock

    def any_waiting(self) -> bool:
        """True when a writer (of any process, or another Database of this one) is waiting for
        the write lock now, or when the file cannot tell."""
        if self._probe is None:
            self._probe = self._open()
            if self._probe is None:
                return True
        try:
            fcntl.flock(self._probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: held by a waiting writer
            return True
        fcntl.flock(self._probe, fcntl.LOCK_UN)
        return False

    def close(self) -> None:
        if self._probe is not None:
            os.close(self._probe)
            self._probe = None
