"""scripts/bench: the server as a user runs it, measured side by side in one run.

1. A temp directory with a fresh SQLite file: `pointledger demo` (migrate, demo org, API key),
   then seed.py (1,000 returning customers; one customer with 100,000 ledger entries, through the
   app's own service code), then `pointledger reconcile` (must find 0 discrepancies).
2. `pointledger serve` on a free port of 127.0.0.1 (one uvicorn worker), wait for /health, check
   one request of each kind by hand, then drive each load with wrk (separate process, C, one
   thread by default) after a short warm-up: the `{ __typename }` baseline, addTransaction,
   ledgerEntries pages of 10 and 100, and the baseline again as a drift check.
3. Print the table; stop the server whatever happened; remove the temp directory.

Exit status: 0 for a completed measurement (targets short or not), 1 for a broken run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = ROOT / ".venv" / "bin"
LUA = HERE / "load.lua"
sys.path.insert(0, str(HERE))

import promotions as promotion_bench  # noqa: E402
from documents import ADD_TRANSACTION, LEDGER_ENTRIES, TYPENAME  # noqa: E402
from seed import BIG_MOBILE, TILL_CODE, returning_mobile  # noqa: E402

FAR_PAST = "2000-01-01T00:00:00+00:00"
ADD_TARGET = 0.25
LEDGER_10_TARGET = 0.50


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
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "Authorization": auth}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_for_health(base: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BrokenRunError(f"the server exited with status {server.returncode} before /health answered")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise BrokenRunError(f"/health did not answer within {timeout:.0f} s")


def stop(server: subprocess.Popen[bytes] | None) -> None:
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
    """utime + stime of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- Request bodies -------------------------------------------------------------------------


def graphql_body(query: str, variables: dict[str, Any] | None = None, operation: str | None = None) -> str:
    document: dict[str, Any] = {"query": query}
    if variables is not None:
        document["variables"] = variables
    if operation is not None:
        document["operationName"] = operation
    return json.dumps(document, separators=(",", ":"))


def ledger_body(first: int) -> str:
    return graphql_body(
        LEDGER_ENTRIES,
        {"customer": {"type": "MOBILE", "value": BIG_MOBILE}, "filter": {"startDate": FAR_PAST}, "first": first},
        "Ledger",
    )


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
    template = add_body("@@BILL@@", "@@MOBILE@@")
    head, rest = template.split("@@BILL@@")
    middle, tail = rest.split("@@MOBILE@@")
    return head, middle, tail


# --- Checks by hand before the loads --------------------------------------------------------


def sanity_checks(url: str, auth: str) -> None:
    answer = post(url, auth, graphql_body(TYPENAME).encode())
    if answer != {"data": {"__typename": "Query"}}:
        raise BrokenRunError(f"{{ __typename }} answered {answer}")
    for first in (10, 100):
        answer = post(url, auth, ledger_body(first).encode())
        page = (answer.get("data") or {}).get("ledgerEntries") or {}
        if (
            page.get("__typename") != "LedgerEntryPage"
            or len(page["entries"]) != first
            or not page["pageInfo"]["hasNextPage"]
        ):
            raise BrokenRunError(f"ledgerEntries first={first} answered {json.dumps(answer)[:600]}")
    for label, mobile in (("new", "9810000001"), ("returning", returning_mobile(0))):
        answer = post(url, auth, add_body(f"CHECK-{label}", mobile).encode())
        result = (answer.get("data") or {}).get("addTransaction") or {}
        if result.get("__typename") != "TransactionAdded" or result.get("replayed"):
            raise BrokenRunError(f"addTransaction ({label} customer) answered {json.dumps(answer)[:600]}")
        items = result["transaction"]["lineItems"]
        if len(items) != 3:
            raise BrokenRunError(f"addTransaction ({label} customer) has {len(items)} line items")
    log("checked by hand: { __typename }, ledgerEntries 10 and 100 (full pages), addTransaction new and returning")


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
        f"  {name}: {figures.rate:,.0f} ok/s over {seconds:.1f} s, {figures.ok:,} ok, {errors} errors, "
        f"p50 {figures.p50_ms:.1f} ms, p99 {figures.p99_ms:.1f} ms, server CPU {figures.server_cpu:.0%} of a core, "
        f"wrk CPU {figures.client_cpu:.0%}, other processes {figures.other_cpu:.0%}"
    )
    if first_bad:
        log(f"    first failed response: {first_bad[:400]}")
    return figures


