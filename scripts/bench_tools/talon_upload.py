"""The Talon.One import endpoint's memory on a large upload: the server's peak RSS while a file of
--megabytes (512 by default) is POSTed to /v1/loyalty_programs/rewards/import_points as a
multipart upFile part. Run: .venv/bin/python scripts/bench_tools/talon_upload.py [--megabytes N]

1. A temp directory with a fresh SQLite file: `pointledger demo` (migrate, demo org, admin key),
   then `pointledger serve` (1 worker) with an import size limit of 2 GiB.
2. The body is generated while it is sent (a block of rows repeated, with an exact
   Content-Length), so the client holds one block; the server must stream it to its import
   directory. A thread samples the server's VmRSS every 20 ms.
3. Printed: the server's RSS before the upload, its highest sample during it, VmHWM (the
   kernel's peak since start), MB/s and the server's CPU seconds per 100 MB (utime + stime).
   The job the upload queues is not waited for (the points import's own speed and memory are
   `scripts/bench --imports`'s): the server is stopped once the answer has come.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import clean_env, process_cpu_seconds, started_server  # noqa: E402

ROOT = HERE.parent.parent
BIN = ROOT / ".venv" / "bin"
BOUNDARY = "bench-boundary-5f2e"
BLOCK_ROWS = 20_000
MEGABYTE = 1024 * 1024


def block() -> bytes:
    """About 1 MB of rows in the seed's format (profile ids, amounts, dates, subledger, reason)."""
    return "".join(
        f"BENCH-{index:07d},{1 + index % 500},2026-01-01T00:00:00Z,2030-06-30T23:59:59Z,"
        f"partner-{index % 4},migration\r\n"
        for index in range(BLOCK_ROWS)
    ).encode()


def body_parts(megabytes: int) -> tuple[bytes, bytes, bytes, int]:
    prefix = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upFile"; filename="large.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
        "customerprofileid,amount,startdate,expirydate,subledgerid,reason\r\n"
    ).encode()
    rows = block()
    suffix = f"\r\n--{BOUNDARY}--\r\n".encode()
    repeats = max(1, megabytes * MEGABYTE // len(rows))
    return prefix, rows, suffix, repeats


def body(prefix: bytes, rows: bytes, suffix: bytes, repeats: int) -> Iterator[bytes]:
    yield prefix
    for _ in range(repeats):
        yield rows
    yield suffix


def basic(key: dict[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.highest_kib = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.highest_kib = max(self.highest_kib, rss_kib(self.pid))
            time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=512)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pointledger-bench-talon-"))
    try:
        shutil.copytree(ROOT / "demo", work / "demo")
        env = clean_env(f"sqlite+aiosqlite:///{work / 'bench.db'}")
        env["POINTLEDGER_IMPORT_SIZE_LIMIT_BYTES"] = str(2**31 - 1)
        env["POINTLEDGER_IMPORT_DIRECTORY"] = str(work / "imports")
        subprocess.run([str(BIN / "pointledger"), "demo"], cwd=work, env=env, check=True, capture_output=True)
        key = json.loads((work / ".pointledger-demo-key.json").read_text())
        prefix, rows, suffix, repeats = body_parts(args.megabytes)
        length = len(prefix) + len(rows) * repeats + len(suffix)
        with started_server(work, env, 1, "server.log") as (server, base):
            host, port = base.removeprefix("http://").split(":")
            before_kib = rss_kib(server.pid)
            cpu_before = process_cpu_seconds(server.pid)
            sampler = Sampler(server.pid)
            sampler.start()
            started = time.perf_counter()
            connection = http.client.HTTPConnection(host, int(port), timeout=3600)
            connection.request(
                "POST",
                "/v1/loyalty_programs/rewards/import_points",
                body=body(prefix, rows, suffix, repeats),
                headers={
                    "Authorization": f"ManagementKey-v1 {key['key_id']}:{key['secret']}",
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    "Content-Length": str(length),
                },
            )
            response = connection.getresponse()
            answer = response.read()
            seconds = time.perf_counter() - started
            cpu_seconds = process_cpu_seconds(server.pid) - cpu_before
            sampler.running = False
            sampler.join()
            peak_kib = rss_kib(server.pid, "VmHWM")
            job_id = json.loads(answer)["id"] if response.status == 200 else None
            connection.request("GET", f"/imports/{job_id}", headers={"Authorization": basic(key)})
            job = json.loads(connection.getresponse().read())["job"]
        file_bytes = length - len(suffix) - prefix.index(b"customerprofileid")
        stored = "all of it" if job["file_size_bytes"] == file_bytes else f"NOT {file_bytes:,}"
        print(f"POST {length / MEGABYTE:,.0f} MiB: {response.status} {answer.decode()[:200]}")
        print(f"  {length / MEGABYTE / seconds:,.0f} MiB/s, {seconds:.1f} s")
        print(f"  server CPU {cpu_seconds:.1f} s ({cpu_seconds / (length / MEGABYTE) * 100:.2f} s per 100 MiB)")
        print(
            f"  server RSS: {before_kib / 1024:.0f} MiB before, {sampler.highest_kib / 1024:.0f} MiB at most during "
            f"the upload (VmHWM {peak_kib / 1024:.0f} MiB)"
        )
        print(f"  the job's file: {job['file_size_bytes']:,} bytes ({stored})")
        return 0 if response.status == 200 and job["file_size_bytes"] == file_bytes else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
