"""What concurrent bills wait for on PostgreSQL: counts, not timings.

    .venv/bin/python scripts/bench_tools/bill_contention.py [--seconds 15] [--customers 5000]

Starts a throwaway cluster (scripts/postgres-cluster), the demo organisation and `customers`
returning customers (seed.py), then for 1 and 2 server workers (`pointledger serve --workers N`)
posts bills with wrk (16 connections, the bench's bill: the same three items) for new and for
returning customers, and counts for each run:
- the bills posted, and the server's and PostgreSQL's CPU per bill (utime + stime from /proc);
- PostgreSQL's errors in its log (a retried write logs its serialization failure or deadlock; a
  unique violation another writer caused logs too, even when a savepoint absorbs it);
- lock waits longer than `deadlock_timeout` (set to 1 ms: `log_lock_waits`), by what was waited
  for (advisory lock, transaction id: a row or unique index entry another writer holds, ...);
- every 10 ms, what the busy sessions wait on (pg_stat_activity's wait events);
- the statements per bill by text (pg_stat_statements, loaded by restarting the cluster), the
  advisory-lock statements among them, the transactions committed and rolled back per bill.
Prints them per mix and worker count.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import asyncpg
import bench
import postgres
from seed import returning_mobile

SAMPLE_INTERVAL_SECONDS = 0.01
WAITS = (
    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'"
)
LOCK_WAIT = re.compile(r"still waiting for (\w+) on ([a-z ]+?) ?[\d\[(]")
ERROR = re.compile(r"ERROR:  (.*)")


def plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def execute(url: str, *statements: str) -> list[Any]:
    connection = await asyncpg.connect(plain_url(url))
    try:
        return [await connection.fetch(statement) for statement in statements]
    finally:
        await connection.close()


def server_log(url: str) -> Path:
    """The cluster's log: scripts/postgres-cluster writes it beside the data directory."""
    data = asyncio.run(execute(url, "SHOW data_directory"))[0][0][0]
    return Path(data).parent / "server.log"


