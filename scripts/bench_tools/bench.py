"""scripts/bench: the server as a user runs it, each load beside the `{ __typename }` baseline in rounds.

1. The database: `pointledger demo` (migrate, demo org, API key), then seed.py: 1,000,000 customers
   through the app's bulk registration, 1,000 of them with 150 ledger entries and one customer
   with 100,000 (the bulk credit path), and with --reconcile `pointledger reconcile`. On SQLite
   the seeded file is cached under .bench-cache/ (keyed by the migration head, the seed's sizes and
   the seed code) and copied for each run; on PostgreSQL (--postgres) it is seeded into a
   throwaway cluster started by scripts/postgres-cluster (the one scripts/test --postgres uses).
2. `pointledger serve` on a free port (--workers, 1 by default), and on SQLite the hand-written
   reference endpoint (reference.py: Starlette + aiosqlite, the same ledger page byte for byte)
   on the same file. One request of each kind is checked by hand first.
3. Rounds (--rounds): for each load, the baseline then the load (baseline, load, baseline, load,
   ...), each a wrk run (separate process, C) after a short warm-up; the ledger loads are followed
   by the reference serving the same pages. Loads: addTransaction for new customers, for returning
   ones (drawn at random among the 1,000,000), ledger pages of 10 and 100 over random (customer,
   cursor) pairs, and addTransaction with a promo code (promotions.py).
4. Each figure: requests/s and CPU milliseconds per request of the server processes (utime +
   stime from /proc over the load's window / successful requests); every ratio is taken within a
   round (the load against that round's baseline, the reference against that round's page), then
   min/median/max over the rounds. Verdicts use the median of the CPU ratios (CPU per request is
   the steady measure on a shared machine; req/s ratios are printed beside them).
5. After the rounds: `pointledger promo generate` of 1,000,000 codes against a raw sqlite3
   executemany of the same rows into the same table; `pointledger promo reconcile` (the counters);
   with --reconcile (always with --quick) `pointledger reconcile` of the whole ledger too.
6. With --postgres the same loads run on a 1-worker and then a 2-worker server (the verdict: 2
   workers post >= 1.5x the bills/s of 1; every bench bill names the same three items).

Exit status: 0 for a completed measurement (targets short or not), 1 for a broken run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from inspect import getsource
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = ROOT / ".venv" / "bin"
LUA = HERE / "load.lua"
CACHE = ROOT / ".bench-cache"
sys.path.insert(0, str(HERE))

import promotions as promotion_bench  # noqa: E402
from documents import ADD_TRANSACTION, LEDGER_ENTRIES, TYPENAME  # noqa: E402
from seed import BIG_MOBILE, TILL_CODE, returning_mobile  # noqa: E402

FAR_PAST = "2000-01-01T00:00:00+00:00"
ADD_TARGET = 0.10  # addTransaction >= 10% of the same round's { __typename } (CPU per request)
LEDGER_TARGET = 0.50  # ledger pages >= 50% of the reference's CPU-per-request rate
WORKERS_TARGET = 1.5  # PostgreSQL: 2 workers >= 1.5x the bills/s of 1
LOAD_GROUPS = ("bills", "pages", "promo")  # --loads
PROMO_TARGET = 0.50  # promo generation >= 50% of a raw sqlite3 executemany of the same rows
PAIRS = 10_000  # random (customer, cursor) pairs per page size
RUNS = itertools.count(100)  # each wrk run's number: fresh mobiles and bill numbers never repeat


class BrokenRunError(Exception):
    pass


@dataclass
class Figures:
    name: str
    requests: int
    ok: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu: float  # share of one core
    client_cpu: float
    other_cpu: float  # everything else on the machine meanwhile (other processes: noise)
    first_bad: str

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds per successful request."""
        return self.server_cpu * self.seconds * 1000 / self.ok if self.ok else float("inf")


def log(message: str = "") -> None:
    print(message, flush=True)


# --- Setting up -----------------------------------------------------------------------------


