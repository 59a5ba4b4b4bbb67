"""Where a points import's CPU goes, per thread: `pointledger import points` on the bench's file
(scripts/bench_tools/imports.py builds the database and the file the same way), its threads'
CPU read from /proc while it runs (the last reading before it exits), beside the ledger floor's
CPU on the same file. cProfile sees only the event loop's thread and inflates call-heavy code;
this counts every thread, and `--py-spy` adds a sampled profile of the threads holding the GIL
(py-spy record --threads --gil), summed by function.

    .venv/bin/python scripts/bench_tools/import_threads.py --rows 200000 [--code DIR ...]

Each `--code DIR` imports the same file into a copy of the same starting database with the
code of DIR first on PYTHONPATH (the checkout itself when none is given): same-run comparisons.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from imports import BIN, ROOT, clean_env, existing_file, ledger_floor, run_cli_import, write_file  # noqa: E402

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.2


def thread_cpu(pid: int) -> dict[tuple[int, str], float]:
    """CPU seconds (user + system) of each thread of `pid` and its children, by (thread id, name)."""
    found: dict[tuple[int, str], float] = {}
    for process in [pid, *children(pid)]:
        try:
            tasks = os.listdir(f"/proc/{process}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                stat = Path(f"/proc/{process}/task/{task}/stat").read_text()
            except FileNotFoundError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            found[(int(task), f"{process}:{name}")] = (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND
    return found


def children(pid: int) -> list[int]:
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(child) for child in listed] + [grandchild for child in listed for grandchild in children(int(child))]


def profiled_import(path: Path, work: Path, env: dict[str, str], py_spy: str | None, label: str, number: int) -> None:
    command = [str(BIN / "pointledger"), "import", "points", str(path), "--org", "demo", "--program", "rewards"]
    if py_spy:
        command = [
            *(py_spy, "record", "--threads", "--gil", "--rate", "200", "--format", "raw"),
            *("--nonblocking", "-o", str(work / f"profile-{number}.txt"), "--", *command),
        ]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last: dict[tuple[int, str], float] = {}
    while process.poll() is None:
        last.update(thread_cpu(process.pid))
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    output, errors = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"import failed:\n{output[-2000:]}\n{errors[-2000:]}")
    summary = [line for line in output.splitlines() if line.startswith("job ")]
    print(f"{label}: {seconds:.1f} s wall; {summary[-1] if summary else ''}")
    for (task, name), cpu in sorted(last.items(), key=lambda item: -item[1]):
        if cpu >= 0.05:
            print(f"  thread {task:>8} {name:<32} {cpu:7.2f} s CPU")
    print(f"  total {sum(last.values()):.2f} s CPU (sampled every {SAMPLE_SECONDS} s: the last tick may be missed)")
    if py_spy:
        summarize_profile(work / f"profile-{number}.txt")


def summarize_profile(path: Path, shown: int = 25) -> None:
    """py-spy's collapsed stacks: samples per thread, and the functions with the most samples
    inclusive (anywhere on a thread's stack) and exclusive (the frame running)."""
    per_thread: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    exclusive: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        count = int(count_text)
        per_thread[frames[0]] += count
        for frame in set(frames[1:]):
            inclusive[frame] += count
        exclusive[frames[-1]] += count
    total = sum(per_thread.values())
    print(f"  py-spy: {total} samples; per thread: {dict(per_thread.most_common())}")
    for title, counter in (("inclusive", inclusive), ("exclusive", exclusive)):
        print(f"  {title}:")
        for frame, count in counter.most_common(shown):
            print(f"    {count / total:6.1%} {frame[:150]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--existing", type=int, default=100_000)
    parser.add_argument("--code", action="append", default=[], help="a checkout's root (default: this one)")
    parser.add_argument("--py-spy", help="path of py-spy: also record a sampled profile of each import")
    parser.add_argument("--time", action="store_true", help="also each import under /usr/bin/time -v")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pointledger-import-threads-"))
    try:
        shutil.copytree(ROOT / "demo", work / "demo")
        env = clean_env(f"sqlite+aiosqlite:///{work / 'start.db'}")
        subprocess.run([str(BIN / "pointledger"), "demo"], cwd=work, env=env, check=True, capture_output=True)
        if args.existing:
            existing_file(work / "existing.csv", args.existing)
            run_cli_import(work / "existing.csv", work, env, 3600)
        path = work / "points.csv"
        write_file(path, args.rows, args.existing, max(args.rows // 5, 1), 1)
        for number, code in enumerate(args.code or [str(ROOT)]):
            database = work / f"run-{number}.db"
            shutil.copy(work / "start.db", database)
            run_env = {**clean_env(f"sqlite+aiosqlite:///{database}"), "PYTHONPATH": code}
            profiled_import(path, work, run_env, args.py_spy, f"run-{number} ({code})", number)
            if args.time:
                shutil.copy(work / "start.db", database)
                seconds, peak_mb, _, cpu = run_cli_import(path, work, run_env, 7200)
                print(f"  /usr/bin/time: {seconds:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak_mb:.0f} MB")
            database.unlink()
        floor_database = work / "floor.db"
        shutil.copy(work / "start.db", floor_database)
        floor = ledger_floor(path, floor_database)
        if floor is not None:
            print(f"ledger floor: {args.rows / floor[0]:.1f} s wall, {floor[1]:.2f} s CPU")
        return 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
