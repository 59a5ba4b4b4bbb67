"""Where a bill's CPU goes under the real server: `pointledger serve` and wrk, as scripts/bench runs them.

    .venv/bin/python scripts/bench_tools/bill_server.py --database DIR/bench.db \\
        [--version NAME=TREE ...] [--loads typename returning new] [--connections 16] \\
        [--customers 1000000] [--rounds 3] [--seconds 5] [--setting NAME=VALUE ...] \\
        [--py-spy SECONDS] [--perf SECONDS]

DIR holds a database seeded as scripts/bench seeds it and its demo key (`.bench-cache/<key>/`).
Every version (a directory with an `app/` package, PYTHONPATH; `.` by default) serves its own
copy of the file with `pointledger serve` (an idle server's webhook worker would otherwise fan out
the other's events, a write from another process in the middle of its bills), the versions taking
turns in every round. For each load and version the tool prints the server's CPU
per request, split by thread (the event loop's, the SQLite driver's threads) and the garbage
collector's passes per generation with their CPU (counted in the server by `gc.callbacks`, a
`sitecustomize` this tool puts on the server's path). `--py-spy` and `--perf` profile the first
version under one more run of the first bill load and print the functions that hold the CPU.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from bench import (  # noqa: E402
    TYPENAME,
    add_load,
    add_parts,
    clean_env,
    free_port,
    graphql_body,
    process_cpu_seconds,
    run_wrk,
    stop,
    wait_for_health,
    wait_idle,
)

# Counts the collector's passes in the server (`gc.callbacks`) and writes them on SIGUSR2.
GC_COUNTER = """
import gc, json, os, signal, time

_file = os.environ.get("BILL_SERVER_GC_FILE")
if _file:
    _passes, _seconds, _started = [0, 0, 0], [0.0, 0.0, 0.0], [0.0]

    def _count(phase, info):
        if phase == "start":
            _started[0] = time.thread_time()
        else:
            _passes[info["generation"]] += 1
            _seconds[info["generation"]] += time.thread_time() - _started[0]

    def _write(*_):
        with open(_file, "w") as output:
            json.dump({"passes": _passes, "seconds": _seconds}, output)

    gc.callbacks.append(_count)
    signal.signal(signal.SIGUSR2, _write)
