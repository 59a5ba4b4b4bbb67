"""A model-based (Hypothesis stateful) test of the whole burn and earn loop.

Random sequences of purchases (some merging two customers), returns, redemptions, reversals,
transfers, days passing on the server's clock, expiry runs and idempotent replays go to the API
as a client sends them, and to a small in-memory model of lots. After every step: the server's
balances equal the model's, every balance equals the sum of its entries and the lots hold exactly
the positive balances (`reconcile` finds nothing), and no limit is exceeded.

The model keeps lots in the order the server does: a debit takes spendable lots (active, not past
their expiry date) before the others, first-expiring first (never-expiring last), oldest first.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import text

from app.http.app import create_app
from app.kernel.clock import FrozenClock
from app.kernel.settings import Settings
from app.ledger.expiry import expire_points
from app.ledger.service import reconcile
from app.storage.database import Database
from app.storage.tables import registered_tables
from tests.client import Credentials
from tests.conftest import POSTGRES_URL, TEST_NOW, make_org
from tests.documents import ADD_TRANSACTION
from tests.snapshots import table_counts

EARN_RATE = Decimal("0.1")
EXPIRY_DAYS = 30
SLOTS = 4  # customers the machine plays with

SPEC: dict[str, Any] = {
    "organization": {
        "code": "model",
        "name": "Model Retail",
        "time_zone": "UTC",
        "base_country": "IN",
        "bill_number_unique_in_days": 30,
        "primary_identifier": "MOBILE",
    },
    "programs": [
        {
            "code": "main",
            "name": "Rewards",
            "default": True,
            "points_rounding": "FLOOR",
            "points_decimal_places": 0,
            "expiry": {"strategy": "DAYS_AFTER_EARNING", "value": EXPIRY_DAYS},
            "points_transferable": True,
            "tiers": [{"serial_number": 1, "name": "member", "upgrade_threshold": "0", "earn_rate": str(EARN_RATE)}],
        }
    ],
    "stores": [{"code": "store-1", "tills": [{"code": "till-1"}]}],
}

REDEEM = """
mutation Redeem($input: RedeemPointsInput!) {
  redeemPoints(input: $input) {
    __typename
    ... on PointsRedeemed { replayed redemption { id points } }
    ... on InsufficientPointsError { availablePoints }
    ... on Error { code field }
  }
}
"""

REVERSE = """
mutation Reverse($input: ReverseRedemptionInput!) {
  reverseRedemption(input: $input) {
    __typename
    ... on RedemptionReversed { replayed redemption { pointsReversed status } }
    ... on Error { code field }
  }
}
"""

TRANSFER = """
mutation Transfer($input: TransferPointsInput!) {
  transferPoints(input: $input) {
    __typename
    ... on PointsTransferred { fromBalanceAfter toBalanceAfter }
    ... on InsufficientPointsError { availablePoints }
    ... on Error { code field }
  }
}
"""

RETURN = """
mutation Return($input: TransactionReturnInput!) {
  returnTransaction(input: $input) {
    __typename
    ... on TransactionReturned { pointsReturned pointsNotRecovered }
    ... on Error { code field }
  }
}
"""

CUSTOMER_POINTS = """
query Points($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) { ... on Customer { userId loyaltyPoints mergedIntoUserId } }
}
"""


@dataclass
class ModelLot:
    sequence: int  # creation order, the server's tie-break
    remaining: Decimal
    expires_at: datetime | None
    points_at_start: Decimal = Decimal(0)


@dataclass
class ModelBill:
    number: str
    billing_time: datetime
    customer: ModelCustomer
    points: Decimal
    lot: ModelLot | None
    returned: bool = False


@dataclass
class ModelRedemption:
    id: str
    customer: ModelCustomer
    taken: list[tuple[ModelLot, Decimal]]
    reversed: bool = False


@dataclass
class ModelCustomer:
    user_id: str
    lots: list[ModelLot] = field(default_factory=list)
    merged_into: ModelCustomer | None = None

    @property
    def balance(self) -> Decimal:
        return sum((lot.remaining for lot in self.lots), Decimal(0))

    def spendable(self, now: datetime) -> Decimal:
        return sum((lot.remaining for lot in self.lots if lot.expires_at is None or lot.expires_at > now), Decimal(0))

    def consumption_order(self, now: datetime) -> list[ModelLot]:
        def key(lot: ModelLot) -> tuple[Any, ...]:
            spendable = lot.expires_at is None or lot.expires_at > now
            return (not spendable, lot.expires_at is None, lot.expires_at or now, lot.sequence)

        return sorted((lot for lot in self.lots if lot.remaining > 0), key=key)


class Harness:
    """The server in-process on its own event loop (Hypothesis drives the machine synchronously)."""

    def __init__(self, template: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.directory = tempfile.mkdtemp(prefix="pointledger-model-")
        self.database: Database
        self.client: httpx.AsyncClient
        self.credentials: Credentials
        self.run(self._start(template))

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _start(self, template: str) -> None:
        if POSTGRES_URL:
            self.database = Database(POSTGRES_URL, pool_size=5)
            tables = ", ".join(table.name for table in registered_tables().sorted_tables)
            async with self.database.write_engine.begin() as connection:
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            path = Path(self.directory) / "model.db"
            shutil.copyfile(template, path)
            self.database = Database(f"sqlite+aiosqlite:///{path}", pool_size=2)
        self.credentials = await make_org(self.database, SPEC)
        self.clock = FrozenClock(TEST_NOW)
        app = create_app(Settings(database_url=self.database.url), database=self.database, clock=self.clock)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=60
        )

    def post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        async def send() -> dict[str, Any]:
            response = await self.client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": self.credentials.header},
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert "errors" not in body, body["errors"]
            return body["data"]

        return self.run(send())

    def close(self) -> None:
        async def stop() -> None:
            await self.client.aclose()
            await self.database.dispose()

        self.run(stop())
        self.loop.close()
        shutil.rmtree(self.directory, ignore_errors=True)


_run_ids = itertools.count(1)


class LedgerMachine(RuleBasedStateMachine):
    template: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.harness = Harness(self.template)
        self.run_id = next(_run_ids)
        self.bill_numbers = itertools.count(1)
        self.lot_sequence = itertools.count(1)
        self.customers: dict[int, ModelCustomer] = {}  # slot -> the customer who registered with its identifiers
        self.bills: list[ModelBill] = []
        self.redemptions: list[ModelRedemption] = []
        self.keys = itertools.count(1)
        self.last_keyed: tuple[str, dict[str, Any], str] | None = None  # document, variables, the first result's id

    def teardown(self) -> None:
        self.harness.close()

    # --- model helpers ------------------------------------------------------------------------

    def mobile(self, slot: int) -> str:
        return f"97{self.run_id % 1000:03d}{slot:05d}"

    def email(self, slot: int) -> str:
        return f"slot{slot}-run{self.run_id}@example.com"

    def owner(self, slot: int) -> ModelCustomer:
        customer = self.customers[slot]
        while customer.merged_into is not None:
            customer = customer.merged_into
        return customer

    def owners(self) -> list[ModelCustomer]:
        return list({id(self.owner(slot)): self.owner(slot) for slot in self.customers}.values())

    def new_lot(self, customer: ModelCustomer, points: Decimal, expires_at: datetime | None) -> ModelLot:
        lot = ModelLot(next(self.lot_sequence), points, expires_at)
        customer.lots.append(lot)
        return lot

    @staticmethod
    def take(
        customer: ModelCustomer, points: Decimal, now: datetime, prefer: ModelLot | None = None
    ) -> list[tuple[ModelLot, Decimal]]:
        taken: list[tuple[ModelLot, Decimal]] = []
        left = points
        order = customer.consumption_order(now)
        if prefer is not None and prefer in order:
            order.remove(prefer)
            order.insert(0, prefer)
        for lot in order:
            if left <= 0:
                break
            share = min(left, lot.remaining)
            lot.remaining -= share
            left -= share
            taken.append((lot, share))
        assert left == 0, "the model only takes what the lots hold"
        return taken

    # --- rules ----------------------------------------------------------------------------------

    @rule(
        slot=st.integers(0, SLOTS - 1),
        amount=st.integers(1, 400).map(lambda n: Decimal(n * 10)),
        days_ago=st.sampled_from([0, 0, 10, 29, 31, 45]),
    )
    def purchase(self, slot: int, amount: Decimal, days_ago: int) -> None:
        billing_time = self.harness.clock.now() - timedelta(days=days_ago)
        data = self.add_bill(slot, amount, billing_time, {"mobile": self.mobile(slot), "email": self.email(slot)})
        customer = self.customers.get(slot)
        if customer is None:
            customer = self.customers[slot] = ModelCustomer(user_id=data["customer"]["userId"])
        owner = self.owner(slot)
        assert data["customer"]["userId"] == owner.user_id
        lot = self.earn(owner, amount, billing_time)
        self.bills.append(
            ModelBill(data["number"], billing_time, owner, lot.points_at_start if lot else Decimal(0), lot)
        )

    @precondition(lambda self: len(self.owners()) >= 2)
    @rule(data=st.data())
    def purchase_that_merges(self, data: st.DataObject) -> None:
        """A bill naming one customer's mobile and another's email merges the second into the first."""
        slots = sorted(self.customers)
        survivor_slot = data.draw(st.sampled_from(slots))
        victims = [slot for slot in slots if self.owner(slot) is not self.owner(survivor_slot)]
        victim_slot = data.draw(st.sampled_from(victims))
        survivor, victim = self.owner(survivor_slot), self.owner(victim_slot)
        now = self.harness.clock.now()
        amount = Decimal(100)
        result = self.add_bill(
            survivor_slot, amount, now, {"mobile": self.mobile(survivor_slot), "email": self.email(victim_slot)}
        )
        assert result["customer"]["userId"] == survivor.user_id
        for lot, share in self.take(victim, victim.balance, now):
            self.new_lot(survivor, share, lot.expires_at)
        victim.merged_into = survivor
        self.earn(survivor, amount, now)

    def add_bill(self, slot: int, amount: Decimal, billing_time: datetime, customer: dict[str, str]) -> dict[str, Any]:
        bill = {
            "number": f"M{next(self.bill_numbers):06d}",
            "tillCode": "till-1",
            "amount": str(amount),
            "billingTime": billing_time.isoformat(),
            "customer": customer,
        }
        result = self.harness.post(ADD_TRANSACTION, {"input": bill})["addTransaction"]
        assert result["__typename"] == "TransactionAdded", result
        return result["transaction"]

    def earn(self, customer: ModelCustomer, amount: Decimal, billing_time: datetime) -> ModelLot | None:
        points = (amount * EARN_RATE).quantize(Decimal(1), rounding=ROUND_FLOOR)
        expires_on = billing_time.date() + timedelta(days=EXPIRY_DAYS)
        if points <= 0:
            return None
        lot = self.new_lot(customer, points, datetime.combine(expires_on, time(23, 59, 59), tzinfo=UTC))
        lot.points_at_start = points
        return lot

    def lookup(self, customer: ModelCustomer) -> dict[str, str]:
        return {"type": "USER_ID", "value": customer.user_id}

    @precondition(lambda self: self.customers)
    @rule(data=st.data(), points=st.integers(1, 30).map(lambda n: Decimal(n * 5)), keyed=st.booleans())
    def redeem(self, data: st.DataObject, points: Decimal, keyed: bool) -> None:
        customer = self.owner(data.draw(st.sampled_from(sorted(self.customers))))
        now = self.harness.clock.now()
        variables = {"input": {"customer": self.lookup(customer), "points": str(points), "tillCode": "till-1"}}
        if keyed:
            variables["input"]["idempotencyKey"] = f"redeem-{self.run_id}-{next(self.keys)}"
        result = self.harness.post(REDEEM, variables)["redeemPoints"]
        if customer.spendable(now) < points:
            assert (result["__typename"], result["availablePoints"]) == (
                "InsufficientPointsError",
                str(customer.spendable(now)),
            ), result
            return
        assert result["__typename"] == "PointsRedeemed", result
        assert result["replayed"] is False, result
        self.redemptions.append(ModelRedemption(result["redemption"]["id"], customer, self.take(customer, points, now)))
        if keyed:
            self.last_keyed = (REDEEM, variables, result["redemption"]["id"])

    @precondition(lambda self: any(not r.reversed and r.customer.merged_into is None for r in self.redemptions))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        redemption = data.draw(
            st.sampled_from([r for r in self.redemptions if not r.reversed and r.customer.merged_into is None])
        )
        result = self.harness.post(REVERSE, {"input": {"redemptionId": redemption.id}})["reverseRedemption"]
        assert result["__typename"] == "RedemptionReversed", result
        assert result["redemption"]["status"] == "REVERSED", result
        for lot, share in redemption.taken:  # the same lots, with their expiry
            lot.remaining += share
        redemption.reversed = True

    @precondition(lambda self: len(self.owners()) >= 2)
    @rule(data=st.data(), points=st.integers(1, 30).map(lambda n: Decimal(n * 5)))
    def transfer(self, data: st.DataObject, points: Decimal) -> None:
        owners = sorted(self.owners(), key=lambda customer: customer.user_id)
        sender = data.draw(st.sampled_from(owners))
        receiver = data.draw(st.sampled_from([customer for customer in owners if customer is not sender]))
        now = self.harness.clock.now()
        result = self.harness.post(
            TRANSFER, {"input": {"from": self.lookup(sender), "to": self.lookup(receiver), "points": str(points)}}
        )["transferPoints"]
        if sender.spendable(now) < points:
            assert result["__typename"] == "InsufficientPointsError", result
            return
        assert result["__typename"] == "PointsTransferred", result
        for lot, share in self.take(sender, points, now):
            self.new_lot(receiver, share, lot.expires_at)

    @precondition(lambda self: any(b.customer.merged_into is None for b in self.bills))
    @rule(data=st.data())
    def full_return(self, data: st.DataObject) -> None:
        bill = data.draw(st.sampled_from([b for b in self.bills if b.customer.merged_into is None]))
        result = self.harness.post(
            RETURN,
            {
                "input": {
                    "type": "RETURN",
                    "returnType": "FULL",
                    "number": bill.number,
                    "tillCode": "till-1",
                    "purchaseTime": bill.billing_time.date().isoformat(),
                    "customer": self.identifiers_of(bill.customer),
                }
            },
        )["returnTransaction"]
        if bill.returned:
            assert (result["__typename"], result["code"]) == ("ReturnExceedsBillError", "ALREADY_FULLY_RETURNED"), (
                result
            )
            return
        assert result["__typename"] == "TransactionReturned", result
        customer = bill.customer
        recovered = min(bill.points, customer.balance)
        self.take(customer, recovered, self.harness.clock.now(), prefer=bill.lot)
        assert (Decimal(result["pointsReturned"]), Decimal(result["pointsNotRecovered"])) == (
            recovered,
            bill.points - recovered,
        )
        bill.returned = True

    def identifiers_of(self, customer: ModelCustomer) -> dict[str, str]:
        slot = next(slot for slot in sorted(self.customers) if self.owner(slot) is customer)
        return {"mobile": self.mobile(slot)}

    @rule(days=st.sampled_from([1, 7, 31]))
    def time_passes(self, days: int) -> None:
        """The server's clock moves on: lots reach their expiry date, bills become older."""
        self.harness.clock.advance(timedelta(days=days))

    @rule()
    def expire(self) -> None:
        now = self.harness.clock.now()
        self.harness.run(expire_points(self.harness.database, now, now=now))
        for customer in self.owners():
            for lot in customer.lots:
                if lot.expires_at is not None and lot.expires_at <= now:
                    lot.remaining = Decimal(0)

    @precondition(lambda self: self.last_keyed is not None)
    @rule()
    def replay_the_last_keyed_request(self) -> None:
        """The same idempotency key and request: the first result, and nothing written."""
        assert self.last_keyed is not None
        document, variables, first_id = self.last_keyed
        before = self.harness.run(table_counts(self.harness.database))
        result = self.harness.post(document, variables)["redeemPoints"]
        assert (result["__typename"], result["replayed"], result["redemption"]["id"]) == (
            "PointsRedeemed",
            True,
            first_id,
        )
        assert self.harness.run(table_counts(self.harness.database)) == before

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def balances_match_the_model(self) -> None:
        for slot in self.customers:
            found = self.harness.post(
                CUSTOMER_POINTS, {"lookup": {"type": "USER_ID", "value": self.customers[slot].user_id}}
            )
            customer = self.customers[slot]
            # loyaltyPoints are the points held now: a lot past its expiry is not, run or no run.
            held = customer.spendable(self.harness.clock.now())
            assert Decimal(found["customer"]["loyaltyPoints"]) == held, (slot, found, customer)

    @invariant()
    def the_ledger_reconciles(self) -> None:
        async def check() -> list[Any]:
            async with self.harness.database.read() as connection:
                return await reconcile(connection)

        assert self.harness.run(check()) == []


def test_random_sequences_keep_the_ledger_and_the_model_equal(migrated_template: str) -> None:
    LedgerMachine.template = migrated_template
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=int(os.environ.get("POINTLEDGER_MODEL_EXAMPLES", "12")),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
