"""A set of strings on disk, for counting distinct values across a whole file in flat memory.

A dry run reports how many customers an import would register: a new customerprofileid counts
once however many rows (and batches) name it. Kept in a Python set, a 5,000,000-row file of new
customers held about a million strings; here they live in a private temporary SQLite database
(SQLite deletes its file when the connection closes), whose page cache is bounded. It is the
worker's own scratch file, not the application's database: the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

SCRATCH_CACHE_KIB = 4 * 1024


class DiskSet:
    def __init__(self) -> None:
        self._connection: sqlite3.Connection | None = None

    def add_new(self, values: Iterable[str]) -> int:
        """Add `values`; returns how many of them (distinct) were not in the set before."""
        connection = self._open()
        before = connection.total_changes
        connection.execute("BEGIN")
        connection.executemany("INSERT OR IGNORE INTO seen (value) VALUES (?)", ((value,) for value in values))
        connection.execute("COMMIT")
        return connection.total_changes - before

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            # "": a private temporary database on disk, removed when closed.
            self._connection = sqlite3.connect("", isolation_level=None)
            self._connection.execute(f"PRAGMA cache_size=-{SCRATCH_CACHE_KIB}")
            self._connection.execute("PRAGMA journal_mode=OFF")  # scratch: nothing to recover
            self._connection.execute("CREATE TABLE seen (value TEXT PRIMARY KEY) WITHOUT ROWID")
        return self._connection
