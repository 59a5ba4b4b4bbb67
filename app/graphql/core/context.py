"""Per-request context: the caller's organisation, the database, and the request's loaders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from app.cards.service import CardView, cards_of_customers, subledger_codes
from app.currencies import service as currencies_service
from app.customers.service import CustomerView, load_customers
from app.graphql.core.limits import QueryLimits
from app.graphql.core.rate_limits import RequestRateLimits
from app.graphql.core.time_limit import QueryDeadline
from app.kernel.clock import Clock
from app.kernel.settings import Settings
from app.ledger import expiry
from app.ledger import service as ledger
from app.ledger.views import ConsumedLot, SubledgerHoldings
from app.organizations.config import OrgConfig
from app.organizations.roles import Role
from app.referrals.service import ReferralView, codes_given, referrals_of
from app.storage.database import RequestDatabase
from app.transactions.models import TransactionType
from app.transactions.service import TransactionPage, bill_numbers, customers_transactions, line_items_by_transaction


@dataclass
class Context:
    database: RequestDatabase  # one read snapshot for the whole request
    org: OrgConfig  # the caller's organisation
    clock: Clock
    settings: Settings
    start_import: Callable[[int], None]  # queues a submitted import job on the server's runner
    roles: frozenset[Role]  # the API key's roles: each root field checks them (core/permissions.py)
    rate_limits: RequestRateLimits  # each root field counts against them (core/rate_limits.py)
    query_limits: QueryLimits  # what a document of this key may ask (core/limits.py)
    # Held by the HTTP layer around the operation; a query arms it (app/graphql/core/time_limit.py).
    deadline: QueryDeadline | None = None
    # What the request's metrics are labelled with: the operation that ran (set when execution
    # starts) and the codes of the typed errors answered, in order (batch items included).
    operation_name: str | None = None
    error_codes: list[str] = field(default_factory=list)
    customers: DataLoader[int, CustomerView | None] = field(init=False)
    line_items: DataLoader[int, list[Any]] = field(init=False)
    bill_numbers: DataLoader[int, str] = field(init=False)  # by transaction id
    # Pending, promised, trigger-based and spendable points by customer, then program.
    holdings: DataLoader[int, dict[int, expiry.ProgramHoldings]] = field(init=False)
    expiry_schedules: DataLoader[tuple[int, int], list[expiry.ScheduledExpiry]] = field(init=False)  # (customer, first)
    # (customer, first, after entry id): a page of expired points
    expired_points: DataLoader[tuple[int, int, int | None], expiry.ExpiredPointsPage] = field(init=False)
    cards: DataLoader[int, list[CardView]] = field(init=False)  # by customer id
    # (customer, first, after transaction id, types): a page of the customer's bills
    transactions: DataLoader[tuple[int, int, int | None, tuple[TransactionType, ...]], TransactionPage] = field(
        init=False
    )
    # Per customer, program id -> what each subledger holds: (code, holdings), by subledger id.
    subledgers: DataLoader[int, dict[int, list[tuple[str, SubledgerHoldings]]]] = field(init=False)
    # Per ledger entry id, the lots it consumed (the lot trace) with their subledgers' codes.
    consumed_lots: DataLoader[int, list[tuple[ConsumedLot, str | None]]] = field(init=False)
    # Per customer, the alternate currency accounts (app.currencies), by program then currency.
    alternate_currencies: DataLoader[int, list[currencies_service.CurrencyBalance]] = field(init=False)
    referrals: DataLoader[int, ReferralView | None] = field(init=False)  # a customer's code and referrer
    now: datetime = field(init=False)  # the request's one reading of the clock: every resolver uses it

    def __post_init__(self) -> None:
        self.now = self.clock.now()
        # Loaders batch a list's per-row lookups into one query, and live only for this request.
        self.customers = DataLoader(load_fn=self._load_customers)
        self.line_items = DataLoader(load_fn=self._load_line_items)
        self.bill_numbers = DataLoader(load_fn=self._load_bill_numbers)
        self.holdings = DataLoader(load_fn=self._load_holdings)
        self.expiry_schedules = DataLoader(load_fn=self._load_expiry_schedules)
        self.expired_points = DataLoader(load_fn=self._load_expired_points)
        self.cards = DataLoader(load_fn=self._load_cards)
        self.transactions = DataLoader(load_fn=self._load_transactions)
        self.subledgers = DataLoader(load_fn=self._load_subledgers)
        self.consumed_lots = DataLoader(load_fn=self._load_consumed_lots)
        self.alternate_currencies = DataLoader(load_fn=self._load_alternate_currencies)
        self.referrals = DataLoader(load_fn=self._load_referrals)
        self.database.after_write.append(self._forget_loaded)

    def _forget_loaded(self) -> None:
        """After a write of this request (one mutation of several), what the loaders hold is old."""
        for loader in (
            self.customers,
            self.line_items,
            self.bill_numbers,
            self.holdings,
            self.expiry_schedules,
            self.expired_points,
            self.cards,
            self.transactions,
            self.subledgers,
            self.consumed_lots,
            self.alternate_currencies,
            self.referrals,
        ):
            loader.clear_all()

    async def _load_alternate_currencies(self, ids: list[int]) -> list[list[currencies_service.CurrencyBalance]]:
        async with self.database.read() as connection:
            found = await currencies_service.balances(connection, self.org, ids, self.now)
        return [found.get(customer_id, []) for customer_id in ids]

    async def _load_cards(self, ids: list[int]) -> list[list[CardView]]:
        async with self.database.read() as connection:
            found = await cards_of_customers(connection, self.org, ids)
        return [found.get(customer_id, []) for customer_id in ids]

    async def _load_transactions(
        self, keys: list[tuple[int, int, int | None, tuple[TransactionType, ...]]]
    ) -> list[TransactionPage]:
        # One query per page asked for (page size, cursor, types; one in practice for a list).
        customers_by_page: dict[tuple[int, int | None, tuple[TransactionType, ...]], list[int]] = defaultdict(list)
        for customer_id, first, after_id, types in keys:
            customers_by_page[(first, after_id, types)].append(customer_id)
        found: dict[tuple[int, int, int | None, tuple[TransactionType, ...]], TransactionPage] = {}
        async with self.database.read() as connection:
            for (first, after_id, types), customer_ids in customers_by_page.items():
                pages = await customers_transactions(connection, self.org.id, customer_ids, first, after_id, types)
                for customer_id in customer_ids:
                    found[(customer_id, first, after_id, types)] = pages[customer_id]
        return [found[key] for key in keys]

    async def _load_referrals(self, ids: list[int]) -> list[ReferralView | None]:
        """The customers' codes; those without one (imported in bulk, or registered before
        referrals existed) get theirs now, in one write for all of them."""
        async with self.database.read() as connection:
            found = await referrals_of(connection, self.org.id, ids)
        missing = [customer_id for customer_id in ids if customer_id not in found]
        if missing:
            found.update(
                await self.database.run_write(
                    lambda connection: codes_given(connection, org_id=self.org.id, customer_ids=missing, now=self.now)
                )
            )
        return [found.get(customer_id) for customer_id in ids]

    async def _load_customers(self, ids: list[int]) -> list[CustomerView | None]:
        async with self.database.read() as connection:
            found = await load_customers(connection, self.org, ids, now=self.now)
        return [found.get(customer_id) for customer_id in ids]

    async def _load_line_items(self, ids: list[int]) -> list[list[Any]]:
        async with self.database.read() as connection:
            grouped = await line_items_by_transaction(connection, ids)
        return [grouped.get(transaction_id, []) for transaction_id in ids]

    async def _load_bill_numbers(self, ids: list[int]) -> list[str]:
        async with self.database.read() as connection:
            found = await bill_numbers(connection, ids)
        return [found[transaction_id] for transaction_id in ids]

    async def _load_holdings(self, ids: list[int]) -> list[dict[int, expiry.ProgramHoldings]]:
        async with self.database.read() as connection:
            found = await expiry.holdings(connection, self.org.id, ids, self.now)
        return [found.get(customer_id, {}) for customer_id in ids]

    async def _load_expiry_schedules(self, keys: list[tuple[int, int]]) -> list[list[expiry.ScheduledExpiry]]:
        # One query per page size asked for (one in practice), whatever the number of customers.
        customers_by_first: dict[int, list[int]] = defaultdict(list)
        for customer_id, first in keys:
            customers_by_first[first].append(customer_id)
        found: dict[tuple[int, int], list[expiry.ScheduledExpiry]] = {}
        async with self.database.read() as connection:
            for first, customer_ids in customers_by_first.items():
                schedules = await expiry.expiry_schedules(connection, customer_ids, self.now, self.org.time_zone, first)
                found.update({(customer_id, first): schedules.get(customer_id, []) for customer_id in customer_ids})
        return [found[key] for key in keys]

    async def _load_expired_points(self, keys: list[tuple[int, int, int | None]]) -> list[expiry.ExpiredPointsPage]:
        customers_by_page: dict[tuple[int, int | None], list[int]] = defaultdict(list)
        for customer_id, first, after_id in keys:
            customers_by_page[(first, after_id)].append(customer_id)
        found: dict[tuple[int, int, int | None], expiry.ExpiredPointsPage] = {}
        async with self.database.read() as connection:
            for (first, after_id), customer_ids in customers_by_page.items():
                pages = await expiry.expired_points(connection, customer_ids, first, after_id)
                found.update({(customer_id, first, after_id): pages[customer_id] for customer_id in customer_ids})
        return [found[key] for key in keys]

    async def _load_subledgers(self, ids: list[int]) -> list[dict[int, list[tuple[str, SubledgerHoldings]]]]:
        # Two queries for any number of customers: the holdings, then their subledgers' codes.
        async with self.database.read() as connection:
            found = await ledger.subledger_holdings(connection, org_id=self.org.id, customer_ids=ids, now=self.now)
            codes = await subledger_codes(
                connection, self.org.id, [item.subledger_id for items in found.values() for item in items]
            )
        by_customer: dict[int, dict[int, list[tuple[str, SubledgerHoldings]]]] = defaultdict(lambda: defaultdict(list))
        for customer_id, items in found.items():
            for item in items:
                by_customer[customer_id][item.program_id].append((codes[item.subledger_id], item))
        return [by_customer.get(customer_id, {}) for customer_id in ids]

    async def _load_consumed_lots(self, ids: list[int]) -> list[list[tuple[ConsumedLot, str | None]]]:
        # Two queries for a whole page of entries: the movements with their lots, then the codes.
        async with self.database.read() as connection:
            found = await ledger.consumed_lots(connection, self.org.id, ids)
            codes = await subledger_codes(
                connection, self.org.id, [lot.subledger_id for lot in found if lot.subledger_id is not None]
            )
        by_entry: dict[int, list[tuple[ConsumedLot, str | None]]] = defaultdict(list)
        for lot in found:
            by_entry[lot.entry_id].append((lot, codes[lot.subledger_id] if lot.subledger_id is not None else None))
        return [by_entry.get(entry_id, []) for entry_id in ids]


Info = StrawberryInfo[Context, None]
