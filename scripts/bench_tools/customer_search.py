"""scripts/bench --customer-search: member care's customer search on 1,000,000 customers.

1. A temp directory with a fresh SQLite file: `pointledger demo` (migrate, demo org, API key).
2. Seed --customers customers (1,000,000) in this process through the app's bulk registration
   (app.customers.bulk.register_customers: Core/driver executemany, 10,000 customers a write
   transaction), each with a mobile and a first and last name drawn from lists (accented names
   among them), so the name keys are written as the app writes them.
3. `pointledger serve` (one uvicorn worker); one client sends the requests one after another
   and times each: customers(search: {name}) with a 3-letter prefix of a drawn name (a common
   prefix: many matches), with a whole last name (few matches), and customers(search: {mobile}).
4. Prints p50/p99 per kind, how many customers each kind matched (median), and SQLite's
   EXPLAIN QUERY PLAN of the name search.

Exit status: 0 for a completed measurement, 1 for a broken run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench import (
    BIN,
    ROOT,
    BrokenRunError,
    clean_env,
    describe_machine,
    graphql_body,
    log,
    post,
    run_step,
    started_server,
    unthrottled,
)

HERE = Path(__file__).resolve().parent
SEED = 13
BATCH = 10_000
FIRST_MOBILE = 7_000_000_000
FIRST_NAMES = [
    "José",
    "Josefina",
    "Joseph",
    "Maria",
    "María",
    "Anna",
    "Anne",
    "Ana",
    "Åsa",
    "Björn",
    "Zoë",
    "Chloé",
    "Renée",
    "André",
    "Noël",
    "Amélie",
    "Jürgen",
    "Łukasz",
    "Ömer",
    "İsmail",
    "Şebnem",
    "Dmitri",
    "Priya",
    "Aarav",
    "Rohan",
    "Ananya",
    "Wei",
    "Mei",
    "Kenji",
    "Yuki",
    "Olu",
    "Ngozi",
    "Kwame",
    "Fatima",
    "Omar",
    "Layla",
    "Sofia",
    "Lucas",
    "Liam",
    "Olivia",
    "Emma",
    "Noah",
    "Ava",
    "Mia",
    "Ethan",
    "Zara",
    "Ravi",
    "Sanjay",
    "Deepa",
    "Nikhil",
    "Tomás",
    "Inés",
    "Raúl",
    "Ségolène",
]
SYLLABLES = [
    "al",
    "ba",
    "ce",
    "da",
    "el",
    "fe",
    "go",
    "ha",
    "in",
    "jo",
    "ka",
    "lo",
    "ma",
    "ne",
    "or",
    "pa",
    "qu",
    "ri",
    "sa",
    "te",
    "ul",
    "va",
    "we",
    "xi",
    "yo",
    "za",
    "ñe",
    "çu",
    "ör",
    "ål",
]
SEARCH = """
query Search($search: CustomerSearchInput!, $first: Int) {
  customers(search: $search, first: $first) {
    __typename
    ... on CustomerSearchPage { customers { userId firstname lastname mobile } pageInfo { hasNextPage endCursor } }
    ... on Error { code message field }
  }
}
"""


def last_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct surnames of 2 to 4 syllables, capitalised."""
    names: set[str] = set()
    while len(names) < count:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize())
    return sorted(names)


def drawn_names(count: int) -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    surnames = last_names(rng, 20_000)
    return [(rng.choice(FIRST_NAMES), rng.choice(surnames)) for _ in range(count)]


def mobile(index: int) -> str:
    return f"91{FIRST_MOBILE + index}"  # as the app stores an Indian mobile: E.164 digits without '+'


async def seed(count: int) -> None:
    from app.customers.bulk import register_customers
    from app.customers.rules import normalize_mobile
    from app.kernel.clock import SystemClock
    from app.kernel.enums import IdentifierType
    from app.kernel.settings import get_settings
    from app.organizations.config import load_org_config
    from app.organizations.service import org_id_by_code
    from app.storage.database import Database

    assert normalize_mobile(str(FIRST_MOBILE), "IN", "mobile") == mobile(0)
    names = drawn_names(count)
    database = Database(get_settings().database_url, pool_size=2)
    try:
        async with database.read() as connection:
            org = await load_org_config(connection, await org_id_by_code(connection, "demo"))
        assert org is not None
        started = time.perf_counter()
        for first in range(0, count, BATCH):
            last = min(first + BATCH, count)
            values = [mobile(index) for index in range(first, last)]

            async def write(connection, values=values, first=first, last=last) -> None:  # type: ignore[no-untyped-def]
                await register_customers(
                    connection,
                    org,
                    IdentifierType.MOBILE,
                    values,
                    SystemClock().now(),
                    source="INSTORE",
                    names=names[first:last],
                )

            await database.run_write(write)
        seconds = time.perf_counter() - started
        print(f"SEED customers={count} seconds={seconds:.1f} per_s={count / seconds:.0f}", flush=True)
    finally:
        await database.dispose()


