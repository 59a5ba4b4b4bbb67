"""scripts/bench --imports: a 1,000,000-row Talon.One points file imported through the CLI,
beside the ceiling of the same file parsed with `csv` and written with plain sqlite3.

1. A temp directory with a fresh SQLite file: `pointledger demo` (migrate, demo org), then a
   first import registers the "existing" customers (--existing, 100,000 by default).
2. The file: --rows rows (1,000,000), half naming existing customers, half new ones (each new
   name about 2.5 times), 10% with a future startdate (pending), 30% with an expiry date, 5% in
   a subledger, every row with a reason (some quoted, with commas). Written by streaming.
3. `pointledger import points FILE --org demo --program rewards` as a subprocess under
   /usr/bin/time -v: rows/s over its wall time (process start included) and its peak RSS.
4. The ceiling, in this process: the same file through csv.reader into a bare 6-column table
   with sqlite3 executemany, 5,000 rows a transaction, WAL + synchronous=NORMAL as the app.
   Beside it, the ledger floor: the same file through csv.reader, each row written as the three
   ledger rows an imported credit is (event, entry, lot) into a copy of the database as it was
   before the import (the app's schema, indexes and foreign keys), with plain sqlite3
   executemany, 25,000 rows a transaction. No checks, no lookups, no registrations (each row
   goes to an existing customer's account): what the ledger's own writes cost at least.
5. `pointledger reconcile` must find 0 discrepancies. With --larger, the same again with a
   file 5 times larger (peak RSS must stay the same). With --baseline DIR, each file is also
   imported by the code of DIR (e.g. `git archive main app | tar -x -C DIR`) into a copy of the
   same starting database: before and after in one run.

Prints rows/s, the ratio to the ceiling, the ratio to the ledger floor (target >= 60%) and peak
RSS (target < 300 MB). Wall-clock rates swing with whatever else the machine runs (the import and
the floor run minutes apart), so the CPU each used is printed beside them: the import process's
user + system seconds (/usr/bin/time -v, every thread: parsing and the driver's thread writing)
and the floor's (this process's CPU time while it runs), and the ratio of the two.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = ROOT / ".venv" / "bin"
RATIO_TARGET = 0.25  # of the ceiling (the first target, before the ledger floor replaced it)
FLOOR_RATIO_TARGET = 0.60  # of the ledger floor (issue 16)
RSS_TARGET_MB = 300
HEADER = ["customerprofileid", "amount", "startdate", "expirydate", "subledgerid", "reason"]


def log(message: str = "") -> None:
    print(message, flush=True)


def clean_env(database_url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("POINTLEDGER_")}
    env["POINTLEDGER_DATABASE_URL"] = database_url
    env["POINTLEDGER_IMPORT_SIZE_LIMIT_BYTES"] = str(2**31 - 1)
    return env


def write_file(path: Path, rows: int, existing: int, new_pool: int, seed: int) -> int:
    """The benchmark file, streamed to disk; returns its size in bytes."""
    generator = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output, lineterminator="\r\n")
        writer.writerow(HEADER)
        for index in range(rows):
            if existing and generator.random() < 0.5:
                customer = f"EXISTING-{generator.randrange(existing):07d}"
            else:
                customer = f"NEW-{seed}-{generator.randrange(new_pool):08d}"
            draw = generator.random()
            start = "2099-01-01T00:00:00+05:30" if draw < 0.10 else ("immediate" if draw < 0.40 else "")
            expiry = (
                ("2100-01-01T00:00:00Z" if draw < 0.10 else f"2030-{1 + index % 12:02d}-15T12:00:00Z")
                if generator.random() < 0.30
                else ""
            )
            subledger = f"partner-{index % 4}" if generator.random() < 0.05 else ""
            reason = f"welcome back, wave {index % 7}" if index % 3 == 0 else "migration"
            writer.writerow([customer, 1 + index % 500, start, expiry, subledger, reason])
    return path.stat().st_size


def existing_file(path: Path, customers: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output, lineterminator="\r\n")
        writer.writerow(HEADER)
        for index in range(customers):
            writer.writerow([f"EXISTING-{index:07d}", 10, "", "", "", "opening"])


def run_cli_import(path: Path, work: Path, env: dict[str, str], timeout: float) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS (MB), the CLI's last line and its CPU seconds (user + system)."""
    command = [
        "/usr/bin/time",
        "-v",
        str(BIN / "pointledger"),
        "import",
        "points",
        str(path),
        "--org",
        "demo",
        "--program",
        "rewards",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    summary = [line for line in done.stdout.splitlines() if line.startswith("job ")]
    cpu = sum(float(found) for found in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr))
    return (
        seconds,
        int(peak.group(1)) / 1024 if peak else float("nan"),
        summary[-1] if summary else done.stdout[-300:],
        cpu,
    )


