"""Server CPU per addTransaction of two versions of the code, interleaved in rounds, in one run.

    .venv/bin/python scripts/bench_tools/bill_cost_servers.py --database /path/seeded.db \\
        --version before=/path/to/an/old/tree --version after=. [--rounds 8 --count 100]

Each version (a directory holding an `app/` package) serves its own copy of the seeded database
(`pointledger serve`, one uvicorn worker, PYTHONPATH set to the tree); the client sends one
request at a time and reads the server process's CPU (utime + stime from /proc) around each
batch, so the client's own CPU is not counted. Kinds: `{ __typename }`, a bill of 3 items for a
returning customer (seed.py's) and for a new one. Prints min / median / max per version and kind.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from bench import TYPENAME, add_body, free_port, graphql_body, process_cpu_seconds, wait_for_health  # noqa: E402
from seed import returning_mobile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="the seeded SQLite file (its directory holds the demo key)")
    parser.add_argument("--version", action="append", required=True, help="NAME=TREE (a directory with app/)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--count", type=int, default=100, help="requests of each kind per round")
    parser.add_argument("--customers", type=int, default=1000)
    args = parser.parse_args()
    key = json.loads((Path(args.database).parent / ".pointledger-demo-key.json").read_text())
    auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
    work = Path(tempfile.mkdtemp(prefix="bill-cost-"))
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for version in args.version:
            name, tree = version.split("=", 1)
            database = work / f"{name}.db"
            shutil.copyfile(args.database, database)
            port = free_port()
            env = {key: value for key, value in os.environ.items() if not key.startswith("POINTLEDGER_")}
            env.update(
                POINTLEDGER_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
                PYTHONPATH=str(Path(tree).resolve()),
                POINTLEDGER_ACCESS_LOG="false",
            )
            server = subprocess.Popen(
                [str(ROOT / ".venv" / "bin" / "pointledger"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=work,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(work / f"{name}.log").open("wb"),
            )
            servers[name] = (server, f"http://127.0.0.1:{port}")
            wait_for_health(f"http://127.0.0.1:{port}", server, 60)

        counter = iter(range(10**9))

        def body(kind: str) -> bytes:
            number = next(counter)
            if kind == "typename":
                return graphql_body(TYPENAME).encode()
            mobile = f"97{number:08d}" if kind == "new" else returning_mobile(number % args.customers)
            return add_body(f"COST-{time.time_ns()}-{number}", mobile).encode()

        def send(base: str, kind: str) -> None:
            request = urllib.request.Request(
                f"{base}/graphql",
                data=body(kind),
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": auth},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = response.read()
            if kind != "typename" and b'"TransactionAdded"' not in answer:
                raise SystemExit(f"{kind}: {answer[:400]!r}")

        kinds = ("typename", "returning", "new")
        for _, base in servers.values():
            for kind in kinds:
                for _ in range(20):
                    send(base, kind)
        cpu_ms: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for kind in kinds:
                for name, (server, base) in servers.items():
                    before = process_cpu_seconds(server.pid)
                    for _ in range(args.count):
                        send(base, kind)
                    spent = process_cpu_seconds(server.pid) - before
                    cpu_ms.setdefault((name, kind), []).append(1000 * spent / args.count)
        print(f"server CPU ms per request, min / median / max of {args.rounds} rounds of {args.count}:")
        for (name, kind), values in cpu_ms.items():
            print(f"  {name:<10} {kind:<10} {min(values):6.3f} / {statistics.median(values):6.3f} / {max(values):6.3f}")
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=15)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
