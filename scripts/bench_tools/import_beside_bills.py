"""scripts/bench --import-beside-bills: what a bulk import costs the bills posted meanwhile.

1. A temp directory with a fresh SQLite file: `pointledger demo`, then `pointledger serve` (one
   uvicorn worker, the defaults a user gets).
2. Bills alone: addTransaction through wrk (bench.py's load) at --connections: p50, p99.
3. `pointledger import points FILE --org demo --program rewards --batch-size 100000` (a separate
   process, as an operator runs it beside the server; --rows rows, the file of `--imports`),
   and once it is writing, the same bill load again: p50, p99, and every failed bill counted
   (a "database is locked" would be one). The import must still be running when the load ends.
4. The import's rows/s (its wall time, process start included) and `pointledger reconcile`.

Prints both loads side by side. Exits non-zero only when the run itself broke.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import bench
import imports


def run(args: argparse.Namespace) -> int:
    bench.describe_machine()
    work = Path(tempfile.mkdtemp(prefix="pointledger-bench-import-"))
    server: subprocess.Popen[bytes] | None = None
    importing: subprocess.Popen[str] | None = None
    try:
        shutil.copytree(bench.ROOT / "demo", work / "demo")
        env = imports.clean_env(f"sqlite+aiosqlite:///{work / 'bench.db'}")
        bench.run_step(
            "pointledger demo (migrate, demo org, API key)", [str(bench.BIN / "pointledger"), "demo"], work, env, 180
        )
        key = json.loads((work / ".pointledger-demo-key.json").read_text())
        auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
        path = work / "points.csv"
        size = imports.write_file(path, args.rows, existing=0, new_pool=args.rows // 3, seed=7)
        bench.log(f"file: {args.rows:,} rows, {size / 1e6:.1f} MB")

        port = bench.free_port()
        base = f"http://127.0.0.1:{port}"
        with (work / "server.log").open("wb") as output:
            server = subprocess.Popen(
                [str(bench.BIN / "pointledger"), "serve", "--port", str(port)],
                cwd=work,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        bench.wait_for_health(base, server, 60)
        head, middle, tail = bench.add_parts()
        load = {
            "BENCH_AUTH": auth,
            "BENCH_MODE": "add",
            "BENCH_PART1": head,
            "BENCH_PART2": middle,
            "BENCH_PART3": tail,
            "BENCH_EXPECT": '"__typename":"TransactionAdded"',
            "BENCH_CUSTOMERS": "1000",
        }
        url = f"{base}/graphql"
        alone = bench.measure(
            "addTransaction alone", url, {**load, "BENCH_TAG": "A", "BENCH_MOBILE_DIGIT": "3"}, args, server.pid
        )

        command = [str(bench.BIN / "pointledger"), "import", "points", str(path), "--org", "demo"]
        command += ["--program", "rewards", "--batch-size", "100000"]
        started = time.perf_counter()
        importing = subprocess.Popen(
            command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        time.sleep(args.import_lead)  # its whole-file check first, then the first batches
        beside = bench.measure(
            "addTransaction beside the import",
            url,
            {**load, "BENCH_TAG": "B", "BENCH_MOBILE_DIGIT": "4"},
            argparse.Namespace(**{**vars(args), "wait_quiet": 0}),  # the import is the point
            server.pid,
        )
        still_running = importing.poll() is None
        output, _ = importing.communicate(timeout=3600)
        import_seconds = time.perf_counter() - started
        if importing.returncode != 0:
            raise bench.BrokenRunError(f"the import failed ({importing.returncode}):\n{output[-2000:]}")
        reconciled = bench.run_step(
            "pointledger reconcile", [str(bench.BIN / "pointledger"), "reconcile"], work, env, 600
        )

        bench.log()
        bench.log(f"{'load':<34} {'bills/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>8} {'errors':>7}")
        for figures in (alone, beside):
            bench.log(
                f"{figures.name:<34} {figures.rate:>8,.0f} {figures.p50_ms:>8.1f} {figures.p99_ms:>8.1f} "
                f"{figures.ok:>8,} {figures.errors:>7}"
            )
        bench.log(
            f"import: {args.rows:,} rows in {import_seconds:.1f} s ({args.rows / import_seconds:,.0f} rows/s, "
            f"with the bills for part of it); "
            + ("still running when the load ended" if still_running else "ENDED BEFORE THE LOAD DID: use more --rows")
        )
        bench.log(f"reconcile: {reconciled.splitlines()[-1]}")
        return 0
    except bench.BrokenRunError as error:
        bench.log(f"BROKEN RUN: {error}")
        return 1
    finally:
        if importing is not None and importing.poll() is None:
            importing.kill()
            importing.wait()
        bench.stop(server)
        if args.keep:
            bench.log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --import-beside-bills", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000, help="rows of the imported file (default 300,000)")
    parser.add_argument("--duration", type=float, default=12, help="seconds of each measured load (default 12)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each load (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument(
        "--import-lead", type=float, default=5, help="seconds the import runs before the load starts (default 5)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args(argv)
    args.threads, args.wait_quiet = 1, 60
    if not 1_000 <= args.rows <= 10_000_000 or not 1 <= args.duration <= 120 or args.connections < 1:
        parser.error("rows 1,000-10,000,000, duration 1-120 s, connections >= 1")
    return args
