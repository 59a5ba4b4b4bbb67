"""CPU per SQL statement inside one SQLite write transaction, by path, interleaved in rounds:

- `hop`: `AsyncConnection.execute`, one trip to aiosqlite's thread per statement (run_write);
- `inline`: the same statements in a brief write (`run_write(brief=True)`: no trip);
- `direct`: the same statements registered with `direct()` in a brief write: straight on sqlite3
  (app/storage/direct_statements.py), below SQLAlchemy's per-statement work;
- `hop+run_sync` / `inline+run_sync`: the body as synchronous Core in `AsyncConnection.run_sync`
  (what a sync copy of the services would pay; not used: measured for comparison);
- `sqlite3`: the driver itself.

    .venv/bin/python scripts/bench_tools/statement_cost.py [--statements 2000 --rounds 7]

Counts the process's CPU (the event loop's thread and aiosqlite's together).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select

from app.storage.database import Database
from app.storage.direct_statements import direct

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String))
INSERT = insert(things)
SELECT = select(things.c.id, things.c.name).where(things.c.id == bindparam("id"))
DIRECT_INSERT = direct(insert(things))
DIRECT_SELECT = direct(select(things.c.id, things.c.name).where(things.c.id == bindparam("id")))


async def main(statements: int, rounds: int) -> None:
    pairs = statements // 2

    def body_of(insert_statement: Any, select_statement: Any) -> Any:
        async def body(connection: Any) -> None:
            for index in range(pairs):
                await connection.execute(insert_statement, {"name": f"n{index}"})
                (await connection.execute(select_statement, {"id": index + 1})).all()

        return body

    body, direct_body = body_of(INSERT, SELECT), body_of(DIRECT_INSERT, DIRECT_SELECT)

    def sync_body(connection: Any) -> None:
        for index in range(pairs):
            connection.execute(INSERT, {"name": f"n{index}"})
            connection.execute(SELECT, {"id": index + 1})

    async def run_sync_body(connection: Any) -> None:
        await connection.run_sync(sync_body)

    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite+aiosqlite:///{Path(directory) / 'statements.db'}", pool_size=1)
        async with database.write_engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        raw = sqlite3.connect(Path(directory) / "raw.db", isolation_level=None)
        raw.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
        variants: dict[str, Any] = {
            "hop": lambda: database.run_write(body),
            "inline": lambda: database.run_write(body, brief=True),
            "direct": lambda: database.run_write(direct_body, brief=True),
            "hop+run_sync": lambda: database.run_write(run_sync_body),
            "inline+run_sync": lambda: database.run_write(run_sync_body, brief=True),
        }
        figures: dict[str, list[float]] = {name: [] for name in [*variants, "sqlite3"]}
        for _ in range(rounds):
            for name, run in variants.items():
                started = time.process_time()
                await run()
                figures[name].append((time.process_time() - started) / (2 * pairs) * 1e6)
            started = time.process_time()
            raw.execute("BEGIN IMMEDIATE")
            for index in range(pairs):
                raw.execute("INSERT INTO things (name) VALUES (?)", (f"n{index}",)).fetchall()
                raw.execute("SELECT id, name FROM things WHERE id = ?", (index + 1,)).fetchall()
            raw.execute("COMMIT")
            figures["sqlite3"].append((time.process_time() - started) / (2 * pairs) * 1e6)
        raw.close()
        await database.dispose()
    print(f"us of CPU per statement, min / median / max of {rounds} rounds:")
    for name, values in figures.items():
        print(f"  {name:<16} {min(values):7.1f} / {statistics.median(values):7.1f} / {max(values):7.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.statements, arguments.rounds))