def clean_env(database_url: str) -> dict[str, str]:
    """The caller's environment without POINTLEDGER_* settings: the defaults a user gets."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("POINTLEDGER_")}
    env["POINTLEDGER_DATABASE_URL"] = database_url
    return env


def run_step(title: str, command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise BrokenRunError(f"{title}: still running after {timeout:.0f} s") from error
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise BrokenRunError(f"{title}: exit status {done.returncode}\n{output}")
    log(f"{title}: {time.perf_counter() - started:.1f} s")
    return output


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, auth: str, body: bytes, timeout: float = 30.0) -> dict[str, Any]:
    return json.loads(post_raw(url, auth, body, timeout))


def post_raw(url: str, auth: str, body: bytes, timeout: float = 30.0) -> bytes:
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def wait_for_health(base: str, server: subprocess.Popen[bytes], timeout: float, path: str = "/health") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BrokenRunError(f"the server exited with status {server.returncode} before {path} answered")
        try:
            with urllib.request.urlopen(f"{base}{path}", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError:
            return  # it answers (the reference has no /health: a 404 or 405 says it is up)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise BrokenRunError(f"{path} did not answer within {timeout:.0f} s")


def stop(server: subprocess.Popen[Any] | None) -> None:
    if server is None or server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live descendants (uvicorn's workers) from /proc."""
    children: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        own[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        total += own.get(current, 0.0)
        stack.extend(children.get(current, []))
    return total


# --- Request bodies -------------------------------------------------------------------------


def graphql_body(query: str, variables: dict[str, Any] | None = None, operation: str | None = None) -> str:
    document: dict[str, Any] = {"query": query}
    if variables is not None:
        document["variables"] = variables
    if operation is not None:
        document["operationName"] = operation
    return json.dumps(document, separators=(",", ":"))


def ledger_body(first: int, mobile: str = BIG_MOBILE, cursor: str = "") -> str:
    variables: dict[str, Any] = {
        "customer": {"type": "MOBILE", "value": mobile},
        "filter": {"startDate": FAR_PAST},
        "first": first,
    }
    if cursor:
        variables["after"] = cursor
    return graphql_body(LEDGER_ENTRIES, variables, "Ledger")


def bill_input(number: str, mobile: str) -> dict[str, Any]:
    """tests/factories.py bill(): 3 line items, 1,800 net, on the demo org's first till."""
    return {
        "type": "REGULAR",
        "number": number,
        "tillCode": TILL_CODE,
        "amount": "1800",
        "grossAmount": "2000",
        "discount": "200",
        "currencyCode": "INR",
        "source": "INSTORE",
        "customer": {"mobile": mobile, "firstname": "Tom", "lastname": "Sawyer"},
        "lineItems": [
            {
                "serial": 1,
                "itemCode": "SHIRT-01",
                "qty": "2",
                "rate": "500",
                "value": "1000",
                "discount": "100",
                "amount": "900",
            },
            {
                "serial": 2,
                "itemCode": "JEANS-01",
                "variant": "32-BLUE",
                "qty": "1",
                "rate": "800",
                "value": "800",
                "discount": "100",
                "amount": "700",
            },
            {"serial": 3, "itemCode": "SOCKS-01", "qty": "1", "rate": "200", "value": "200", "amount": "200"},
        ],
    }


def add_body(number: str, mobile: str) -> str:
    return graphql_body(ADD_TRANSACTION, {"input": bill_input(number, mobile)}, "Add")


def add_parts() -> tuple[str, str, str]:
    """The addTransaction body around its bill number and mobile, for load.lua to fill in."""
    return split_body(add_body("@@BILL@@", "@@MOBILE@@"))


def split_body(template: str) -> tuple[str, str, str]:
    head, rest = template.split("@@BILL@@")
    middle, tail = rest.split("@@MOBILE@@")
    return head, middle, tail


def add_load(auth: str, parts: tuple[str, str, str], mix: str, customers: int, expect: str) -> dict[str, str]:
    """load.lua's addTransaction mode: `mix` new (a fresh mobile per bill) or returning."""
    return {
        "BENCH_AUTH": auth,
        "BENCH_MODE": "add",
        "BENCH_PART1": parts[0],
        "BENCH_PART2": parts[1],
        "BENCH_PART3": parts[2],
        "BENCH_EXPECT": expect,
        "BENCH_MIX": mix,
        "BENCH_CUSTOMERS": str(customers),
    }


# --- Checks by hand before the loads --------------------------------------------------------


def check_add(url: str, auth: str, number: str, mobile: str) -> None:
    answer = post(url, auth, add_body(number, mobile).encode())
    result = (answer.get("data") or {}).get("addTransaction") or {}
    if result.get("__typename") != "TransactionAdded" or result.get("replayed"):
        raise BrokenRunError(f"addTransaction ({mobile}) answered {json.dumps(answer)[:600]}")
    if len(result["transaction"]["lineItems"]) != 3:
        raise BrokenRunError(f"addTransaction ({mobile}) has {len(result['transaction']['lineItems'])} line items")


def sanity_checks(url: str, auth: str, pages: dict[int, Path], reference: str | None, customers: int, tag: str) -> None:
    answer = post(url, auth, graphql_body(TYPENAME).encode())
    if answer != {"data": {"__typename": "Query"}}:
        raise BrokenRunError(f"{{ __typename }} answered {answer}")
    for first, path in pages.items():
        for body in path.read_text().splitlines()[:5]:
            ours = post_raw(url, auth, body.encode())
            page = (json.loads(ours).get("data") or {}).get("ledgerEntries") or {}
            if page.get("__typename") != "LedgerEntryPage" or len(page["entries"]) != first:
                raise BrokenRunError(f"ledgerEntries first={first} answered {ours[:600]!r}")
            if reference is not None and (theirs := post_raw(reference, "", body.encode())) != ours:
                raise BrokenRunError(f"the reference answered otherwise:\n{theirs[:600]!r}\n{ours[:600]!r}")
    check_add(url, auth, f"CHECK-{tag}-new", "6999000001")
    check_add(url, auth, f"CHECK-{tag}-returning", returning_mobile(customers - 1))
    log(
        "checked by hand: { __typename }, ledgerEntries 10 and 100 (full pages"
        + (", the reference's bytes equal ours" if reference else "")
        + "), addTransaction new and returning"
    )


# --- Loads ----------------------------------------------------------------------------------

RESULT_LINE = re.compile(r"^BENCH_RESULT (.*)$", re.MULTILINE)
FIRST_BAD_LINE = re.compile(r"^BENCH_FIRST_BAD (.*)$", re.MULTILINE)


def run_wrk(
    url: str, env: dict[str, str], seconds: float, connections: int, threads: int
) -> tuple[dict[str, float], str, float]:
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        url,
    ]
    env = {"BENCH_RUN": f"{next(RUNS) % 1000:03d}", "BENCH_TAG": "T", **env}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired as error:
        raise BrokenRunError(f"wrk still running {seconds + 60:.0f} s after a {seconds:g} s load") from error
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    match = RESULT_LINE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise BrokenRunError(f"wrk failed (status {done.returncode}):\n{done.stdout}\n{done.stderr}")
    values = {key: float(value) for key, value in (pair.split("=", 1) for pair in match.group(1).split())}
    bad = FIRST_BAD_LINE.search(done.stdout)
    return values, bad.group(1) if bad else "", client_cpu