def csv_batches(path: Path, size: int) -> Iterator[list[list[str]]]:
    """The file's records after the header, `size` at a time, read with plain csv.reader."""
    with path.open(newline="", encoding="utf-8-sig") as source:
        reader = csv.reader(source)
        next(reader)
        batch: list[list[str]] = []
        for record in reader:
            batch.append(record)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


def ceiling(path: Path, database: Path) -> float:
    """Rows/s: csv.reader + sqlite3 executemany into a bare table, 5,000 rows a transaction."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"CREATE TABLE raw ({', '.join(name + ' TEXT' for name in HEADER)})")
    insert = f"INSERT INTO raw VALUES ({', '.join('?' for _ in HEADER)})"
    started = time.perf_counter()
    rows = 0
    for batch in csv_batches(path, 5000):
        connection.execute("BEGIN")
        connection.executemany(insert, batch)
        connection.execute("COMMIT")
        rows += len(batch)
    seconds = time.perf_counter() - started
    connection.close()
    return rows / seconds


def ledger_floor(path: Path, database: Path) -> tuple[float, float] | None:
    """Rows/s and CPU seconds: csv.reader + sqlite3 executemany of each row's event, entry and
    lot (see the docstring); None without existing customers to credit (--existing 0)."""
    connection = sqlite3.connect(database, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
        connection.execute(f"PRAGMA {pragma}")
    org_id, program_id = connection.execute(
        "SELECT p.org_id, p.id FROM programs p JOIN organizations o ON o.id = p.org_id "
        "WHERE o.code = 'demo' AND p.code = 'rewards'"
    ).fetchone()
    owners = connection.execute(
        "SELECT id, customer_id FROM point_accounts WHERE program_id = ? AND category = 'REGULAR' ORDER BY id",
        (program_id,),
    ).fetchall()
    if not owners:
        connection.close()
        return None
    top = {
        table: connection.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        for table in ("ledger_events", "ledger_entries", "point_lots")
    }
    now = "2026-11-30 00:00:00.000000"
    events_sql = (
        "INSERT INTO ledger_events (id, org_id, event_type, customer_id, points_on_event, created_at, reason) "
        "VALUES (?, ?, 'POINTS_IMPORT', ?, ?, ?, ?)"
    )
    entries_sql = (
        "INSERT INTO ledger_entries (id, org_id, event_id, account_id, customer_id, program_id, category, "
        "event_type, entry_type, entry_kind, points, balance_after, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 'REGULAR', 'POINTS_IMPORT', 'CREDIT', 'POINTS_ALLOCATION', ?, ?, ?)"
    )
    lots_sql = (
        "INSERT INTO point_lots (id, org_id, account_id, category, entry_id, points, points_remaining, "
        "active_from, expires_at, created_at) VALUES (?, ?, ?, 'REGULAR', ?, ?, ?, ?, ?, ?)"
    )
    started = time.perf_counter()
    cpu_started = time.process_time()
    rows = 0

    def write(batch: list[list[str]]) -> None:
        events, entries, lots = [], [], []
        for offset, (customer, amount, _start, expiry, _subledger, reason) in enumerate(batch):
            account_id, customer_id = owners[zlib.crc32(customer.encode()) % len(owners)]  # the same every run
            number = rows + offset + 1
            points = int(amount) * 10_000
            event_id, entry_id, lot_id = (
                top["ledger_events"] + number,
                top["ledger_entries"] + number,
                top["point_lots"] + number,
            )
            events.append((event_id, org_id, customer_id, points, now, reason))
            entries.append((entry_id, org_id, event_id, account_id, customer_id, program_id, points, points, now))
            lots.append(
                (lot_id, org_id, account_id, entry_id, points, points, now, expiry[:19].replace("T", " ") or None, now)
            )
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(events_sql, events)
        connection.executemany(entries_sql, entries)
        connection.executemany(lots_sql, lots)
        connection.execute("COMMIT")

    for batch in csv_batches(path, 25_000):
        write(batch)
        rows += len(batch)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    connection.close()
    return rows / seconds, cpu


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="pointledger-bench-imports-"))
    try:
        shutil.copytree(ROOT / "demo", work / "demo")
        env = clean_env(f"sqlite+aiosqlite:///{work / 'bench.db'}")
        started = time.perf_counter()
        subprocess.run(
            [str(BIN / "pointledger"), "demo"], cwd=work, env=env, check=True, capture_output=True, timeout=300
        )
        log(f"work directory: {work}; pointledger demo: {time.perf_counter() - started:.1f} s")
        if args.existing:
            seed_path = work / "existing.csv"
            existing_file(seed_path, args.existing)
            seconds, _, summary, _ = run_cli_import(seed_path, work, env, 3600)
            log(f"existing customers: {args.existing:,} registered by a first import in {seconds:.1f} s ({summary})")

        sizes = [(args.rows, 1)] + ([(args.rows * 5, 2)] if args.larger else [])
        results = []
        for rows, seed in sizes:
            path = work / f"points-{rows}.csv"
            started = time.perf_counter()
            size = write_file(path, rows, args.existing, max(rows // 5, 1), seed)
            log(f"file: {rows:,} rows, {size / 1e6:.0f} MB, written in {time.perf_counter() - started:.1f} s")
            floor_database = work / f"floor-{rows}.db"
            shutil.copy(work / "bench.db", floor_database)  # the database as the import finds it
            if args.baseline:
                shutil.copy(work / "bench.db", work / f"before-{rows}.db")
            seconds, peak_mb, summary, import_cpu = run_cli_import(path, work, env, 7200)
            log(
                f"pointledger import points: {seconds:.1f} s, {rows / seconds:,.0f} rows/s, peak RSS {peak_mb:.0f} MB, "
                f"CPU {import_cpu:.1f} s"
            )
            log(f"  {summary}")
            ceiling_rate = ceiling(path, work / f"ceiling-{rows}.db")
            log(f"ceiling (csv + sqlite3 executemany, bare table): {ceiling_rate:,.0f} rows/s")
            floor = ledger_floor(path, floor_database)
            floor_database.unlink()
            if args.baseline:
                # The same file into the same starting database, with the code under --baseline.
                baseline_database = work / f"baseline-{rows}.db"
                shutil.copy(work / f"before-{rows}.db", baseline_database)
                baseline_env = {**clean_env(f"sqlite+aiosqlite:///{baseline_database}"), "PYTHONPATH": args.baseline}
                base_seconds, base_peak_mb, _, base_cpu = run_cli_import(path, work, baseline_env, 7200)
                log(
                    f"baseline ({args.baseline}) import: {base_seconds:.1f} s, {rows / base_seconds:,.0f} rows/s, "
                    f"peak RSS {base_peak_mb:.0f} MB, CPU {base_cpu:.1f} s"
                )
                baseline_database.unlink()
                (work / f"before-{rows}.db").unlink()
            floor_rate, floor_cpu = floor if floor is not None else (None, None)
            if floor_rate is not None:
                log(
                    f"ledger floor (csv + sqlite3 executemany of each row's event, entry and lot): {floor_rate:,.0f} "
                    f"rows/s ({floor_rate / ceiling_rate:.1%} of the ceiling), CPU {floor_cpu:.1f} s"
                )
            results.append((rows, rows / seconds, ceiling_rate, floor_rate, peak_mb, import_cpu, floor_cpu))
            path.unlink()

        started = time.perf_counter()
        reconciled = subprocess.run(
            [str(BIN / "pointledger"), "reconcile"], cwd=work, env=env, capture_output=True, text=True, timeout=3600
        )
        verdict = reconciled.stdout.strip().splitlines()[-1] if reconciled.stdout.strip() else reconciled.stderr[-300:]
        log(f"pointledger reconcile: {verdict} ({time.perf_counter() - started:.1f} s)")

        log()
        log(
            f"{'rows':>10} {'import rows/s':>14} {'ceiling rows/s':>15} {'ratio':>7} "
            f"{'floor rows/s':>13} {'import/floor':>13} {'target':>7} "
            f"{'import CPU':>11} {'floor CPU':>10} {'CPU ratio':>10} {'peak RSS':>9} {'target':>8}"
        )
        for rows, rate, ceiling_rate, floor_rate, peak_mb, import_cpu, floor_cpu in results:
            floor_ratio = rate / floor_rate if floor_rate else 0.0
            cpu_ratio = floor_cpu / import_cpu if floor_cpu and import_cpu else 0.0
            log(
                f"{rows:>10,} {rate:>14,.0f} {ceiling_rate:>15,.0f} {rate / ceiling_rate:>7.1%} "
                f"{floor_rate or 0:>13,.0f} {floor_ratio:>13.1%} "
                f"{'met' if floor_ratio >= FLOOR_RATIO_TARGET else 'SHORT':>7} "
                f"{import_cpu:>9.1f} s {floor_cpu or 0:>8.1f} s {cpu_ratio:>10.1%} {peak_mb:>6.0f} MB "
                f"{'met' if peak_mb < RSS_TARGET_MB else 'OVER':>8}"
            )
        log()
        log(
            "import rows/s = file rows / wall time of the CLI process (start-up, hashing, the structure scan, parsing, "
            "customer registration, ledger writes, checkpoints); peak RSS from /usr/bin/time -v. The ceiling writes "
            "the same rows, unparsed, into one bare table; the ledger floor writes each row's three ledger rows, "
            "unchecked. CPU ratio = floor CPU / import CPU: the import/floor ratio on a machine with nothing else "
            "running, if the import's two threads did not overlap."
        )
        return 0 if verdict == "0 discrepancies" else 1
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --imports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the file (default 1,000,000)")
    parser.add_argument("--existing", type=int, default=100_000, help="customers registered before (default 100,000)")
    parser.add_argument("--larger", action="store_true", help="also a file 5 times larger (peak RSS must not grow)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also import each file with the code of DIR (a checkout's root, put first on PYTHONPATH), "
        "into a copy of the same starting database: before/after in one run",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run(parse_args()))