def timed(url: str, auth: str, bodies: list[str]) -> tuple[list[float], list[int]]:
    """Milliseconds per request (sent one after another) and how many customers each page held."""
    latencies, sizes = [], []
    for body in bodies:
        started = time.perf_counter()
        answer = post(url, auth, body.encode())
        latencies.append((time.perf_counter() - started) * 1000)
        page = answer["data"]["customers"]
        if page["__typename"] != "CustomerSearchPage":
            raise BrokenRunError(f"search refused: {page}")
        sizes.append(len(page["customers"]))
    return latencies, sizes


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def matches(database: Path, prefixes: list[str], column_pairs: bool = True) -> int:
    """The median number of customers a set of name keys' prefixes matches (the work behind a page)."""
    from app.customers.rules import name_search_key, prefix_upper_bound

    counts = []
    with sqlite3.connect(database) as connection:
        for prefix in prefixes[:25]:
            key = name_search_key(prefix)
            bound = prefix_upper_bound(key)
            counts.append(
                connection.execute(
                    "SELECT count(*) FROM customers WHERE (first_name_key >= ? AND first_name_key < ?) "
                    "OR (last_name_key >= ? AND last_name_key < ?)",
                    (key, bound, key, bound),
                ).fetchone()[0]
            )
    return int(statistics.median(counts))


def query_plan(database: Path, prefix: str) -> list[str]:
    from sqlalchemy.dialects import sqlite

    from app.customers.repository import search_statement
    from app.customers.rules import name_search_key, prefix_upper_bound

    key = name_search_key(prefix)
    statement = search_statement(org_id=1, name_range=(key, prefix_upper_bound(key)), limit=11)
    compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    with sqlite3.connect(database) as connection:
        return [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {compiled}")]


def parse_args(arguments: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --customer-search")
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers seeded (default 1,000,000)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per kind (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (database, server log)")
    parser.add_argument("--seed-only", type=int, default=None, help=argparse.SUPPRESS)  # the seeding subprocess
    args = parser.parse_args(arguments)
    if args.seed_only is None and not (1_000 <= args.customers <= 5_000_000 and 10 <= args.requests <= 10_000):
        parser.error("customers 1,000-5,000,000, requests 10-10,000")
    return args


def run(args: argparse.Namespace) -> int:
    if args.seed_only is not None:
        asyncio.run(seed(args.seed_only))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    describe_machine()
    work = Path(tempfile.mkdtemp(prefix="pointledger-bench-search-"))
    servers = ExitStack()  # the server, stopped whatever happens
    try:
        shutil.copytree(ROOT / "demo", work / "demo")
        unthrottled(work / "demo" / "org.toml")
        database = work / "bench.db"
        env = clean_env(f"sqlite+aiosqlite:///{database}")
        log(f"work directory: {work}")
        run_step("pointledger demo (migrate, demo org, API key)", [str(BIN / "pointledger"), "demo"], work, env, 180)
        key = json.loads((work / ".pointledger-demo-key.json").read_text())
        auth = "Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode()
        seeded = run_step(
            f"seed {args.customers:,} customers (bulk registration with names)",
            [str(BIN / "python"), str(HERE / "customer_search.py"), "--seed-only", str(args.customers)],
            ROOT,
            env,
            3600,
        )
        log(f"  {seeded.splitlines()[-1]}")

        _, base = servers.enter_context(started_server(work, env, 1, "server.log"))
        url = f"{base}/graphql"

        rng = random.Random(SEED + 1)
        names = drawn_names(args.customers)
        picked = [names[rng.randrange(args.customers)] for _ in range(args.requests)]
        short = [rng.choice(pair)[:3] for pair in picked]
        whole = [last for _, last in picked]
        mobiles = [str(FIRST_MOBILE + rng.randrange(args.customers)) for _ in range(args.requests)]
        kinds = {
            "name, 3-letter prefix": [
                graphql_body(SEARCH, {"search": {"name": prefix}, "first": 10}) for prefix in short
            ],
            "name, whole last name": [graphql_body(SEARCH, {"search": {"name": name}, "first": 10}) for name in whole],
            "mobile": [graphql_body(SEARCH, {"search": {"mobile": number}, "first": 10}) for number in mobiles],
        }
        log(f"requests: {args.requests} per kind, one at a time, page size 10 (after 20 warm-up requests each)")
        log(f"{'search':<24} {'p50 ms':>8} {'p99 ms':>8} {'median matches':>15}")
        for name, bodies in kinds.items():
            timed(url, auth, bodies[:20])
            latencies, sizes = timed(url, auth, bodies)
            if name == "mobile" and set(sizes) != {1}:
                raise BrokenRunError(f"a mobile lookup found {sorted(set(sizes))} customers")
            matched = matches(database, short if "prefix" in name else whole) if name.startswith("name") else 1
            log(f"{name:<24} {percentile(latencies, 0.5):>8.1f} {percentile(latencies, 0.99):>8.1f} {matched:>15,}")
        log("SQLite EXPLAIN QUERY PLAN of a name search:")
        for line in query_plan(database, short[0]):
            log(f"  {line}")
        return 0
    except BrokenRunError as error:
        log(f"broken run: {error}")
        return 1
    finally:
        servers.close()
        if args.keep:
            log(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run(parse_args(sys.argv[1:])))
