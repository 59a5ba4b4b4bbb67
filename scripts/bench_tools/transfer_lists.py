"""What a page of member care's transfers list costs, in-process: CPU and SQL statements per
customerPointsTransfers page (points and alternate currency transfers together, and points only)
for a customer with a short history and one with a long one (the same transfers, many more bills),
beside a ledgerEntries page of the same size, interleaved in rounds.

    .venv/bin/python scripts/bench_tools/transfer_lists.py [--bills 1000] [--pages 200] [--rounds 5]

A fresh SQLite database in a temporary directory, one organisation from the tests' spec (main
program transferable, two alternate currencies), the whole ASGI app in this process (httpx's
ASGITransport, one request at a time), so CPU per request is the server's own. Each customer
sent and received 40 points transfers and 40 currency transfers; the long history adds `--bills`
bills before them. Each round reads `--pages` first pages of each kind; the figures are
min / median / max over the rounds, in ms of CPU per request.
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

TRANSFERS = """
query Transfers($customer: CustomerLookupInput!, $filter: PointsTransferFilterInput, $first: Int!) {
  customerPointsTransfers(customer: $customer, filter: $filter, first: $first) {
    ... on PointsTransferPage {
      records { transferType transferId eventLogId alternateCurrency fromUserId toUserId programCode points createdAt }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
LEDGER = """
query Ledger($customer: CustomerLookupInput!, $first: Int!) {
  ledgerEntries(customer: $customer, first: $first, filter: {startDate: "2000-01-01T00:00:00Z"}) {
    ... on LedgerEntryPage { entries { id eventLogId eventType entryType programCode points balanceAfter createdAt } }
  }
}
"""
TRANSFER_POINTS = """
mutation T($input: TransferPointsInput!) { transferPoints(input: $input) { __typename } }
"""
TRANSFER_UNITS = """
mutation T($input: TransferAlternateCurrencyInput!) { transferAlternateCurrency(input: $input) { __typename } }
"""
TRANSFERS_EACH_WAY = 20  # of each kind, sent and received: 80 in all


async def run(args: argparse.Namespace) -> None:
    import httpx
    from sqlalchemy import event

    from app.http.app import create_app
    from app.kernel.clock import FrozenClock
    from app.kernel.settings import Settings
    from app.storage import migrate
    from app.storage.database import Database
    from tests.conftest import TEST_NOW, make_org
    from tests.factories import bill
    from tests.test_alternate_currencies import currencies_spec

    directory = Path(tempfile.mkdtemp(prefix="transfer-lists-bench-"))
    url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    await migrate.upgrade(url)
    database = Database(url, pool_size=5)
    spec = currencies_spec(points_transferable=True)
    spec["rate_limits"] = {"till": 0, "app": 0, "member_care": 0, "admin": 0}  # thousands of pages a minute
    org = await make_org(database, spec)
    application = create_app(Settings(database_url=url), database=database, clock=FrozenClock(TEST_NOW))
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(database.read_engine.sync_engine, "before_cursor_execute", count)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://bench") as client:

        async def data(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": org.header}
            )
            body = response.json()
            assert "errors" not in body, body
            return body["data"]

        async def buy(mobile: str) -> None:
            answer = await data(
                "mutation A($input: TransactionAddInput!) { addTransaction(input: $input) { __typename } }",
                {"input": bill(customer={"mobile": mobile}, amount="10000", lineItems=[])},
            )
            assert answer["addTransaction"]["__typename"] == "TransactionAdded", answer

        friend = "9800000000"
        histories = {"short": "9800000001", "long": "9800000002"}
        await buy(friend)
        for name, mobile in histories.items():
            for _ in range(args.bills if name == "long" else 1):
                await buy(mobile)
            for index in range(TRANSFERS_EACH_WAY):
                for sender, receiver in ((mobile, friend), (friend, mobile)):
                    ends = {"from": {"type": "MOBILE", "value": sender}, "to": {"type": "MOBILE", "value": receiver}}
                    moved = await data(TRANSFER_POINTS, {"input": {**ends, "points": "1"}})
                    assert moved["transferPoints"]["__typename"] == "PointsTransferred", moved
                    key = f"{sender}-{receiver}-{index}"
                    units = {**ends, "currency": "rgpws7", "value": "1", "idempotencyKey": key}
                    moved = await data(TRANSFER_UNITS, {"input": units})
                    assert moved["transferAlternateCurrency"]["__typename"] == "AlternateCurrencyTransferred", moved

        kinds = {
            f"{list_name} {size:3}, {history:5} history": (query, {"first": size, **extra}, histories[history])
            for history in histories
            for size in (10, 100)
            for list_name, query, extra in (
                ("transfers, both kinds", TRANSFERS, {}),
                ("transfers, points only", TRANSFERS, {"filter": {"kind": "POINTS"}}),
                ("ledgerEntries        ", LEDGER, {}),
            )
        }
        per_page: dict[str, int] = {}
        cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
        for kind, (query, variables, mobile) in kinds.items():
            statements[0] = 0
            await data(query, {"customer": {"type": "MOBILE", "value": mobile}, **variables})
            per_page[kind] = statements[0]
        for _ in range(args.rounds):
            for kind, (query, variables, mobile) in kinds.items():
                given = {"customer": {"type": "MOBILE", "value": mobile}, **variables}
                started = time.process_time()
                for _ in range(args.pages):
                    await data(query, given)
                cpu[kind].append((time.process_time() - started) / args.pages * 1000)
    print(f"history: short 1 bill, long {args.bills} bills; each {4 * TRANSFERS_EACH_WAY} transfers")
    for kind in kinds:
        figures = cpu[kind]
        print(
            f"{kind}: CPU per page ms min {min(figures):.2f} median {statistics.median(figures):.2f} "
            f"max {max(figures):.2f}; statements {per_page[kind]}"
        )
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bills", type=int, default=1000, help="bills of the long history (1000)")
    parser.add_argument("--pages", type=int, default=200, help="pages of each kind per round (200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