# --- Report ---------------------------------------------------------------------------------


def print_table(rows: list[tuple[Figures, float | None]], baseline: Figures) -> None:
    header = (
        f"{'load':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>8} {'errors':>7} {'srv CPU':>8} "
        f"{'others':>7} {'vs base':>8} {'target':>8}  verdict"
    )
    log(header)
    log("-" * len(header))
    for figures, target in rows:
        ratio = figures.rate / baseline.rate if baseline.rate else 0.0
        verdict = "-" if target is None else ("PASS" if ratio >= target else "SHORT")
        target_text = "-" if target is None else f">={target:.0%}"
        log(
            f"{figures.name:<34} {figures.rate:>8,.0f} {figures.p50_ms:>8.1f} {figures.p99_ms:>8.1f} {figures.ok:>8,} "
            f"{figures.errors:>7} {figures.server_cpu:>8.0%} {figures.other_cpu:>7.0%} {ratio:>8.1%} "
            f"{target_text:>8}  {verdict}"
        )


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
    parser.add_argument("--duration", type=float, default=12, help="seconds of each measured load (default 12)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each load (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads, at most 9 (default 1: the server gets the other core)"
    )
    parser.add_argument(
        "--entries", type=int, default=100_000, help="ledger entries of the big customer (default 100,000)"
    )
    parser.add_argument(
        "--customers", type=int, default=1000, help="pre-registered returning customers (default 1,000)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60,
        help="before each load, wait up to this many seconds for other processes to go quiet (default 60)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (database, server log)")
    parser.add_argument(
        "--promo-codes",
        type=int,
        default=1_000_000,
        help="promo codes `pointledger promo generate` makes, timed (default 1,000,000)",
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
    if (
        not 1 <= args.threads <= 9
        or args.connections < args.threads
        or not 1 <= args.duration <= 120
        or not 0 <= args.warmup <= 60
        or not 0 <= args.wait_quiet <= 600
    ):
        parser.error("threads 1-9, connections >= threads, duration 1-120 s, warm-up 0-60 s, wait-quiet 0-600 s")
    if not 1_000 <= args.promo_codes <= 10_000_000:
        parser.error("promo-codes 1,000-10,000,000")
    if not 1 <= args.customers <= 100_000 or not 1 <= args.entries <= 1_000_000:
        parser.error("customers 1-100,000, entries 1-1,000,000")
    return args


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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the cleanup below on a kill
    describe_machine()
    work = Path(tempfile.mkdtemp(prefix="pointledger-bench-"))
    server: subprocess.Popen[bytes] | None = None
    server_log = work / "server.log"
    try:
        shutil.copytree(ROOT / "demo", work / "demo")
        unthrottled(work / "demo" / "org.toml")
        env = clean_env(f"sqlite+aiosqlite:///{work / 'bench.db'}")
        log(f"work directory: {work}")
        run_step("pointledger demo (migrate, demo org, API key)", [str(BIN / "pointledger"), "demo"], work, env, 180)
        key = json.loads((work / ".pointledger-demo-key.json").read_text())
        auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()

        seeded = run_step(
            "seed (returning customers, the 100,000-entry customer)",
            [
                str(BIN / "python"),
                str(HERE / "seed.py"),
                "--customers",
                str(args.customers),
                "--entries",
                str(args.entries),
            ],
            ROOT,
            env,
            900,
        )
        log(f"  {seeded.splitlines()[-1]}")
        reconciled = run_step("pointledger reconcile", [str(BIN / "pointledger"), "reconcile"], work, env, 600)
        log(f"  reconcile: {reconciled.splitlines()[-1]}")
        if reconciled.splitlines()[-1].strip() != "0 discrepancies":
            raise BrokenRunError(f"reconcile after seeding: {reconciled}")

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/graphql"
        with server_log.open("wb") as output:
            server = subprocess.Popen(
                [str(BIN / "pointledger"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=work,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_for_health(base, server, 60)
        log(f"server: pid {server.pid}, {url} (pointledger serve, one uvicorn worker)")
        sanity_checks(url, auth)

        common = {"BENCH_AUTH": auth}
        typename = {**common, "BENCH_BODY": graphql_body(TYPENAME), "BENCH_EXPECT": '"__typename":"Query"'}
        head, middle, tail = add_parts()
        add = {
            **common,
            "BENCH_MODE": "add",
            "BENCH_PART1": head,
            "BENCH_PART2": middle,
            "BENCH_PART3": tail,
            "BENCH_EXPECT": '"__typename":"TransactionAdded"',
            "BENCH_CUSTOMERS": str(args.customers),
        }
        ledger = {**common, "BENCH_EXPECT": '"__typename":"LedgerEntryPage"'}

        log(
            f"loads: {args.connections} connections, {args.threads} wrk thread(s), {args.warmup:g} s warm-up + "
            f"{args.duration:g} s each"
        )
        baseline = measure("{ __typename } (baseline)", url, typename, args, server.pid)
        adds = measure(
            "addTransaction (3 items, new+ret.)",
            url,
            {**add, "BENCH_TAG": "M", "BENCH_MOBILE_DIGIT": "3"},
            args,
            server.pid,
            warm_env={**add, "BENCH_TAG": "W", "BENCH_MOBILE_DIGIT": "2"},
        )
        page_10 = measure(
            f"ledgerEntries first=10 ({args.entries:,})",
            url,
            {**ledger, "BENCH_BODY": ledger_body(10)},
            args,
            server.pid,
        )
        page_100 = measure(
            f"ledgerEntries first=100 ({args.entries:,})",
            url,
            {**ledger, "BENCH_BODY": ledger_body(100)},
            args,
            server.pid,
        )
        again = measure("{ __typename } (again, drift)", url, typename, args, server.pid)
        promo_rows = promotion_bench.run(
            url=url, auth=auth, work=work, env=env, args=args, server_pid=server.pid, bench=sys.modules[__name__]
        )
        if server.poll() is not None:
            raise BrokenRunError(f"the server exited with status {server.returncode} during the loads")
        for figures in (baseline, adds, page_10, page_100, again):
            if figures.ok == 0:
                raise BrokenRunError(f"{figures.name}: no successful response ({figures.first_bad[:400]})")

        reconciled = run_step(
            "pointledger reconcile (after the loads)", [str(BIN / "pointledger"), "reconcile"], work, env, 600
        )
        log(f"  reconcile: {reconciled.splitlines()[-1]}")

        log()
        print_table(
            [
                (baseline, None),
                (adds, ADD_TARGET),
                (page_10, LEDGER_10_TARGET),
                (page_100, None),
                (again, None),
                *((row, None) for row in promo_rows),
            ],
            baseline,
        )
        log()
        log(
            "req/s counts successful results only (TransactionAdded, LedgerEntryPage); errors = other results + socket "
            "errors; p50/p99 over all responses, as wrk reports them (with its coordinated-omission correction, "
            "so a few "
            "stalled requests raise p99 a lot); srv CPU = server process CPU time / wall time (1 core = 100%); "
            "others = CPU used meanwhile by other processes on the machine (wrk excluded): above ~10% the figures are "
            "disturbed, run again on a quiet machine."
        )
        log(
            f"addTransaction: half the bills from a fresh mobile, half from one of {args.customers:,} pre-registered "
            "customers; every bill number unique; the document asks for the bill, items, side effects and the "
            "customer's points summaries (tests/documents.py ADD_TRANSACTION)."
        )
        return 0
    except BrokenRunError as error:
        log(f"BROKEN RUN: {error}")
        if server_log.exists():
            log("--- server log (last 40 lines) ---")
            log("\n".join(server_log.read_text(errors="replace").splitlines()[-40:]))
        return 1
    finally:
        stop(server)
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
