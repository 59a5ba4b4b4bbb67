"""What a client of the API does, written once: the client itself (Api, Credentials), the calls the
tests make through it, requests sent at once, and readers of what the API answers.

Calls named for a must (`add`, `buy`, `earn`, `customer_points`, `ledger_entries`) assert the
answer is the success type; the others return the answer whatever its type, for tests of refusals.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.kernel.clock import FrozenClock
from app.storage.database import Database
from tests.documents import (
    ADD_TRANSACTION,
    CLOSING_BALANCE,
    CUSTOMER,
    CUSTOMER_POINTS,
    DEFINE_TRACKER,
    LEDGER_ENTRIES,
    MERGE,
    TRANSFER,
)
from tests.factories import bill, new_mobile

ORG_ZONE = ZoneInfo("Asia/Kolkata")  # the test organisation's time zone (tests.factories.BASE_ORG)
UPLOAD_HEADER = {"X-Pointledger-CSRF": "1"}  # what a script sends with a multipart upload, and a form cannot


@dataclass
class Credentials:
    org_id: int
    key_id: str
    secret: str

    @property
    def header(self) -> str:
        return "Basic " + base64.b64encode(f"{self.key_id}:{self.secret}".encode()).decode()

    @property
    def upload_headers(self) -> dict[str, str]:
        """For a multipart upload to /graphql."""
        return {"Authorization": self.header, **UPLOAD_HEADER}


class Api:
    """Calls /graphql as a client does; `credentials=` switches organisation. `clock` is the app's."""

    def __init__(
        self, client: httpx.AsyncClient, credentials: Credentials, database: Database, clock: FrozenClock
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.database = database
        self.clock = clock

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, credentials: Credentials | None = None
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": (credentials or self.credentials).header},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, credentials: Credentials | None = None
    ) -> dict[str, Any]:
        body = await self.post(query, variables, credentials=credentials)
        assert "errors" not in body, body["errors"]
        return body["data"]


# --- Bills ----------------------------------------------------------------------------------


async def add_transaction(
    api: Api, document: dict[str, Any], *, credentials: Credentials | None = None, query: str = ADD_TRANSACTION
) -> dict:
    """What addTransaction answers for this bill (read with `query`): TransactionAdded or an error."""
    return (await api.data(query, {"input": document}, credentials=credentials))["addTransaction"]


async def add(api: Api, document: dict[str, Any], *, credentials: Credentials | None = None) -> dict:
    """addTransaction for a bill that must be added: its TransactionAdded answer."""
    result = await add_transaction(api, document, credentials=credentials)
    assert result["__typename"] == "TransactionAdded", result
    return result


async def buy(
    api: Api,
    mobile: str,
    amount: str,
    *,
    till: str = "till-1",
    billing_time: datetime | str | None = None,
    credentials: Credentials | None = None,
    **customer: Any,
) -> dict:
    """A bill of `amount` without line items (no gross amount, no discount) at `till`, for the
    customer of this mobile (with `customer`'s other fields), which must be added: its
    TransactionAdded answer. At till-1 bronze earns 1 main point per 100; at till-cafe 5 cafe points.
    Without `billing_time` the bill is billed at the app's clock."""
    document = bill(
        customer={"mobile": mobile, **customer},
        amount=amount,
        grossAmount=None,
        discount=None,
        lineItems=[],
        tillCode=till,
    )
    if billing_time is not None:
        document["billingTime"] = billing_time.isoformat() if isinstance(billing_time, datetime) else billing_time
    return await add(api, document, credentials=credentials)


async def earn(api: Api, mobile: str, amount: str, **options: Any) -> str:
    """A purchase as `buy` makes it: the user id of the customer who earned its points."""
    return (await buy(api, mobile, amount, **options))["transaction"]["customer"]["userId"]


async def customer_with_points(api: Api, amount: str = "1000") -> tuple[str, str]:
    """A new customer who bought for `amount` at till-1 (amount / 100 main points): (mobile, user id)."""
    mobile = new_mobile()
    return mobile, await earn(api, mobile, amount)


def purchase_day(transaction: dict[str, Any]) -> str:
    """The day a bill was billed, in the organisation's time zone (what returns and trackers name)."""
    return datetime.fromisoformat(transaction["billingTime"]).astimezone(ORG_ZONE).date().isoformat()


# --- Customers ------------------------------------------------------------------------------


async def find_customer(
    api: Api, lookup: dict[str, str], *, credentials: Credentials | None = None, **variables: Any
) -> dict:
    """What the customer query (tests.documents.CUSTOMER) answers for this lookup: Customer or an error."""
    return (await api.data(CUSTOMER, {"lookup": lookup, **variables}, credentials=credentials))["customer"]


async def customer_points(api: Api, lookup: dict[str, str], **variables: Any) -> dict:
    """The customer's points (tests.documents.CUSTOMER_POINTS); the customer must be found."""
    customer = (await api.data(CUSTOMER_POINTS, {"lookup": lookup, **variables}))["customer"]
    assert customer["__typename"] == "Customer", customer
    return customer


def points_summary(customer: dict[str, Any], program: str = "main") -> dict[str, Any]:
    """The customer's points summary of one program."""
    return next(summary for summary in customer["pointsSummaries"] if summary["programCode"] == program)


# --- The ledger -----------------------------------------------------------------------------