class Sampler(threading.Thread):
    """Counts the busy sessions' wait events every SAMPLE_INTERVAL_SECONDS until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.counts: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        asyncio.run(self._sample())

    async def _sample(self) -> None:
        connection = await asyncpg.connect(plain_url(self.url))
        try:
            while not self.done.is_set():
                for row in await connection.fetch(WAITS):
                    self.counts[row[0]] += 1
                self.samples += 1
                await asyncio.sleep(SAMPLE_INTERVAL_SECONDS)
        finally:
            await connection.close()


def postmaster_pid(url: str) -> int:
    data = asyncio.run(execute(url, "SHOW data_directory"))[0][0][0]
    return int((Path(data) / "postmaster.pid").read_text().split()[0])


def postgres_cpu_seconds(postmaster: int) -> float:
    """CPU of the postmaster and its live children (the server's sessions keep their connections)."""
    return bench.process_cpu_seconds(postmaster)


def read_from(path: Path, offset: int) -> str:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode(errors="replace")


def one_run(
    url: str, postmaster: int, base: str, server_pid: int, log_path: Path, load: dict[str, str], seconds: float
) -> dict[str, Any]:
    offset = log_path.stat().st_size
    sampler = Sampler(url)
    asyncio.run(execute(url, *RESET))
    server_before, postgres_before = bench.process_cpu_seconds(server_pid), postgres_cpu_seconds(postmaster)
    machine_before = bench.machine_busy_seconds()
    sampler.start()
    values, first_bad, _ = bench.run_wrk(f"{base}/graphql", load, seconds, 16, 2)
    sampler.done.set()
    sampler.join()
    server_cpu = bench.process_cpu_seconds(server_pid) - server_before
    postgres_cpu = postgres_cpu_seconds(postmaster) - postgres_before
    machine_cpu = bench.machine_busy_seconds() - machine_before
    text = read_from(log_path, offset)
    bills = int(values["ok"])
    return {
        "bills": bills,
        "bad": int(values["bad"]),
        "first_bad": first_bad,
        "rate": bills / seconds,
        "server_ms": 1000 * server_cpu / max(bills, 1),
        "postgres_ms": 1000 * postgres_cpu / max(bills, 1),
        # Cores busy over the run: the server's, PostgreSQL's, and everything else's (wrk, the
        # sampler, other people's work on the machine).
        "cores": (server_cpu / seconds, postgres_cpu / seconds, (machine_cpu - server_cpu - postgres_cpu) / seconds),
        "errors": collections.Counter(_error_kind(line) for line in ERROR.findall(text)),
        "lock_waits": collections.Counter(" ".join(found) for found in LOCK_WAIT.findall(text)),
        "waits": sampler.counts,
        "samples": sampler.samples,
        **statement_counts(url, max(bills, 1), sampler.samples + 1),
    }


def _error_kind(message: str) -> str:
    return re.sub(r'"[^"]*"|\d+', "_", message)[:90]


STATEMENTS = (
    "SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
    "WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'"
)
TRANSACTIONS = "SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = current_database()"
RESET = ("SELECT pg_stat_statements_reset()", "SELECT pg_stat_reset()")


def with_statement_counts(url: str) -> None:
    """Restart the cluster with pg_stat_statements loaded (its options kept: postmaster.opts)."""
    data = Path(asyncio.run(execute(url, "SHOW data_directory"))[0][0][0])
    asyncio.run(execute(url, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"))
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    pg_ctl = Path(os.readlink(f"/proc/{postmaster}/exe")).parent / "pg_ctl"
    owner = pwd.getpwuid(data.stat().st_uid).pw_name
    as_owner = ["runuser", "-u", owner, "--"] if os.geteuid() == 0 else []
    # Its log goes on into the same file (the postmaster would otherwise hold our pipe open).
    restart = [*as_owner, str(pg_ctl), "-D", str(data), "-l", str(data.parent / "server.log"), "-m", "fast", "-w"]
    subprocess.run([*restart, "restart"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    asyncio.run(execute(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))


def statement_counts(url: str, bills: int, samples: int) -> dict[str, Any]:
    """Per bill: statements (by text), transactions committed and rolled back (the sampler's own
    `samples` autocommit reads taken off), deadlocks."""
    rows, totals = asyncio.run(execute(url, STATEMENTS, TRANSACTIONS))
    calls = collections.Counter({" ".join(row["query"].split())[:110]: row["calls"] / bills for row in rows})
    commits, rollbacks, deadlocks = totals[0]
    return {
        "statements": calls,
        "commits": (commits - samples) / bills,
        "rollbacks": rollbacks / bills,
        "deadlocks": deadlocks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--setting", action="append", default=[], help="NAME=VALUE in the server's environment (POINTLEDGER_...)"
    )
    parser.add_argument("--top", type=int, default=12, help="statements listed per run (most calls per bill first)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pointledger-contention-"))
    cluster = None
    try:
        cluster, url = postgres.start_cluster()
        env = bench.clean_env(url)
        server_env = {**env, **dict(setting.split("=", 1) for setting in args.setting)}
        shutil.copytree(bench.ROOT / "demo", work / "demo", dirs_exist_ok=True)
        bench.unthrottled(work / "demo" / "org.toml")
        bench.run_step("pointledger demo", [str(bench.BIN / "pointledger"), "demo"], work, env, 180)
        seed = [str(bench.BIN / "python"), str(bench.HERE / "seed.py"), "--customers", str(args.customers)]
        seed += ["--ledger-customers", "10", "--history", "2", "--entries", "10"]
        bench.run_step(f"seed {args.customers} customers", seed, bench.ROOT, env, 1800)
        with_statement_counts(url)
        lock_waits = ("ALTER SYSTEM SET log_lock_waits = on", "ALTER SYSTEM SET deadlock_timeout = '1ms'")
        asyncio.run(execute(url, *lock_waits, "SELECT pg_reload_conf()"))
        log_path = server_log(url)
        key = json.loads((work / ".pointledger-demo-key.json").read_text())
        auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
        parts = bench.add_parts()
        added = '"__typename":"TransactionAdded"'
        results: dict[tuple[int, str], dict[str, Any]] = {}
        for workers in args.workers:
            with bench.started_server(work, server_env, workers, f"server-{workers}.log") as (server, base):
                bench.check_add(f"{base}/graphql", auth, f"CHECK-{workers}", returning_mobile(0))
                for mix in ("new", "returning"):
                    load = bench.add_load(auth, parts, mix, args.customers, added)
                    bench.wait_idle(server.pid)
                    results[(workers, mix)] = one_run(
                        url, postmaster_pid(url), base, server.pid, log_path, load, args.seconds
                    )
                    bench.log(f"{workers} worker(s), {mix}: {results[(workers, mix)]['rate']:.1f} bills/s")
        print()
        for mix in ("new", "returning"):
            print(f"{mix} customers")
            for workers in args.workers:
                print_run(workers, results[(workers, mix)], args.top)
        return 0
    except bench.BrokenRunError as error:
        bench.log(f"BROKEN RUN: {error}")
        for path in sorted(work.glob("*.log")):
            bench.log("\n".join(path.read_text(errors="replace").splitlines()[-40:]))
        return 1
    finally:
        postgres.stop_cluster(cluster)
        shutil.rmtree(work, ignore_errors=True)


def print_run(workers: int, found: dict[str, Any], top: int) -> None:
    statements: collections.Counter[str] = found["statements"]
    advisory = sum(calls for query, calls in statements.items() if "pg_advisory" in query)
    print(
        f"  {workers} worker(s): {found['rate']:.1f} bills/s ({found['bills']} ok, {found['bad']} bad), "
        f"CPU per bill: server {found['server_ms']:.2f} ms, PostgreSQL {found['postgres_ms']:.2f} ms"
    )
    print(
        f"    per bill: {sum(statements.values()):.1f} statements (BEGIN and COMMIT included), "
        f"{advisory:.2f} advisory-lock statements, {found['commits']:.2f} transactions committed, "
        f"{found['rollbacks']:.3f} rolled back; deadlocks {found['deadlocks']}"
    )
    server, postgres, other = found["cores"]
    print(
        f"    cores busy: server {server:.2f}, PostgreSQL {postgres:.2f}, everything else {other:.2f} "
        f"(of {os.cpu_count()})"
    )
    print(f"    errors in PostgreSQL's log: {dict(found['errors']) or 'none'}")
    print(f"    lock waits > 1 ms (log_lock_waits): {dict(found['lock_waits']) or 'none'}")
    busy = sum(found["waits"].values())
    shares = ", ".join(
        f"{name} {count / max(found['samples'], 1):.3f}" for name, count in found["waits"].most_common(6)
    )
    print(f"    active sessions per sample ({found['samples']} samples, {busy} active): {shares}")
    for query, calls in statements.most_common(top):
        print(f"      {calls:6.2f}  {query}")


if __name__ == "__main__":
    sys.exit(main())