def wait_until_quiet(server_pid: int, limit: float) -> None:
    """Wait (at most `limit` seconds) for other processes to use under 0.1 core for a second."""
    deadline = time.monotonic() + limit
    waited = False
    while True:
        busy, server = machine_busy_seconds(), process_cpu_seconds(server_pid)
        time.sleep(1)
        others = machine_busy_seconds() - busy - (process_cpu_seconds(server_pid) - server)
        if others < 0.1:
            if waited:
                log("    (the machine is quiet again)")
            return
        if time.monotonic() >= deadline:
            log(f"    other processes still use {others:.0%} of a core: measuring anyway")
            return
        if not waited:
            log(f"    other processes use {others:.0%} of a core: waiting up to {limit:.0f} s for quiet")
            waited = True


# On PostgreSQL, requests waiting on a lock use no CPU: postgres.py counts the busy sessions.
busy_sessions: Callable[[], int] | None = None


def wait_idle(pid: int, limit: float = 30.0) -> None:
    """Until the server has finished the requests the last run left in flight (wrk closes its
    connections, the server still completes them): their CPU would be charged to the next load,
    and the next load's requests would queue behind them. Two quiet 0.2 s windows in a row."""
    deadline = time.monotonic() + limit
    before, quiet = process_cpu_seconds(pid), 0
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = process_cpu_seconds(pid)
        quiet = quiet + 1 if now - before < 0.01 and (busy_sessions is None or busy_sessions() == 0) else 0
        if quiet == 2:
            return
        before = now
    log(f"    the server was still busy {limit:.0f} s after the last run: measuring anyway")


