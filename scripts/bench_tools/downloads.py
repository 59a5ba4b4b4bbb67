"""scripts/bench --download: a customer's 1,000,000 ledger entries downloaded as CSV and xlsx.

1. A temp directory with a fresh SQLite file: `pointledger demo`, then seed.py with one returning
   customer and the big customer given SEEDED_ENTRIES ledger entries through the ledger's own
   code; then those entries are copied with SQL (INSERT ... SELECT, the same events) until the
   customer has `--entries` (default 1,000,000): posting a million events one by one takes about
   half an hour on these machines, and a download reads copied rows exactly as posted ones. The
   copies' running balances repeat, so this bench database does not reconcile (and is thrown away).
2. `pointledger serve` (one uvicorn worker); the server's resident memory (VmRSS) is read before,
   sampled every 50 ms during each download, and its high-water mark (VmHWM) read after each.
3. GET /downloads/ledger-entries.csv, then .xlsx, for that customer (all dates), read to the end
   by the client in 64 KB pieces and thrown away: time to the first byte, total time, bytes,
   rows (CSV), and the server's RSS figures. Flat memory means the peak during a download stays
   near the RSS before it, whatever the list's length.

Exit status: 0 for a completed measurement, 1 for a broken run.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from bench import BIN, HERE, ROOT, BrokenRunError, clean_env, log, run_step, started_server
from seed import BIG_MOBILE

FAR_PAST = "2000-01-01T00:00:00+00:00"
SEEDED_ENTRIES = 20_000
CHUNK_BYTES = 64 * 1024
SAMPLE_SECONDS = 0.05


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --download", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--entries", type=int, default=1_000_000, help="ledger entries of the customer (default 1,000,000)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (database, server log)")
    args = parser.parse_args(argv)
    if not 1_000 <= args.entries <= 5_000_000:
        parser.error("entries 1,000-5,000,000")
    return args


def memory_kb(pid: int, field: str) -> int:
    """A memory figure of /proc/<pid>/status in kB (VmRSS: now; VmHWM: the peak since it started)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise BrokenRunError(f"no {field} in /proc/{pid}/status")


class RssSampler:
    """The highest VmRSS seen while it runs, sampled from another thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = memory_kb(pid, "VmRSS")
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, memory_kb(self.pid, "VmRSS"))
            self.samples += 1
            time.sleep(SAMPLE_SECONDS)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def fetch(url: str, auth: str, pid: int) -> dict[str, float]:
    before_kb = memory_kb(pid, "VmRSS")
    request = urllib.request.Request(url, headers={"Authorization": auth})
    started = time.perf_counter()
    received = lines = 0
    first_byte = None
    with RssSampler(pid) as sampler, urllib.request.urlopen(request, timeout=1800) as response:
        if response.status != 200:
            raise BrokenRunError(f"{url}: status {response.status}")
        while chunk := response.read(CHUNK_BYTES):
            if first_byte is None:
                first_byte = time.perf_counter() - started
            received += len(chunk)
            lines += chunk.count(b"\n")
    return {
        "seconds": time.perf_counter() - started,
        "first_byte_seconds": first_byte or 0.0,
        "megabytes": received / 1e6,
        "lines": lines,
        "rss_before_mb": before_kb / 1024,
        "rss_peak_mb": sampler.peak_kb / 1024,
        "hwm_after_mb": memory_kb(pid, "VmHWM") / 1024,
        "samples": sampler.samples,
    }


def copy_entries(database: Path, customer_id: int, entries_wanted: int) -> int:
    """Copies of the big customer's entries (new ids, the same events) until it has `entries_wanted`."""
    started = time.perf_counter()
    with sqlite3.connect(database) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(ledger_entries)") if row[1] != "id"]
        names = ", ".join(columns)
        count = lambda: connection.execute(  # noqa: E731
            "SELECT count(*) FROM ledger_entries WHERE customer_id = ?", (customer_id,)
        ).fetchone()[0]
        while (have := count()) < entries_wanted:
            connection.execute(
                f"INSERT INTO ledger_entries ({names}) SELECT {names} FROM ledger_entries "
                "WHERE customer_id = ? ORDER BY id LIMIT ?",
                (customer_id, entries_wanted - have),
            )
            connection.commit()
        total = count()
    log(f"SQL copies of ledger entries: {time.perf_counter() - started:.1f} s")
    return total


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = Path(tempfile.mkdtemp(prefix="pointledger-bench-download-"))
    servers = ExitStack()  # the server, stopped whatever happens
    try:
        shutil.copytree(ROOT / "demo", work / "demo")
        env = clean_env(f"sqlite+aiosqlite:///{work / 'bench.db'}")
        log(f"work directory: {work}")
        run_step("pointledger demo (migrate, demo org, API key)", [str(BIN / "pointledger"), "demo"], work, env, 180)
        key = json.loads((work / ".pointledger-demo-key.json").read_text())
        auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
        seeded = run_step(
            f"seed (the {args.entries:,}-entry customer)",
            [
                str(BIN / "python"),
                str(HERE / "seed.py"),
                "--customers",
                "1",
                "--entries",
                str(min(args.entries, SEEDED_ENTRIES)),
                "--batch",
                "5000",
            ],
            ROOT,
            env,
            1800,
        )
        log(f"  {seeded.splitlines()[-1]}")
        found = re.search(r"big_customer_id=(\d+)", seeded)
        if found is None:
            raise BrokenRunError(f"seed.py did not name the big customer: {seeded}")
        total = copy_entries(work / "bench.db", int(found.group(1)), args.entries)
        log(f"  the customer's ledger entries after the SQL copies: {total:,}")
        server, base = servers.enter_context(started_server(work, env, 1, "server.log"))
        log(f"server: pid {server.pid} (pointledger serve, one uvicorn worker)")
        query = urllib.parse.urlencode({"customer": BIG_MOBILE, "customerType": "MOBILE", "startDate": FAR_PAST})
        log(f"server before: VmRSS {memory_kb(server.pid, 'VmRSS') / 1024:.1f} MB")
        for file_format in ("csv", "xlsx"):
            figures = fetch(f"{base}/downloads/ledger-entries.{file_format}?{query}", auth, server.pid)
            log(
                f"DOWNLOAD format={file_format} entries={args.entries} seconds={figures['seconds']:.1f} "
                f"first_byte_s={figures['first_byte_seconds']:.1f} megabytes={figures['megabytes']:.1f} "
                f"csv_lines={int(figures['lines']) if file_format == 'csv' else '-'} "
                f"rows_per_s={args.entries / figures['seconds']:.0f} "
                f"rss_before_mb={figures['rss_before_mb']:.1f} rss_peak_during_mb={figures['rss_peak_mb']:.1f} "
                f"vmhwm_after_mb={figures['hwm_after_mb']:.1f} rss_samples={int(figures['samples'])}"
            )
        return 0
    except BrokenRunError as error:
        log(f"BROKEN RUN: {error}")
        return 1
    finally:
        servers.close()
        if args.keep:
            log(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
