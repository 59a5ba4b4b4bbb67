"""Registering many customers at once (bulk imports): what `service.register_customer` does for
one customer, for a whole batch with a fixed number of statements.

Each customer gets the same things as a registration by purchase: the customer row, its
identifier, a REGISTERED history row, a standing (lowest tier) in every program, and its
accounts (every program x points category) opened by one CUSTOMER_REGISTRATION event with a
zero-value opening-balance entry per account. The caller holds the identifiers' locks
(`service.identifier_lock_keys`) and has checked that none of them is taken. The rows are
written by `repository.insert_registrations_in_bulk` and `ledger.open_accounts_in_bulk`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import repository
from app.kernel.enums import IdentifierType
from app.ledger import service as ledger
from app.organizations.config import OrgConfig, ProgramConfig


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
    names: Sequence[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Register one customer per value (already normalised, distinct, unowned); returns their ids by value.

    `details` is added to each REGISTERED history row (e.g. the import job that registered them).
    `programs` (all the org's by default): where they get a standing and accounts now; the others
    open on first use (`service.open_missing_programs`), as for a program added after registration.
    `names`: (first name, last name) per value, in the order of `values` (none: blank names).
    """
    programs = tuple(programs) if programs is not None else org.programs
    if not values:
        return {}
    assert len(set(values)) == len(values), "one customer per identifier"
    customer_ids = await repository.insert_registrations_in_bulk(
        connection,
        org_id=org.id,
        kind=kind,
        values=values,
        source=source,
        details=details,
        tier_ids={program.id: program.tiers[0].id for program in programs},
        now=now,
        names=names,
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
