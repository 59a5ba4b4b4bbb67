"""Per-request context: the caller's organisation, the database, and the request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from app.auth import is_admin_caller
from app.customers.service import CustomerView, load_customers
from app.db import Database
from app.organizations.config import OrgConfig
from app.transactions.service import line_items_by_transaction


@dataclass
class Context:
    database: Database
    org: OrgConfig
    request: Any = None
    response: Any = None
    customers: DataLoader[int, CustomerView | None] = field(init=False)
    line_items: DataLoader[int, list[Any]] = field(init=False)
    is_admin: bool = field(init=False)  # an admin API key: organisation-wide checks allowed

    def __post_init__(self) -> None:
        self.is_admin = self.request is not None and is_admin_caller(self.request.scope)
        # Loaders batch a list's per-row lookups into one query, and live only for this request.
        self.customers = DataLoader(load_fn=self._load_customers)
        self.line_items = DataLoader(load_fn=self._load_line_items)

    async def _load_customers(self, ids: list[int]) -> list[CustomerView | None]:
        async with self.database.read() as connection:
            found = await load_customers(connection, self.org, ids)
        return [found.get(customer_id) for customer_id in ids]

    async def _load_line_items(self, ids: list[int]) -> list[list[Any]]:
        async with self.database.read() as connection:
            grouped = await line_items_by_transaction(connection, ids)
        return [grouped.get(transaction_id, []) for transaction_id in ids]


Info = StrawberryInfo[Context, None]
