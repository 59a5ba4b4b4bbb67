"""Customer queries: a customer by any identifier, and member care's history of a profile."""

from __future__ import annotations

import strawberry

from app.customer_search.service import search_customers
from app.customers.history import history_page, identifier_history_page
from app.customers.models import HistoryAction
from app.customers.service import load_customers
from app.graphql.core.context import Info
from app.graphql.core.pagination import (
    PAGE_SIZE_DEFAULT,
    check_page_size,
    decode_id_cursor,
    page_info_after,
)
from app.graphql.customers.inputs import CustomerLookupInput, CustomerSearchInput, customer_id_for
from app.graphql.customers.types import (
    Customer,
    CustomerHistoryPage,
    CustomerHistoryRecord,
    CustomerHistoryResult,
    CustomerResult,
    CustomerSearchPage,
    CustomerSearchResult,
    HistoryActionEnum,
    IdentifierChange,
    IdentifierHistoryPage,
    IdentifierHistoryResult,
)


@strawberry.type
class CustomerQuery:
    @strawberry.field(description="A customer of the caller's organisation, by any identifier or user id.")
    async def customer(self, info: Info, lookup: CustomerLookupInput) -> CustomerResult:
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, lookup, field="lookup")
            view = (await load_customers(connection, info.context.org, [customer_id], now=info.context.now))[
                customer_id
            ]
        info.context.customers.prime(customer_id, view)  # the bills' `customer` fields reuse it
        return Customer.from_view(view)


@strawberry.type
class CustomerHistoryQuery:
    @strawberry.field(description="A customer's profile and identifier change history, newest first (member care).")
    async def customer_history(
        self,
        info: Info,
        customer: CustomerLookupInput,
        actions: list[HistoryActionEnum] | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerHistoryResult:
        check_page_size(first)
        after_id = decode_id_cursor("history", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            records, has_next_page = await history_page(
                connection,
                org_id=info.context.org.id,
                customer_id=customer_id,
                actions=[HistoryAction(action) for action in actions or []],
                first=first,
                after_id=after_id,
            )
        return CustomerHistoryPage(
            customer_id=strawberry.ID(str(customer_id)),
            records=[CustomerHistoryRecord.from_record(record) for record in records],
            page_info=page_info_after("history", [row.id for row in records[-1:]], has_next_page),
        )


@strawberry.type
class IdentifierHistoryQuery:
    @strawberry.field(
        description=(
            "The seed's Change Identifier History, newest first: what change identifier and merge requests did (with "
            "source and account), not the merges a purchase made by naming another customer's identifier."
        )
    )
    async def identifier_history(
        self, info: Info, customer: CustomerLookupInput, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> IdentifierHistoryResult:
        check_page_size(first)
        after_id = decode_id_cursor("identifier-history", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            records, has_next_page = await identifier_history_page(
                connection, org_id=info.context.org.id, customer_id=customer_id, first=first, after_id=after_id
            )
        return IdentifierHistoryPage(
            customer_id=strawberry.ID(str(customer_id)),
            records=[IdentifierChange.from_record(record) for record in records],
            page_info=page_info_after("identifier-history", [row.id for row in records[-1:]], has_next_page),
        )


@strawberry.type
class CustomerSearchQuery:
    @strawberry.field(
        description=(
            "Member care's customer search: the organisation's customers matching every criterion given, by user id "
            "(merged-away customers and user group accounts are not listed)."
        )
    )
    async def customers(
        self, info: Info, search: CustomerSearchInput, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> CustomerSearchResult:
        check_page_size(first)
        after_id = decode_id_cursor("customer", after)
        async with info.context.database.read() as connection:
            page = await search_customers(
                connection, info.context.org, search.to_domain(), first=first, after_id=after_id, now=info.context.now
            )
        for view in page.customers:
            info.context.customers.prime(view.id, view)
        return CustomerSearchPage(
            customers=[Customer.from_view(view) for view in page.customers],
            page_info=page_info_after("customer", [row.id for row in page.customers[-1:]], page.has_next_page),
        )
