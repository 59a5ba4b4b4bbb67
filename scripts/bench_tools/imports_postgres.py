"""The points import on PostgreSQL with COPY (bulk inserts of COPY_ROWS_MIN rows or more) and
without it (COPY_ROWS_MIN raised past any batch), with SQLite beside, interleaved in rounds on the
same machine: `pointledger import points` of the scripts/bench --imports file (ROWS rows, default
100,000) after a first import of 10,000 existing customers, each variant in its own database of a
throwaway cluster (scripts/postgres-cluster). Prints wall rows/s, the CLI's CPU seconds
(user+sys) and peak RSS per run, then reconciles each database.

    .venv/bin/python scripts/bench_tools/imports_postgres.py [ROWS] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "bench_tools"))
import imports as bench  # noqa: E402

EXISTING = 10_000
PYTHON = str(ROOT / ".venv" / "bin" / "python")
POINTLEDGER = str(ROOT / ".venv" / "bin" / "pointledger")
# The CLI with COPY_ROWS_MIN set from its first argument.
LAUNCH = (
    "import sys, app.storage.bulk_insert as bulk; bulk.COPY_ROWS_MIN = int(sys.argv.pop(1)); "
    "from app.cli.main import cli; cli()"
)
COPY_ROWS_MIN = {"copy_on": 500, "copy_off": 10**9, "sqlite": 500}


def run_cli(path: Path, env: dict[str, str], work: Path, copy_rows_min: int) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak RSS (MB) and the job's summary line."""
    arguments = ["import", "points", str(path), "--org", "demo", "--program", "rewards"]
    command = ["/usr/bin/time", "-f", "%U %S %M", PYTHON, "-c", LAUNCH, str(copy_rows_min), *arguments]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=7200)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout[-2000:] + done.stderr[-3000:])
    user, system, rss = done.stderr.strip().splitlines()[-1].split()
    summary = [line for line in done.stdout.splitlines() if line.startswith("job ")]
    return seconds, float(user) + float(system), int(rss) / 1024, summary[-1] if summary else ""


async def create_databases(url: str, names: list[str]) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    for name in names:
        await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    work = Path(tempfile.mkdtemp(prefix="pointledger-bench-imports-postgres-"))
    shutil.copytree(ROOT / "demo", work / "demo")
    cluster = subprocess.Popen(
        [str(ROOT / "scripts" / "postgres-cluster")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert cluster.stdout is not None
    assert cluster.stdin is not None
    url = next(line.strip().split("=", 1)[1] for line in cluster.stdout if line.startswith("POSTGRES_URL="))
    try:
        asyncio.run(create_databases(url, ["copy_on", "copy_off"]))
        base = url.rsplit("/", 1)[0]
        envs = {name: bench.clean_env(f"{base}/{name}") for name in ("copy_on", "copy_off")}
        envs["sqlite"] = bench.clean_env(f"sqlite+aiosqlite:///{work / 'bench.db'}")
        seed = work / "existing.csv"
        bench.existing_file(seed, EXISTING)
        for name, env in envs.items():
            subprocess.run([POINTLEDGER, "demo"], cwd=work, env=env, check=True, capture_output=True, timeout=600)
            run_cli(seed, env, work, COPY_ROWS_MIN[name])
        for round_number in range(rounds):
            path = work / f"points-{round_number}.csv"
            bench.write_file(path, rows, EXISTING, max(rows // 5, 1), 10 + round_number)
            order = ("copy_on", "copy_off") if round_number % 2 == 0 else ("copy_off", "copy_on")
            for name in (*order, "sqlite"):
                seconds, cpu, rss, summary = run_cli(path, envs[name], work, COPY_ROWS_MIN[name])
                print(
                    f"round {round_number} {name}: {seconds:.1f} s, {rows / seconds:,.0f} rows/s, "
                    f"CLI CPU {cpu:.1f} s, peak RSS {rss:.0f} MB; {summary}",
                    flush=True,
                )
        for name, env in envs.items():
            done = subprocess.run([POINTLEDGER, "reconcile"], cwd=work, env=env, capture_output=True, text=True)
            print(f"{name} reconcile: {done.stdout.strip()[-200:]}", flush=True)
    finally:
        cluster.stdin.close()
        cluster.wait(timeout=120)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
