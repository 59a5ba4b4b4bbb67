"""The hand-written reference for scripts/bench's ledger pages: Starlette + aiosqlite, no GraphQL.

Serves POST /graphql with the same request body as the bench's ledgerEntries load (it reads only
the variables: customer.value, first, after, filter.startDate) and answers the same JSON as
pointledger's response: {"data": {"ledgerEntries": {...}}}, byte for byte (bench.py checks that
on real pages before it measures). The same SQL shape as the app: the customer by their mobile
(customer_identifiers), then a keyset page of first + 1 entries joined to their events, newest
first, each entry carrying its balance after.

What it leaves out, so its CPU per request is a floor rather than a rival: no authentication (the
app checks an API key and its roles and counts the request against the rate limit), no GraphQL
parsing or validation, no input checks beyond what the page needs, and a mobile written as ten
digits is taken as an Indian one without the phone-number library. Run by bench.py as its own
uvicorn process on the same SQLite file (read only, WAL): POINTLEDGER_REFERENCE_DATABASE names it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POINTS_SCALE = 10_000  # points are stored as integers of 1/10,000 (app/kernel/money.py POINTS_SCALE)
ORG_CODE = "demo"

CUSTOMER_BY_MOBILE = "SELECT customer_id FROM customer_identifiers WHERE org_id = ? AND type = 'MOBILE' AND value = ?"
PAGE = (
    "SELECT e.id, e.event_id, e.event_type, e.entry_type, e.entry_kind, e.created_at, e.program_id, e.category, "
    "e.points, e.balance_after, v.points_on_event, e.source, e.store_id, e.till_id, v.transaction_id, "
    "v.transaction_number FROM ledger_entries e JOIN ledger_events v ON v.id = e.event_id "
    "WHERE e.org_id = ? AND e.customer_id = ? AND e.created_at >= ? AND e.id < ? ORDER BY e.id DESC LIMIT ?"
)
NO_CURSOR = 2**63 - 1


class State:
    connection: aiosqlite.Connection
    org_id: int
    programs: dict[int, str]
    stores: dict[int, str]
    tills: dict[int, str]


state = State()


async def codes(table: str) -> dict[int, str]:
    rows = list(
        await state.connection.execute_fetchall(f"SELECT id, code FROM {table} WHERE org_id = ?", (state.org_id,))
    )
    return {row[0]: row[1] for row in rows}


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    path = os.environ["POINTLEDGER_REFERENCE_DATABASE"]
    state.connection = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    rows = list(await state.connection.execute_fetchall("SELECT id FROM organizations WHERE code = ?", (ORG_CODE,)))
    state.org_id = rows[0][0]
    state.programs, state.stores, state.tills = await codes("programs"), await codes("stores"), await codes("tills")
    try:
        yield
    finally:
        await state.connection.close()


def points(stored: int) -> str:
    """As the app's Decimal scalar writes them: no trailing zeros, no exponent."""
    whole, fraction = divmod(stored, POINTS_SCALE)
    if not fraction:
        return str(whole)
    return f"{whole}.{fraction:04d}".rstrip("0") if stored > 0 else f"-{points(-stored)}"


def timestamp(stored: str) -> str:
    """SQLite's 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC) as datetime.isoformat() writes it."""
    text = stored.replace(" ", "T", 1)
    return (text[:-7] if text.endswith(".000000") else text) + "+00:00"


def entry(row: Any) -> dict[str, Any]:
    return {
        "id": str(row[0]),
        "eventLogId": str(row[1]),
        "eventType": row[2],
        "entryKind": row[4],
        "entryType": row[3],
        "programCode": state.programs[row[6]],
        "pointsCategory": row[7],
        "points": points(row[8]),
        "pointsOnEvent": points(row[10]),
        "balanceAfter": points(row[9]),
        "eventSource": row[11],
        "storeCode": state.stores[row[12]] if row[12] else None,
        "tillCode": state.tills[row[13]] if row[13] else None,
        "transactionId": str(row[14]) if row[14] else None,
        "transactionNumber": row[15],
        "createdAt": timestamp(row[5]),
    }


async def ledger_entries(request: Request) -> Response:
    variables = json.loads(await request.body())["variables"]
    mobile = variables["customer"]["value"]
    first = variables.get("first", 10)
    after = variables.get("after")
    after_id = int(base64.urlsafe_b64decode(after).decode().partition(":")[2]) if after else NO_CURSOR
    start = variables["filter"]["startDate"].replace("T", " ")[:19] + ".000000"  # UTC in the bench's bodies
    found = list(
        await state.connection.execute_fetchall(
            CUSTOMER_BY_MOBILE, (state.org_id, "91" + mobile if len(mobile) == 10 else mobile)
        )
    )
    customer_id = found[0][0]
    rows = list(await state.connection.execute_fetchall(PAGE, (state.org_id, customer_id, start, after_id, first + 1)))
    page = [entry(row) for row in rows[:first]]
    cursor = base64.urlsafe_b64encode(f"ledger:{page[-1]['id']}".encode()).decode() if page else None
    document = {
        "data": {
            "ledgerEntries": {
                "__typename": "LedgerEntryPage",
                "customerId": str(customer_id),
                "entries": page,
                "pageInfo": {"hasNextPage": len(rows) > first, "endCursor": cursor},
            }
        }
    }
    return Response(json.dumps(document, separators=(",", ":")), media_type="application/json")


app = Starlette(routes=[Route("/graphql", ledger_entries, methods=["POST"])], lifespan=lifespan)
