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

from app.customers.models import (
    Customer,
    CustomerHistory,
    CustomerIdentifier,
    CustomerProgram,
    HistoryAction,
    LoyaltyType,
)
from app.kernel.enums import IdentifierType
from app.ledger import service as ledger
from app.organizations.config import OrgConfig, ProgramConfig
from app.storage.bulk_insert import insert_rows
from app.storage.id_blocks import reserve_ids

customers = Customer.__table__
identifiers = CustomerIdentifier.__table__
history = CustomerHistory.__table__
customer_programs = CustomerProgram.__table__

ZERO = Decimal(0)


async def register_customers(
    connection: AsyncConnection,
    org: OrgConfig,
    kind: IdentifierType,
    values: Sequence[str],
    now: datetime,
    *,
    source: str = "",
    details: dict[str, Any] | None = None,
    programs: Sequence[ProgramConfig] | None = None,
) -> dict[str, int]:
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
    loyalty = LoyaltyType.LOYALTY.value
    await insert_rows(
        connection,
        customers,
        (
            "id",
            "org_id",
            "first_name",
            "last_name",
            "loyalty_type",
            "source",
            "lifetime_purchases",
            "registered_on",
            "updated_on",
        ),
        [(customer_id, org.id, "", "", loyalty, source, ZERO, now, now) for customer_id in customer_ids],
    )
    await insert_rows(
        connection,
        identifiers,
        ("org_id", "customer_id", "type", "value", "created_at"),
        [
            (org.id, customer_id, kind.value, value, now)
            for customer_id, value in zip(customer_ids, values, strict=True)
        ],
    )
    await connection.execute(
        insert(history),
        [
            {
                "org_id": org.id,
                "customer_id": customer_id,
                "created_at": now,
                "action": HistoryAction.REGISTERED.value,
                "identifier_type": None,
                "identifier_value": None,
                "other_customer_id": None,
                "transaction_id": None,
                "details": {kind.value: value, **(details or {})},
            }
            for customer_id, value in zip(customer_ids, values, strict=True)
        ],
    )
    await insert_rows(
        connection,
        customer_programs,
        ("org_id", "customer_id", "program_id", "tier_id", "tier_expires_at", "cumulative_purchases"),
        [
            (org.id, customer_id, program.id, program.tiers[0].id, None, ZERO)
            for customer_id in customer_ids
            for program in programs
        ],
    )
    await ledger.open_accounts_in_bulk(
        connection,
        org_id=org.id,
        customer_ids=customer_ids,
        program_ids=[program.id for program in programs],
        categories=org.points_categories,
        source=source or None,
        now=now,
    )
    return dict(zip(values, customer_ids, strict=True))