async def ledger_page(
    api: Api,
    customer: dict[str, str],
    filter: dict[str, Any] | None = None,
    *,
    first: int = 100,
    after: str | None = None,
    credentials: Credentials | None = None,
) -> dict:
    """What ledgerEntries answers for this customer lookup: a LedgerEntryPage (newest first) or an error."""
    variables = {"customer": customer, "filter": filter, "first": first, "after": after}
    return (await api.data(LEDGER_ENTRIES, variables, credentials=credentials))["ledgerEntries"]


async def ledger_entries(
    api: Api,
    customer: dict[str, str],
    filter: dict[str, Any] | None = None,
    *,
    first: int = 100,
    credentials: Credentials | None = None,
) -> list[dict]:
    """The customer's newest `first` ledger entries, newest first; the answer must be a page."""
    page = await ledger_page(api, customer, filter, first=first, credentials=credentials)
    assert page["__typename"] == "LedgerEntryPage", page
    return page["entries"]


async def closing_balance(
    api: Api,
    customer: dict[str, str],
    filter: dict[str, Any] | None = None,
    *,
    credentials: Credentials | None = None,
) -> dict:
    """What ledgerClosingBalance answers for this customer lookup: the balance or an error."""
    variables = {"customer": customer, "filter": filter}
    return (await api.data(CLOSING_BALANCE, variables, credentials=credentials))["ledgerClosingBalance"]


def entry_shape(entry: dict[str, Any]) -> tuple:
    """A ledger entry without its ids, clock or category: event, kind, type, program, points, balance
    after, points on the event."""
    return (
        entry["eventType"],
        entry["entryKind"],
        entry["entryType"],
        entry["programCode"],
        entry["points"],
        entry["balanceAfter"],
        entry["pointsOnEvent"],
    )


def signed(entry: dict[str, Any]) -> int:
    """An entry's points, negative for a debit."""
    points = int(entry["points"])
    return points if entry["entryType"] == "CREDIT" else -points


# --- Merges and transfers -------------------------------------------------------------------


async def merge(api: Api, survivor: dict[str, str], victim: dict[str, str], **extra: Any) -> dict:
    """What mergeCustomers answers: CustomersMerged (with the survivor) or an error."""
    return (await api.data(MERGE, {"input": {"survivor": survivor, "victim": victim, **extra}}))["mergeCustomers"]


async def transfer(
    api: Api,
    sender: dict[str, str],
    receiver: dict[str, str],
    points: str,
    *,
    document: str = TRANSFER,
    credentials: Credentials | None = None,
    **extra: Any,
) -> dict:
    """What transferPoints answers for `points` from one customer lookup to another."""
    variables = {"input": {"from": sender, "to": receiver, "points": points, **extra}}
    return (await api.data(document, variables, credentials=credentials))["transferPoints"]


# --- Trackers -------------------------------------------------------------------------------


async def define_tracker(
    api: Api, code: str, level: str, points_per_unit: str, program: str | None = "main", name: str | None = None
) -> dict:
    """What defineTracker answers for this tracker (named after its code unless `name` is given)."""
    tracker_input = {"code": code, "name": name or code.title(), "level": level, "pointsPerUnit": points_per_unit}
    if program is not None:
        tracker_input["programCode"] = program
    return (await api.data(DEFINE_TRACKER, {"input": tracker_input}))["defineTracker"]


async def purchase_to_track(api: Api, mobile: str | None = None) -> dict[str, str]:
    """A bill of 1,800 at till-1 (store-1) with lines 1 SHIRT-01, 2 JEANS-01, 3 SOCKS-01 (18 main
    points), for this mobile or a new one: what a tracked value names it by (id, number, mobile,
    the buyer's userId, date)."""
    document = bill(customer={"mobile": mobile or new_mobile()})
    transaction = (await add(api, document))["transaction"]
    return {
        "id": transaction["id"],
        "number": transaction["number"],
        "mobile": document["customer"]["mobile"],
        "userId": transaction["customer"]["userId"],
        "date": purchase_day(transaction),
    }


# --- Requests at once -----------------------------------------------------------------------


async def post_at_once(api: Api, query: str, inputs: list[dict[str, Any]]) -> list[dict]:
    """Each input sent as the $input of `query` (one mutation), all at the same time: each answer's
    result, in the inputs' order. Every response must be a 200 without GraphQL errors (a lock
    failure would be one)."""

    async def post(variables: dict[str, Any]) -> httpx.Response:
        return await api.client.post(
            "/graphql",
            json={"query": query, "variables": {"input": variables}},
            headers={"Authorization": api.credentials.header},
        )

    responses = await asyncio.gather(*(post(variables) for variables in inputs))
    for response in responses:
        assert response.status_code == 200, response.text
        assert "database is locked" not in response.text
        assert "errors" not in response.json(), response.text
    return [next(iter(response.json()["data"].values())) for response in responses]


def no_lock_errors_logged(caplog: pytest.LogCaptureFixture) -> bool:
    """Whether the server logged no "database is locked" (SQLite's failure to wait for a writer)."""
    return not any(
        "database is locked" in record.getMessage() or "database is locked" in (record.exc_text or "")
        for record in caplog.records
    )


def error_of(result: dict[str, Any]) -> tuple[str, str, str | None]:
    """A typed error as (type, code, field)."""
    return result["__typename"], result["code"], result["field"]