"""


@dataclass
class Version:
    name: str
    tree: Path
    settings: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None
    url: str = ""
    gc_file: Path = Path()
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)
    loop_ms: dict[str, list[float]] = field(default_factory=dict)
    threads_ms: dict[str, list[float]] = field(default_factory=dict)
    rates: dict[str, list[float]] = field(default_factory=dict)
    gc_passes: dict[str, list[list[float]]] = field(default_factory=dict)
    gc_ms: dict[str, list[float]] = field(default_factory=dict)


def thread_cpu_seconds(pid: int) -> tuple[float, float]:
    """(the main thread's, all other threads') utime + stime, from /proc/PID/task."""
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if int(task.name) == pid:
            main += seconds
        else:
            others += seconds
    return main, others


def gc_counts(version: Version) -> dict[str, list[float]]:
    assert version.server is not None
    version.gc_file.unlink(missing_ok=True)
    version.server.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 5
    while not version.gc_file.exists() or not version.gc_file.read_text().endswith("}"):
        if time.monotonic() > deadline:
            raise SystemExit(f"{version.name}: the server wrote no collector counts")
        time.sleep(0.02)
    counts: dict[str, list[float]] = json.loads(version.gc_file.read_text())
    return counts


def measure(version: Version, name: str, env: dict[str, str], args: argparse.Namespace) -> None:
    assert version.server is not None
    pid = version.server.pid
    if args.warmup:
        run_wrk(version.url, {**env, "BENCH_TAG": f"W{name[:1]}"}, args.warmup, args.connections, 1)
    wait_idle(pid)
    gc_before, threads_before, cpu_before = gc_counts(version), thread_cpu_seconds(pid), process_cpu_seconds(pid)
    values, first_bad, _ = run_wrk(version.url, env, args.seconds, args.connections, 1)
    cpu = process_cpu_seconds(pid) - cpu_before
    threads_after, gc_after = thread_cpu_seconds(pid), gc_counts(version)
    ok = values["ok"]
    if not ok:
        raise SystemExit(f"{version.name} {name}: no successful response ({first_bad[:400]})")
    per_request = 1000 / ok
    version.cpu_ms.setdefault(name, []).append(cpu * per_request)
    version.loop_ms.setdefault(name, []).append((threads_after[0] - threads_before[0]) * per_request)
    version.threads_ms.setdefault(name, []).append((threads_after[1] - threads_before[1]) * per_request)
    version.rates.setdefault(name, []).append(ok / (values["duration_us"] / 1e6))
    passes = [(after - before) for after, before in zip(gc_after["passes"], gc_before["passes"], strict=True)]
    version.gc_passes.setdefault(name, []).append([1000 * value / ok for value in passes])
    gc_seconds = sum(gc_after["seconds"]) - sum(gc_before["seconds"])
    version.gc_ms.setdefault(name, []).append(gc_seconds * per_request)
    print(
        f"  {version.name:<10} {name:<10} {version.rates[name][-1]:7.0f} ok/s  {cpu * per_request:6.3f} CPU ms"
        f"  (loop {(threads_after[0] - threads_before[0]) * per_request:.3f}, other threads "
        f"{(threads_after[1] - threads_before[1]) * per_request:.3f}; gc passes per 1,000 requests "
        f"{'/'.join(f'{1000 * value / ok:.1f}' for value in passes)}, gc {gc_seconds * per_request:.3f} ms)"
        + (f"  first bad: {first_bad[:200]}" if first_bad else ""),
        flush=True,
    )


def profile(version: Version, env: dict[str, str], args: argparse.Namespace, work: Path) -> None:
    """py-spy and/or perf on the first version while it serves one more run of `env`'s load."""
    assert version.server is not None
    pid = version.server.pid
    for tool, seconds in (("py-spy", args.py_spy), ("perf", args.perf)):
        if not seconds:
            continue
        output = work / f"{tool}.txt"
        if tool == "py-spy":
            command = [args.py_spy_binary, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250"]
            command += ["--format", "raw", "--output", str(output), "--nonblocking", "--threads"]
        else:
            command = ["perf", "record", "-F", "999", "-g", "-p", str(pid), "-o", str(work / "perf.data")]
            command += ["--", "sleep", str(seconds)]
        profiler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        run_wrk(version.url, env, seconds, args.connections, 1)
        profiler.wait(timeout=seconds + 120)
        if args.profile_copy is not None:
            args.profile_copy.mkdir(parents=True, exist_ok=True)
            shutil.copy(output if tool == "py-spy" else work / "perf.data", args.profile_copy)
        if tool == "py-spy":
            print_collapsed(output, args.top)
        else:
            report = subprocess.run(
                ["perf", "report", "-i", str(work / "perf.data"), "--stdio", "--no-children", "--sort", "dso,sym"],
                capture_output=True,
                text=True,
            ).stdout
            lines = [line for line in report.splitlines() if line.strip() and not line.startswith("#")]
            print(f"perf, self time by function (top {args.top}):")
            shown = [line for line in lines if "%" in line and not line.lstrip().startswith(("|", "-"))]
            print("\n".join(shown[: args.top]))


def print_collapsed(path: Path, top: int) -> None:
    """Self and inclusive shares of py-spy's collapsed stacks ("frame;frame;... count")."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    print(f"py-spy: {total} samples; self time (top {top}):")
    for frame, count in own.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {frame}")
    print(f"py-spy: inclusive time (top {top}):")
    for frame, count in inclusive.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, required=True, help="a seeded bench.db, its demo key beside it")
    parser.add_argument("--version", action="append", default=None, help="NAME=TREE (a directory with app/)")
    parser.add_argument(
        "--loads", nargs="+", choices=("typename", "returning", "new"), default=["typename", "returning"]
    )
    parser.add_argument("--customers", type=int, default=1_000_000, help="returning bills draw among these")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--setting", action="append", default=[], help="NAME=VALUE in every server's environment")
    parser.add_argument(
        "--version-setting", action="append", default=[], help="VERSION:NAME=VALUE in one version's environment"
    )
    parser.add_argument("--py-spy", type=int, default=0, help="seconds of py-spy on the first version")
    parser.add_argument("--py-spy-binary", default="py-spy")
    parser.add_argument("--perf", type=int, default=0, help="seconds of perf record on the first version")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--profile-copy", type=Path, default=None, help="a directory to keep the raw profiles in")
    args = parser.parse_args()
    versions = [
        Version(name, Path(tree).resolve())
        for name, _, tree in (item.partition("=") for item in args.version or ["this=."])
    ]
    for item in args.version_setting:
        name, _, setting = item.partition(":")
        setting_name, _, value = setting.partition("=")
        next(version for version in versions if version.name == name).settings[setting_name] = value
    key = json.loads((args.database.parent / ".pointledger-demo-key.json").read_text())
    auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
    work = Path(tempfile.mkdtemp(prefix="bill-server-"))
    try:
        (work / "site").mkdir()
        (work / "site" / "sitecustomize.py").write_text(GC_COUNTER)
        for version in versions:
            started = time.perf_counter()
            database = work / f"{version.name}.db"
            shutil.copyfile(args.database, database)
            print(f"database copied to {database} in {time.perf_counter() - started:.1f} s", flush=True)
            env = clean_env(f"sqlite+aiosqlite:///{database}")
            env.update(item.split("=", 1) for item in args.setting)
            port = free_port()
            version.gc_file = work / f"gc-{version.name}.json"
            version.server = subprocess.Popen(
                [str(ROOT / ".venv" / "bin" / "pointledger"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=work,
                env={
                    **env,
                    **version.settings,
                    "PYTHONPATH": f"{version.tree}{os.pathsep}{work / 'site'}",
                    "BILL_SERVER_GC_FILE": str(version.gc_file),
                },
                stdout=subprocess.DEVNULL,
                stderr=(work / f"{version.name}.log").open("wb"),
            )
            version.url = f"http://127.0.0.1:{port}/graphql"
            wait_for_health(f"http://127.0.0.1:{port}", version.server, 120)
        parts = add_parts()
        added = '"__typename":"TransactionAdded"'
        loads = {
            "typename": {"BENCH_AUTH": auth, "BENCH_BODY": graphql_body(TYPENAME), "BENCH_EXPECT": '"Query"'},
            "returning": add_load(auth, parts, "returning", args.customers, added),
            "new": add_load(auth, parts, "new", args.customers, added),
        }
        for number in range(1, args.rounds + 1):
            print(f"round {number} of {args.rounds}:", flush=True)
            for name in args.loads:
                for version in versions:
                    measure(version, name, {**loads[name], "BENCH_TAG": f"{version.name[:1].upper()}{number}"}, args)
        print(f"\nmedians of {args.rounds} rounds (CPU ms per request; gc passes per 1,000 requests):")
        for name in args.loads:
            for version in versions:
                passes = [statistics.median(values) for values in zip(*version.gc_passes[name], strict=True)]
                print(
                    f"  {name:<10} {version.name:<10} {statistics.median(version.rates[name]):7.0f} ok/s"
                    f"  CPU {statistics.median(version.cpu_ms[name]):6.3f} (min {min(version.cpu_ms[name]):.3f})"
                    f"  loop {statistics.median(version.loop_ms[name]):.3f}"
                    f"  other threads {statistics.median(version.threads_ms[name]):.3f}"
                    f"  gc {statistics.median(version.gc_ms[name]):.3f} ms,"
                    f" passes {'/'.join(f'{value:.1f}' for value in passes)}"
                )
        if args.py_spy or args.perf:
            bill = next((name for name in args.loads if name != "typename"), args.loads[0])
            profile(versions[0], {**loads[bill], "BENCH_TAG": "P"}, args, work)
    finally:
        for version in versions:
            stop(version.server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
