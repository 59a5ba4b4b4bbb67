"""Ledger queries: a customer's entry pages and closing balance, and the reconciliation of every
account of the organisation (keys with the admin role: `pointledger apikey create --role admin`)."""

from __future__ import annotations

import dataclasses

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from app.cards.service import subledger_ids_for_codes
from app.customer_promotions.service import promotions_by_id
from app.graphql.core.context import Info
from app.graphql.core.pagination import (
    PAGE_SIZE_DEFAULT,
    check_page_size,
    decode_id_cursor,
    page_info_after,
)
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.ledger.inputs import LedgerFilterInput
from app.graphql.ledger.types import (
    LedgerClosingBalance,
    LedgerClosingBalanceResult,
    LedgerEntriesResult,
    LedgerEntry,
    LedgerEntryPage,
    Reconciliation,
    ReconciliationResult,
)
from app.ledger import service as ledger
from app.ledger.service import reconciliation_report


async def with_subledgers(
    connection: AsyncConnection, org_id: int, filter: LedgerFilterInput | None, view: ledger.LedgerFilter
) -> ledger.LedgerFilter:
    """The view with the subledgers the filter names (their codes read from the database)."""
    if filter is None or not filter.subledger_codes:
        return view
    subledger_ids = await subledger_ids_for_codes(connection, org_id, filter.subledger_codes, "filter.subledgerCodes")
    return dataclasses.replace(view, subledger_ids=subledger_ids)


@strawberry.type
class LedgerQuery:
    @strawberry.field(
        description="A customer's ledger entries, newest first, with keyset pagination (at most 100 a page)."
    )
    async def ledger_entries(
        self,
        info: Info,
        customer: CustomerLookupInput,
        filter: LedgerFilterInput | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> LedgerEntriesResult:
        org = info.context.org
        check_page_size(first)
        after_id = decode_id_cursor("ledger", after)
        view = (filter.to_domain(org) if filter else ledger.LedgerFilter()).with_default_window(info.context.now)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            view = await with_subledgers(connection, org.id, filter, view)
            page = await ledger.ledger_page(
                connection, org_id=org.id, customer_id=customer_id, view=view, first=first, after_id=after_id
            )
            promotions = await promotions_by_id(
                connection, [entry.customer_promotion_id for entry in page.entries if entry.customer_promotion_id]
            )
        return LedgerEntryPage(
            customer_id=strawberry.ID(str(customer_id)),
            entries=LedgerEntry.page_of(page.entries, org, promotions),
            page_info=page_info_after("ledger", [row.id for row in page.entries[-1:]], page.has_next_page),
        )

    @strawberry.field(description="The balance as of the last entry of a view; with no filter, the current balance.")
    async def ledger_closing_balance(
        self,
        info: Info,
        customer: CustomerLookupInput,
        filter: LedgerFilterInput | None = None,
    ) -> LedgerClosingBalanceResult:
        org = info.context.org
        view = filter.to_domain(org) if filter else ledger.LedgerFilter()
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            view = await with_subledgers(connection, org.id, filter, view)
            balance, last_entry_id = await ledger.closing_balance(
                connection, org_id=org.id, customer_id=customer_id, view=view
            )
        return LedgerClosingBalance(
            customer_id=strawberry.ID(str(customer_id)),
            balance=balance,
            as_of_entry_id=strawberry.ID(str(last_entry_id)) if last_entry_id else None,
        )


@strawberry.type
class ReconciliationQuery:
    @strawberry.field(
        description="Recompute every balance, counter and lot of the organisation from the ledger (admin keys only)."
    )
    async def reconciliation(self, info: Info) -> ReconciliationResult:
        async with info.context.database.read() as connection:
            report = await reconciliation_report(connection, org_id=info.context.org.id)
        return Reconciliation.from_report(report, info.context.org)
