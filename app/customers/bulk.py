"""Registering many customers at once (bulk imports): what `service.register_customer` does for
one customer, for a whole batch with a fixed number of statements.

Each customer gets the same things as a registration by purchase: the customer row, its
identifier, a REGISTERED history row, a standing (lowest tier) in every program, and its
accounts (every program x points category) opened by one CUSTOMER_REGISTRATION event with a
zero-value opening-balance entry per account. The caller holds the identifiers' locks
(`service.identifier_lock_keys`) and has checked that none of them is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.models import Customer, CustomerHistory, CustomerIdentifier, CustomerProgram, HistoryAction, LoyaltyType
from app.bulk_insert import insert_rows
from app.enums import IdentifierType
from app.id_blocks import reserve_ids
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import OrgConfig, ProgramConfig

customers = Customer.__table__
identifiers = CustomerIdentifier.__table__
history = CustomerHistory.__table__
customer_programs = CustomerProgram.__table__

ZERO = Decimal(0)



async def register_customers(connection: AsyncConnection, org: OrgConfig, kind: IdentifierType, values: Sequence[str],
                             now: datetime, *, source: str = "", details: dict[str, Any] | None = None,
                             programs: Sequence[ProgramConfig] | None = None) -> dict[str, int]:
    """Register one customer per value (already normalised, distinct, unowned); returns their ids by value.

    `details` is added to each REGISTERED history row (e.g. the import job that registered them).
    `programs` (all the org's by default): where they get a standing and accounts now; the others
    open on first use (`service.open_missing_programs`), as for a program added after registration.
    """
    programs = tuple(programs) if programs is not None else org.programs
    if not values:
        return {}
    assert len(set(values)) == len(values), "one customer per identifier"
    customer_ids = await reserve_ids(connection, customers, len(values))
    await insert_rows(connection, customers, [
        {"id": customer_id, "org_id": org.id, "first_name": "", "last_name": "", "loyalty_type": LoyaltyType.LOYALTY.value, "source": source,
         "lifetime_purchases": ZERO, "registered_on": now, "updated_on": now}
        for customer_id in customer_ids
    ])
    await insert_rows(connection, identifiers, [
        {"org_id": org.id, "customer_id": customer_id, "type": kind.value, "value": value, "created_at": now}
        for customer_id, value in zip(customer_ids, values, strict=True)
    ])
    await connection.execute(insert(history), [
        {"org_id": org.id, "customer_id": customer_id, "created_at": now, "action": HistoryAction.REGISTERED.value,
         "identifier_type": None, "identifier_value": None, "other_customer_id": None, "transaction_id": None,
         "details": {kind.value: value, **(details or {})}}
        for customer_id, value in zip(customer_ids, values, strict=True)
    ])
    await insert_rows(connection, customer_programs, [
        {"org_id": org.id, "customer_id": customer_id, "program_id": program.id, "tier_id": program.tiers[0].id,
         "tier_expires_at": None, "cumulative_purchases": ZERO}
        for customer_id in customer_ids for program in programs
    ])
    account_rows = [
        {"org_id": org.id, "customer_id": customer_id, "program_id": program.id, "category": category.value,
         "balance": ZERO, "earned": ZERO, "redeemed": ZERO, "expired": ZERO, "returned": ZERO, "adjusted": ZERO,
         "created_at": now}
        for customer_id in customer_ids for program in programs for category in org.points_categories
    ]
    account_ids = await reserve_ids(connection, ledger.accounts, len(account_rows))
    await insert_rows(connection, ledger.accounts, [
        {"id": account_id, **row} for account_id, row in zip(account_ids, account_rows, strict=True)])
    event_ids = await reserve_ids(connection, ledger.events, len(customer_ids))
    await insert_rows(connection, ledger.events, [
        {"id": event_id, "org_id": org.id, "event_type": EventType.CUSTOMER_REGISTRATION.value, "customer_id": customer_id,
         "source": source or None, "store_id": None, "till_id": None, "transaction_id": None, "transaction_number": None,
         "corrects_event_id": None, "points_on_event": ZERO, "created_at": now}
        for customer_id, event_id in zip(customer_ids, event_ids, strict=True)
    ])
    event_by_customer = dict(zip(customer_ids, event_ids, strict=True))
    # The accounts were opened at zero here: each opening entry's balance after is zero.
    await insert_rows(connection, ledger.entries, [
        {"org_id": org.id, "event_id": event_by_customer[row["customer_id"]], "account_id": account_id,
         "customer_id": row["customer_id"], "program_id": row["program_id"], "category": row["category"],
         "event_type": EventType.CUSTOMER_REGISTRATION.value, "source": source or None, "store_id": None, "till_id": None,
         "entry_type": EntryType.CREDIT.value, "entry_kind": EntryKind.OPENING_BALANCE.value, "points": ZERO,
         "balance_after": ZERO, "corrects_entry_id": None, "created_at": now}
        for row, account_id in zip(account_rows, account_ids, strict=True)
    ])
    return dict(zip(values, customer_ids, strict=True))
