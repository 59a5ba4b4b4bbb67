"""What alternate currencies add to a bill, in-process: CPU and SQL statements per addTransaction
for a program without currencies, for the same program declaring two, and for the two with line
rules as well (a unit per shirt, a rate on the jeans' amount), interleaved in rounds.

    .venv/bin/python scripts/bench_tools/currencies.py [--bills 200] [--rounds 5]

A fresh SQLite database in a temporary directory, three organisations from the tests' spec (two
of them with two alternate currencies on their main program, one of those with line rules), the
whole ASGI app in this process (httpx's ASGITransport, one request at a time), so CPU per request
is the server's own. Each
round posts `--bills` bills (a returning customer each time after the first) to each
organisation in turn; the figures are min / median / max over the rounds. Statements are counted
on both engines for one bill of each kind.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ADD = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      transaction {
        number
        sideEffects {
          __typename
          ... on AlternateCurrencySideEffect { alternateCurrencyIdentifier awardedValue }
          ... on PointsSideEffect { awardedPoints }
        }
      }
    }
    ... on Error { code message field }
  }
}
"""

CURRENCIES = [
    {
        "identifier": "rgpws7",
        "name": "ac1",
        "earn_rate": "0.05",
        "expiry": {"strategy": "DAYS_AFTER_EARNING", "value": 30},
    },
    {"identifier": "pJ6E8A", "name": "ac2", "earn_rate": "0.25", "rounding": "HALF_UP", "decimal_places": 2},
]
# The bench bill's shirts (2) earn 1 ac1 each, its jeans 1% of their 700 in ac2.
LINE_RULES = {
    "rgpws7": [{"name": "shirts", "item_codes": ["SHIRT-01"], "units_per_quantity": "1"}],
    "pJ6E8A": [{"name": "jeans", "item_codes": ["JEANS-01"], "earn_rate": "0.01"}],
}


async def run(args: argparse.Namespace) -> None:
    import httpx
    from sqlalchemy import event

    from app.http.app import create_app
    from app.kernel.clock import FrozenClock
    from app.kernel.settings import Settings
    from app.storage import migrate
    from app.storage.database import Database
    from tests.conftest import TEST_NOW, make_org
    from tests.factories import bill, org_spec

    directory = Path(tempfile.mkdtemp(prefix="currencies-bench-"))
    url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    await migrate.upgrade(url)
    database = Database(url, pool_size=5)
    plain = await make_org(database, org_spec("plain"))
    with_currencies_spec = org_spec("currencies")
    with_currencies_spec["programs"][0]["alternate_currencies"] = CURRENCIES
    with_currencies = await make_org(database, with_currencies_spec)
    with_line_rules_spec = org_spec("line-rules")
    with_line_rules_spec["programs"][0]["alternate_currencies"] = [
        {**currency, "line_rules": LINE_RULES[currency["identifier"]]} for currency in CURRENCIES
    ]
    with_line_rules = await make_org(database, with_line_rules_spec)
    clock = FrozenClock(TEST_NOW)
    application = create_app(Settings(database_url=url), database=database, clock=clock)
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    for engine in {id(e): e for e in (database.read_engine, database.write_engine)}.values():
        event.listen(engine.sync_engine, "before_cursor_execute", count)

    kinds = {"no currencies": plain, "two currencies": with_currencies, "with line rules": with_line_rules}
    mobiles = {kind: f"98{index:08d}" for index, kind in enumerate(kinds, start=1)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://bench") as client:

        async def post(kind: str) -> None:
            document = bill(customer={"mobile": mobiles[kind]})
            response = await client.post(
                "/graphql",
                json={"query": ADD, "variables": {"input": document}},
                headers={"Authorization": kinds[kind].header},
            )
            body = response.json()
            assert body["data"]["addTransaction"]["__typename"] == "TransactionAdded", body

        for kind in kinds:  # the customer registers: later bills are a returning customer's
            await post(kind)
        per_bill: dict[str, int] = {}
        for kind in kinds:
            statements[0] = 0
            await post(kind)
            per_bill[kind] = statements[0]
        cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind in kinds:
                started = time.process_time()
                for _ in range(args.bills):
                    await post(kind)
                cpu[kind].append((time.process_time() - started) / args.bills * 1000)
    for kind in kinds:
        figures = cpu[kind]
        print(
            f"{kind:16} CPU per bill ms min {min(figures):.2f} median {statistics.median(figures):.2f} "
            f"max {max(figures):.2f}; statements per bill {per_bill[kind]}"
        )
    ratio = statistics.median(cpu["two currencies"]) / statistics.median(cpu["no currencies"])
    print(f"two currencies / none (medians): {ratio:.2f}")
    ratio = statistics.median(cpu["with line rules"]) / statistics.median(cpu["two currencies"])
    print(f"with line rules / two currencies (medians): {ratio:.2f}")
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bills", type=int, default=200, help="bills per kind per round (200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
