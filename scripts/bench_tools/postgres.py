"""scripts/bench --postgres: the same loads on PostgreSQL, with 1 and then 2 server workers.

1. scripts/postgres-cluster starts a throwaway cluster (the one scripts/test --postgres starts:
   durability off, trust auth) and keeps it while this runs; bench.py's seeding then runs against
   it (migrate, demo org, the customers, the histories, the (customer, cursor) pairs, reconcile).
2. For each --workers count (1 2): `pointledger serve --workers N`, the checks by hand and the
   rounds of bench.py (each load beside that round's `{ __typename }` baseline), the table.
   CPU per request counts the server's processes only (uvicorn and its workers, not PostgreSQL).
   No reference endpoint (it reads SQLite) and no promo generation (its ceiling is sqlite3).
3. The verdict: 2 workers post >= 1.5x the bills/s of 1 (medians over the rounds), per bill load.
   Every bench bill names the same three items (SHIRT-01, JEANS-01 32-BLUE, SOCKS-01), so these
   loads are the "all bills name the same three items" case the product locks serialize.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench


def start_cluster() -> tuple[subprocess.Popen[str], str]:
    """The cluster lives while our pipe to its script's stdin stays open."""
    cluster = subprocess.Popen(
        [str(bench.ROOT / "scripts" / "postgres-cluster")],
        cwd=bench.ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert cluster.stdout is not None
    line = cluster.stdout.readline().strip()
    if not line.startswith("POSTGRES_URL="):
        _, errors = cluster.communicate(timeout=30)
        raise bench.BrokenRunError(f"scripts/postgres-cluster did not start a cluster:\n{line}\n{errors}")
    return cluster, line.removeprefix("POSTGRES_URL=")


BUSY = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend' AND state IN ('active', 'idle in transaction')"
)


def busy_sessions(url: str) -> int:
    """Sessions of the bench's database in a statement or a transaction (requests still in flight)."""
    import asyncio

    import asyncpg

    async def count() -> int:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return int(await connection.fetchval(BUSY))
        finally:
            await connection.close()

    return asyncio.run(count())


def stop_cluster(cluster: subprocess.Popen[str] | None) -> None:
    if cluster is None:
        return
    try:
        cluster.communicate(timeout=60)  # closes its stdin: the script stops the cluster and exits
    except subprocess.TimeoutExpired:
        cluster.kill()
        cluster.wait(timeout=10)


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    bench.describe_machine()
    work = Path(tempfile.mkdtemp(prefix="pointledger-bench-pg-"))
    cluster: subprocess.Popen[str] | None = None
    started = time.perf_counter()
    try:
        bench.log(f"work directory: {work}")
        cluster, url = start_cluster()
        version = subprocess.run(
            [str(bench.BIN / "python"), "-c", "import asyncpg; print(asyncpg.__version__)"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        bench.log(f"PostgreSQL cluster: {url} (scripts/postgres-cluster; asyncpg {version})")
        env = bench.clean_env(url)
        bench.busy_sessions = lambda: busy_sessions(url)
        bench.seed_database(work, env, args)
        key = json.loads((work / ".pointledger-demo-key.json").read_text())
        auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
        verdicts: list[tuple[str, str]] = []
        bills: dict[int, dict[str, list[bench.Figures]]] = {}
        for workers in args.workers:
            found, bills[workers], _ = bench.measure_server(work, env, args, auth, workers, None, f"W{workers}")
            verdicts.extend((f"{target} ({workers} worker(s))", outcome) for target, outcome in found)
        if args.reconcile:
            bench.reconcile(work, env, "pointledger reconcile (after the loads)")
        if 1 in bills and 2 in bills:
            for name in bills[1]:
                one = statistics.median(run.rate for run in bills[1][name])
                two = statistics.median(run.rate for run in bills[2][name])
                ratio = two / one
                verdicts.append(
                    (
                        f"PostgreSQL {name}: 2 workers >= {bench.WORKERS_TARGET:g}x the bills/s of 1",
                        f"{bench.verdict(ratio, bench.WORKERS_TARGET)} ({ratio:.2f}x: {one:,.1f} -> {two:,.1f} "
                        "bills/s, medians over the rounds)",
                    )
                )
        bench.print_verdicts(verdicts)
        bench.log()
        bench.log(
            "On PostgreSQL the CPU per request is the server's processes only (PostgreSQL's own CPU is not in it); "
            "the workers verdict compares throughput (bills/s), which is what a second worker should add."
        )
        bench.log(f"whole run: {time.perf_counter() - started:.0f} s")
        return 0
    except bench.BrokenRunError as error:
        bench.log(f"BROKEN RUN: {error}")
        for path in sorted(work.glob("*.log")):
            bench.log(f"--- {path.name} (last 40 lines) ---")
            bench.log("\n".join(path.read_text(errors="replace").splitlines()[-40:]))
        return 1
    finally:
        stop_cluster(cluster)
        if args.keep:
            bench.log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