def measure(
    name: str,
    url: str,
    env: dict[str, str],
    args: argparse.Namespace,
    server_pid: int,
    warm_env: dict[str, str] | None = None,
) -> Figures:
    if args.wait_quiet > 0:
        wait_until_quiet(server_pid, args.wait_quiet)
    if args.warmup > 0:
        run_wrk(url, warm_env or env, args.warmup, args.connections, args.threads)
    wait_idle(server_pid)
    cpu_before, busy_before = process_cpu_seconds(server_pid), machine_busy_seconds()
    values, first_bad, client_cpu = run_wrk(url, env, args.duration, args.connections, args.threads)
    server_cpu = process_cpu_seconds(server_pid) - cpu_before
    other_cpu = max(machine_busy_seconds() - busy_before - server_cpu - client_cpu, 0.0)
    seconds = values["duration_us"] / 1e6
    errors = int(
        values["bad"] + values["err_connect"] + values["err_read"] + values["err_write"] + values["err_timeout"]
    )
    figures = Figures(
        name=name,
        requests=int(values["requests"]),
        ok=int(values["ok"]),
        errors=errors,
        seconds=seconds,
        p50_ms=values["p50_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        server_cpu=server_cpu / seconds,
        client_cpu=client_cpu / seconds,
        other_cpu=other_cpu / seconds,
        first_bad=first_bad,
    )
    log(
        f"  {name}: {figures.rate:,.0f} ok/s, {figures.cpu_ms:.2f} CPU ms/request, {figures.ok:,} ok, "
        f"{errors} errors, p50 {figures.p50_ms:.1f} ms, p99 {figures.p99_ms:.1f} ms, server CPU "
        f"{figures.server_cpu:.0%} of a core, wrk {figures.client_cpu:.0%}, other processes {figures.other_cpu:.0%}"
    )
    if first_bad:
        log(f"    first failed response: {first_bad[:400]}")
    if figures.ok == 0 and figures.errors > 0:
        raise BrokenRunError(f"{name}: no successful response ({first_bad[:400]})")
    if figures.ok == 0:
        log(f"    no response within the {args.duration} s window: too slow to measure (counted as 0/s)")
    return figures


# --- Rounds ---------------------------------------------------------------------------------


@dataclass
class Load:
    """One load of the rounds: measured right after the baseline, then (optionally) its reference."""

    name: str
    env: dict[str, str]
    warm_env: dict[str, str] | None = None
    reference: dict[str, str] | None = None  # the reference endpoint's env for the same pages
    target: float | None = None  # against the baseline (CPU per request), or the reference when it has one
    runs: list[Figures] = field(default_factory=list)
    baselines: list[Figures] = field(default_factory=list)
    references: list[Figures] = field(default_factory=list)
    served_by: tuple[str, int] | None = None  # (url, pid) of another server (--before-code); None: the server


@dataclass
class Server:
    url: str
    pid: int
    reference_url: str | None = None
    reference_pid: int | None = None


def run_rounds(loads: list[Load], server: Server, baseline_env: dict[str, str], args: argparse.Namespace) -> None:
    for number in range(1, args.rounds + 1):
        log(f"round {number} of {args.rounds}:")
        for load in loads:
            url, pid = load.served_by or (server.url, server.pid)
            load.baselines.append(measure("{ __typename } (baseline)", url, baseline_env, args, pid))
            # Fresh mobiles and bill numbers in every run: a tag per round, the run number beside it.
            tagged = {**load.env, "BENCH_TAG": f"M{number}"}
            warm = {**(load.warm_env or load.env), "BENCH_TAG": f"W{number}"}
            load.runs.append(measure(load.name, url, tagged, args, pid, warm_env=warm))
            if load.reference is not None:
                assert server.reference_url is not None
                assert server.reference_pid is not None
                load.references.append(
                    measure(f"{load.name}, reference", server.reference_url, load.reference, args, server.reference_pid)
                )


def spread(values: list[float], render: Callable[[float], str]) -> str:
    """min/median/max as one cell."""
    if not values:
        return "-"
    return "/".join(render(value) for value in (min(values), statistics.median(values), max(values)))


def verdict(ratio: float | None, target: float | None) -> str:
    if target is None or ratio is None:
        return "-"
    return "PASS" if ratio >= target else "SHORT"


def print_rounds(title: str, loads: list[Load]) -> list[tuple[str, str]]:
    """The table of the rounds; returns (target, verdict line) pairs for the summary."""
    baselines = [figures for load in loads for figures in load.baselines]
    header = (
        f"{'load':<40} {'req/s min/med/max':>20} {'CPU ms/req min/med/max':>24} {'p99 ms':>7} {'errors':>6} "
        f"{'vs base req/s':>16} {'vs base CPU':>16}"
    )
    log()
    log(title)
    log(header)
    log("-" * len(header))
    whole = "{:,.0f}".format
    ms = "{:.2f}".format
    share = "{:.1%}".format

    def row(name: str, runs: list[Figures], against: list[Figures] | None) -> None:
        rate_ratios = [run.rate / base.rate for run, base in zip(runs, against or [], strict=False) if base.rate]
        cpu_ratios = [base.cpu_ms / run.cpu_ms for run, base in zip(runs, against or [], strict=False)]
        log(
            f"{name:<40} {spread([run.rate for run in runs], whole):>20} "
            f"{spread([run.cpu_ms for run in runs], ms):>24} "
            f"{statistics.median(run.p99_ms for run in runs):>7.0f} {sum(run.errors for run in runs):>6} "
            f"{spread(rate_ratios, share):>16} {spread(cpu_ratios, share):>16}"
        )

    row("{ __typename } (every baseline)", baselines, None)
    verdicts: list[tuple[str, str]] = []
    for load in loads:
        row(load.name, load.runs, load.baselines)
        if load.reference is not None:
            row("  reference, same pages", load.references, None)
            ratios = [ref.cpu_ms / run.cpu_ms for run, ref in zip(load.runs, load.references, strict=True)]
            median = statistics.median(ratios)
            log(
                f"  {'ours vs the reference (CPU per request)':<38} reference ms / ours ms per round: "
                f"{spread(ratios, share)}"
            )
            if load.target is not None:
                verdicts.append(
                    (
                        f"{load.name} >= {load.target:.0%} of the reference's CPU-per-request rate",
                        f"{verdict(median, load.target)} (median {median:.1%}, rounds {spread(ratios, share)})",
                    )
                )
        elif load.target is not None:
            ratios = [base.cpu_ms / run.cpu_ms for run, base in zip(load.runs, load.baselines, strict=True)]
            rates = [run.rate / base.rate for run, base in zip(load.runs, load.baselines, strict=True)]
            median = statistics.median(ratios)
            verdicts.append(
                (
                    f"{load.name} >= {load.target:.0%} of the same round's {{ __typename }}",
                    f"{verdict(median, load.target)} (CPU per request: median {median:.1%}, rounds "
                    f"{spread(ratios, share)}; req/s: {spread(rates, share)})",
                )
            )
    return verdicts


# --- The database ---------------------------------------------------------------------------


def seed_arguments(args: argparse.Namespace) -> list[str]:
    return [
        "--customers",
        str(args.customers),
        "--ledger-customers",
        str(args.ledger_customers),
        "--history",
        str(args.history),
        "--entries",
        str(args.entries),
    ]


def seed_database(work: Path, env: dict[str, str], args: argparse.Namespace) -> None:
    """`pointledger demo`, seed.py, the (customer, cursor) pairs, reconcile: in `work`."""
    shutil.copytree(ROOT / "demo", work / "demo", dirs_exist_ok=True)
    unthrottled(work / "demo" / "org.toml")
    run_step("pointledger demo (migrate, demo org, API key)", [str(BIN / "pointledger"), "demo"], work, env, 180)
    seeded = run_step(
        f"seed ({args.customers:,} customers, {args.ledger_customers:,} x {args.history} entries, "
        f"{args.entries:,} entries)",
        [str(BIN / "python"), str(HERE / "seed.py"), *seed_arguments(args)],
        ROOT,
        env,
        3600,
    )
    log(f"  {seeded.splitlines()[-1]}")
    for first in (10, 100):
        run_step(
            f"{PAIRS:,} random (customer, cursor) pairs for pages of {first}",
            [
                str(BIN / "python"),
                str(HERE / "seed.py"),
                "--pairs",
                str(work / f"pairs-{first}.txt"),
                "--pairs-count",
                str(PAIRS),
                "--first",
                str(first),
                *seed_arguments(args),
            ],
            ROOT,
            env,
            600,
        )
    if args.reconcile:
        reconcile(work, env, "pointledger reconcile (after seeding)")


def reconcile(work: Path, env: dict[str, str], title: str) -> None:
    reconciled = run_step(title, [str(BIN / "pointledger"), "reconcile"], work, env, 1800)
    log(f"  reconcile: {reconciled.splitlines()[-1]}")
    if reconciled.splitlines()[-1].strip() != "0 discrepancies":
        raise BrokenRunError(f"{title}: {reconciled}")


def cache_key(args: argparse.Namespace) -> str:
    """The migration head, the seed's sizes and the code that seeds (a change re-seeds)."""
    head = subprocess.run(
        [str(BIN / "python"), "-c", "from app.storage.migrate import head_revision; print(head_revision())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    digest = hashlib.sha256()
    for text in ((HERE / "seed.py").read_text(), (ROOT / "demo" / "org.toml").read_text(), getsource(unthrottled)):
        digest.update(text.encode())
    sizes = f"{args.customers}c-{args.ledger_customers}x{args.history}-{args.entries}e-{PAIRS}p"
    return f"{head}-{sizes}-{digest.hexdigest()[:10]}"


CACHED_FILES = ("bench.db", ".pointledger-demo-key.json", "pairs-10.txt", "pairs-100.txt")


def sqlite_database(work: Path, args: argparse.Namespace) -> dict[str, str]:
    """The seeded SQLite file in `work`: copied from the cache, seeded into it first if missing."""
    env = clean_env(f"sqlite+aiosqlite:///{work / 'bench.db'}")
    cached = CACHE / cache_key(args)
    if not (cached / "done").exists():
        log(f"seeding the cache {cached} (once per migration head and seed; later runs copy it)")
        CACHE.mkdir(exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix="building-", dir=CACHE))
        seed_database(building, clean_env(f"sqlite+aiosqlite:///{building / 'bench.db'}"), args)
        with sqlite3.connect(building / "bench.db") as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.rmtree(cached, ignore_errors=True)
        cached.mkdir(parents=True)
        for name in CACHED_FILES:
            shutil.move(building / name, cached / name)
        (cached / "done").write_text("")
        shutil.rmtree(building, ignore_errors=True)
    started = time.perf_counter()
    for name in CACHED_FILES:
        shutil.copyfile(cached / name, work / name)
    shutil.copytree(ROOT / "demo", work / "demo", dirs_exist_ok=True)
    log(
        f"database: copied from {cached} ({(work / 'bench.db').stat().st_size / 1e9:.1f} GB, "
        f"{time.perf_counter() - started:.1f} s)"
    )
    return env


# --- Report ---------------------------------------------------------------------------------


def unthrottled(org_file: Path) -> None:
    """The bench measures what the rate limiter costs, not its refusals: every role of the demo
    organisation gets a limit (a million a minute) that no run reaches."""
    text = re.sub(r"^(till|app|member_care|admin) = \d+", r"\1 = 1000000", org_file.read_text(), flags=re.M)
    org_file.write_text(text)


def describe_machine() -> None:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()
    log(
        f"machine: nproc {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), {platform.machine()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}; load average now "
        f"{' '.join(f'{value:.2f}' for value in os.getloadavg())}"
    )
    log(
        f"versions: strawberry-graphql {version('strawberry-graphql')}, graphql-core {version('graphql-core')}, "
        f"sqlalchemy {version('sqlalchemy')}, aiosqlite {version('aiosqlite')}, uvicorn {version('uvicorn')}, "
        f"starlette {version('starlette')}; load generator: {wrk[0] if wrk else 'wrk'}"
    )
    head = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "app"], capture_output=True, text=True
    ).stdout
    log(
        f"code: {head[:100]}"
        + (f"; uncommitted in app/: {', '.join(line[3:] for line in dirty.splitlines())}" if dirty else "")
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", "--duration", dest="duration", type=int, default=5, help="seconds of each measured load (5)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each load (2)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of baseline + load for every load (3)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (16)")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads, at most 9 (default 1: the server gets the other core)"
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=None,
        help="registered customers (1,000,000; --postgres: 100,000, seeded afresh in every run)",
    )
    parser.add_argument(
        "--ledger-customers", type=int, default=1000, help="customers with a ledger history to page through (1,000)"
    )
    parser.add_argument("--history", type=int, default=150, help="ledger entries each of those gets (150)")
    parser.add_argument("--entries", type=int, default=100_000, help="ledger entries of the big customer (100,000)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        help="before each load, wait up to this many seconds for other processes to go quiet (default 0: CPU per "
        "request does not need a quiet machine)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (database, server log)")
    parser.add_argument(
        "--before-code",
        type=Path,
        default=None,
        help="a directory holding another version's app/ (e.g. `git archive main app | tar -x -C DIR`): a second "
        "server runs it (PYTHONPATH) on the same database, and its bills (promo-code bills too), and ledger pages "
        "are measured in the same rounds",
    )
    parser.add_argument(
        "--loads",
        nargs="+",
        choices=LOAD_GROUPS,
        default=list(LOAD_GROUPS),
        help="which loads to run (default all): bills (new and returning, then the webhook figures), pages "
        "(ledger pages of 10 and 100 beside the reference), promo (bills with a promo code, then promo generation)",
    )
    parser.add_argument(
        "--reconcile",
        action="store_true",
        help="`pointledger reconcile` the whole database after seeding it and after the loads (minutes on "
        "1,000,000 customers; always with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 1 round of 3 s loads, 5,000 customers, 200,000 promo codes (checks the bench works)",
    )
    parser.add_argument(
        "--promo-codes",
        type=int,
        default=1_000_000,
        help="promo codes `pointledger promo generate` makes, timed (default 1,000,000)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="on a throwaway PostgreSQL cluster (scripts/postgres-cluster), servers of 1 and then 2 workers",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=None,
        help="server workers to measure, one server after another (SQLite: 1; --postgres: 1 2)",
    )
    parser.add_argument(
        "--imports",
        action="store_true",
        help="run the bulk import benchmark instead: a 1,000,000-row Talon.One file through the CLI beside the "
        "csv + sqlite3 ceiling (its options: --rows, --existing, --larger, --keep)",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="run the download benchmark instead: a customer's 1,000,000 ledger entries as CSV and xlsx, time and "
        "the server's peak RSS (its options: --entries, --keep)",
    )
    parser.add_argument(
        "--import-beside-bills",
        action="store_true",
        help="run the import-beside-bills benchmark instead: addTransaction p50/p99 alone and while "
        "`pointledger import points` runs (its options: --rows, --duration, --warmup, --connections, --import-lead)",
    )
    parser.add_argument(
        "--customer-search",
        action="store_true",
        help="run the customer search benchmark instead: name-prefix and mobile searches p50/p99 on 1,000,000 "
        "customers (its options: --customers, --requests, --keep)",
    )
    args = parser.parse_args()
    if args.customers is None:
        args.customers = 100_000 if args.postgres else 1_000_000
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 3, 1
        args.customers, args.ledger_customers, args.entries, args.promo_codes = 5_000, 50, 1_000, 200_000
        args.reconcile = True
    if args.workers is None:
        args.workers = [1, 2] if args.postgres else [1]
    if (
        not 1 <= args.threads <= 9
        or args.connections < args.threads
        or not 1 <= args.duration <= 120
        or not 0 <= args.warmup <= 60
        or not 0 <= args.wait_quiet <= 600
        or not 1 <= args.rounds <= 20
    ):
        parser.error(
            "threads 1-9, connections >= threads, seconds 1-120, warm-up 0-60 s, wait-quiet 0-600 s, rounds 1-20"
        )
    if not 1_000 <= args.promo_codes <= 10_000_000:
        parser.error("promo-codes 1,000-10,000,000")
    if not (
        1_000 <= args.customers <= 5_000_000
        and 1 <= args.ledger_customers <= min(args.customers, 100_000)
        and 101 < args.history <= 10_000
        and 101 < args.entries <= 1_000_000
    ):
        parser.error(
            "customers 1,000-5,000,000, ledger-customers 1-100,000 (at most the customers), history and entries "
            "102-1,000,000 (a full page of 100 after a cursor)"
        )
    if args.workers and not all(1 <= workers <= 8 for workers in args.workers):
        parser.error("workers 1-8")
    return args


@contextmanager
def started_server(
    work: Path, env: dict[str, str], workers: int, log_name: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = None
    with (work / log_name).open("wb") as output:
        try:
            server = subprocess.Popen(
                [
                    str(BIN / "pointledger"),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                ],
                cwd=work,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            wait_for_health(base, server, 120)
            yield server, base
        finally:
            stop(server)


@contextmanager
def started_reference(work: Path, database: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    reference = None
    with (work / "reference.log").open("wb") as output:
        try:
            reference = subprocess.Popen(
                [
                    str(BIN / "python"),
                    "-m",
                    "uvicorn",
                    "reference:app",
                    "--app-dir",
                    str(HERE),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--http",
                    "httptools",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                cwd=work,
                env={**os.environ, "POINTLEDGER_REFERENCE_DATABASE": str(database)},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            wait_for_health(base, reference, 60, path="/graphql")
            yield reference, base
        finally:
            stop(reference)


def page_bodies(work: Path, first: int) -> Path:
    """pairs-<first>.txt as request bodies, one a line, for load.lua's bodies mode."""
    path = work / f"pages-{first}.jsonl"
    lines = []
    for line in (work / f"pairs-{first}.txt").read_text().splitlines():
        mobile, _, cursor = line.partition("\t")
        lines.append(ledger_body(first, mobile, cursor))
    path.write_text("\n".join(lines) + "\n")
    return path


def measure_server(
    work: Path,
    env: dict[str, str],
    args: argparse.Namespace,
    auth: str,
    workers: int,
    reference_database: Path | None,
    tag: str = "S",
) -> tuple[list[tuple[str, str]], dict[str, list[Figures]], Any]:
    """One server (and the reference beside it on SQLite): the checks, the rounds, the table.
    Returns the verdicts, the bill loads' runs by name, and the promotions' set-up."""
    pages = {first: page_bodies(work, first) for first in (10, 100)}
    with (
        started_server(work, env, workers, f"server-{workers}.log") as (server, base),
        contextlib_optional(
            reference_database is not None and started_reference(work, reference_database)
        ) as reference,
        contextlib_optional(
            args.before_code is not None
            and started_server(
                work, {**env, "PYTHONPATH": str(args.before_code)}, workers, f"server-{workers}-before.log"
            )
        ) as before,
    ):
        url = f"{base}/graphql"
        reference_url = f"{reference[1]}/graphql" if reference else None
        log(f"server: pid {server.pid}, {url} (pointledger serve, {workers} worker(s))")
        if before is not None:
            log(f"before: pid {before[0].pid}, {before[1]}/graphql (the same, with the code of {args.before_code})")
        if reference:
            log(f"reference: pid {reference[0].pid}, {reference_url} (scripts/bench_tools/reference.py)")
        sanity_checks(url, auth, pages, reference_url, args.customers, tag)
        if before is not None:
            sanity_checks(f"{before[1]}/graphql", auth, pages, reference_url, args.customers, f"{tag}B")
        typename = {"BENCH_AUTH": auth, "BENCH_BODY": graphql_body(TYPENAME), "BENCH_EXPECT": '"__typename":"Query"'}
        added = '"__typename":"TransactionAdded"'
        parts = add_parts()
        promo = (
            promotion_bench.prepare(url=url, auth=auth, bench=sys.modules[__name__], customers=args.customers, tag=tag)
            if "promo" in args.loads
            else None
        )
        loads = []
        if "bills" in args.loads:
            loads.append(
                Load(
                    "addTransaction, new customers",
                    add_load(auth, parts, "new", args.customers, added),
                    target=ADD_TARGET,
                )
            )
            loads.append(
                Load(
                    f"addTransaction, returning (of {args.customers:,})",
                    add_load(auth, parts, "returning", args.customers, added),
                    target=ADD_TARGET,
                )
            )
            if before is not None:
                loads.extend(
                    Load(
                        f"addTransaction, {mix}, before ({args.before_code.name})",
                        add_load(auth, parts, mix, args.customers, added),
                        served_by=(f"{before[1]}/graphql", before[0].pid),
                    )
                    for mix in ("new", "returning")
                )
        for first in (10, 100) if "pages" in args.loads else ():
            page = {"BENCH_MODE": "bodies", "BENCH_BODIES": str(pages[first]), "BENCH_EXPECT": '"LedgerEntryPage"'}
            loads.append(
                Load(
                    f"ledger page of {first}, random cursors",
                    {**page, "BENCH_AUTH": auth},
                    reference={**page, "BENCH_AUTH": ""} if reference else None,
                    target=LEDGER_TARGET if reference else None,
                )
            )
            if before is not None:
                loads.append(
                    Load(
                        f"ledger page of {first}, before ({args.before_code.name})",
                        {**page, "BENCH_AUTH": auth},
                        reference={**page, "BENCH_AUTH": ""} if reference else None,
                        served_by=(f"{before[1]}/graphql", before[0].pid),
                    )
                )
        if promo is not None:
            loads.append(Load("addTransaction + promo code, returning", promo.load))
            if before is not None:  # the same promotion, in the same database
                loads.append(
                    Load(
                        f"addTransaction + promo code, before ({args.before_code.name})",
                        promo.load,
                        served_by=(f"{before[1]}/graphql", before[0].pid),
                    )
                )
        log(
            f"loads: {args.rounds} round(s), {args.connections} connections, {args.threads} wrk thread(s), "
            f"{args.warmup:g} s warm-up + {args.duration:g} s each"
        )
        run_rounds(
            loads, Server(url, server.pid, reference_url, reference[0].pid if reference else None), typename, args
        )
        if server.poll() is not None:
            raise BrokenRunError(f"the server exited with status {server.returncode} during the loads")
        verdicts = print_rounds(f"{workers} worker(s):", loads)
        if promo is not None:
            promo.finish(post=lambda body: post(url, auth, body.encode()))
    return verdicts, {load.name: load.runs for load in loads if load.name.startswith("addTransaction")}, promo


@contextmanager
def contextlib_optional(manager: Any) -> Iterator[Any]:
    """`with` a context manager, or nothing when given False."""
    if manager is False:
        yield None
    else:
        with manager as value:
            yield value


WEBHOOK_FIGURES = re.compile(
    r"with +endpoint: +(?P<bill>[\d.]+) ms CPU a bill, +(?P<with_delivery>[\d.]+) ms with its delivery pass, +"
    r"(?P<delivered>\d+) events delivered, +(?P<events_per_second>[\d.]+) events/s.*"
    r"bills/s ratio with / without \(CPU\): (?P<ratio>[\d.]+); with delivery: (?P<ratio_delivery>[\d.]+)",
    re.DOTALL,
)


def webhook_figures(env: dict[str, str], bills: int = 100, rounds: int = 3) -> list[tuple[str, str]]:
    """Issue 15's figures, from webhooks.py (in-process: the ASGI app, the worker and a loopback
    receiver in one process; bills with and without one endpoint interleaved in rounds, CPU per
    bill): the verdict lines (measurements: the issue sets no target)."""
    output = run_step(
        "webhooks (scripts/bench_tools/webhooks.py)",
        [sys.executable, str(HERE / "webhooks.py"), "--bills", str(bills), "--rounds", str(rounds)],
        HERE.parents[1],
        env,
        timeout=900,
    )
    log(output)
    found = WEBHOOK_FIGURES.search(output)
    if found is None:
        raise BrokenRunError(f"webhooks.py printed no figures:\n{output}")
    return [
        (
            "bills/s with one webhook endpoint / without (issue 15)",
            f"measured: {float(found['ratio']):.3f} (CPU per bill's request, median of {rounds} rounds); "
            f"{float(found['ratio_delivery']):.3f} counting the worker's delivery of its events",
        ),
        (
            "webhook events delivered per second (issue 15)",
            f"measured: {float(found['events_per_second']):.0f} events/s to a loopback receiver "
            f"({found['delivered']} events a round, in-flight limit 10)",
        ),
    ]


def print_verdicts(verdicts: list[tuple[str, str]]) -> None:
    log()
    log("targets (issue 14):")
    width = max(len(target) for target, _ in verdicts)
    for target, outcome in verdicts:
        log(f"  {target:<{width}}  {outcome}")


def main() -> int:
    if "--imports" in sys.argv[1:]:  # the bulk import benchmark instead (scripts/bench_tools/imports.py)
        import imports

        return imports.run(imports.parse_args([arg for arg in sys.argv[1:] if arg != "--imports"]))
    if "--download" in sys.argv[1:]:  # a 1,000,000-entry ledger downloaded as CSV and xlsx (downloads.py)
        import downloads

        return downloads.run(downloads.parse_args([arg for arg in sys.argv[1:] if arg != "--download"]))
    if "--customer-search" in sys.argv[1:]:  # customer search on 1,000,000 customers (customer_search.py)
        import customer_search

        return customer_search.run(
            customer_search.parse_args([arg for arg in sys.argv[1:] if arg != "--customer-search"])
        )
    if "--import-beside-bills" in sys.argv[1:]:  # bills while a CLI import runs (import_beside_bills.py)
        import import_beside_bills

        arguments = [arg for arg in sys.argv[1:] if arg != "--import-beside-bills"]
        return import_beside_bills.run(import_beside_bills.parse_args(arguments))
    args = parse_args()
    if args.postgres:
        import postgres

        return postgres.run(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the cleanup below on a kill
    describe_machine()
    work = Path(tempfile.mkdtemp(prefix="pointledger-bench-"))
    started = time.perf_counter()
    try:
        log(f"work directory: {work}")
        env = sqlite_database(work, args)
        key = json.loads((work / ".pointledger-demo-key.json").read_text())
        auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
        verdicts, _, promo = measure_server(work, env, args, auth, args.workers[0], work / "bench.db")
        if promo is not None:
            verdicts.append(promo.generate(work=work, env=env, codes=args.promo_codes, target=PROMO_TARGET))
        if "bills" in args.loads:
            verdicts += webhook_figures(env)
        if args.reconcile:
            reconcile(work, env, "pointledger reconcile (after the loads)")
        print_verdicts(verdicts)
        log()
        log(
            "req/s counts successful results only; CPU ms/req = CPU time of the server's processes (utime + stime, "
            "/proc) over the load's window / successful requests; vs base = the load against the baseline "
            "measured just before it in the same round (req/s: load / baseline; CPU: baseline ms / load ms); "
            "min/med/max over the rounds; p99 = the median round's, as wrk reports it. The reference endpoint "
            "does no authentication, parsing or validation (reference.py): a floor, not a rival."
        )
        log(f"whole run: {time.perf_counter() - started:.0f} s")
        return 0
    except BrokenRunError as error:
        log(f"BROKEN RUN: {error}")
        for name in sorted(path.name for path in work.glob("*.log")):
            log(f"--- {name} (last 40 lines) ---")
            log("\n".join((work / name).read_text(errors="replace").splitlines()[-40:]))
        return 1
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
