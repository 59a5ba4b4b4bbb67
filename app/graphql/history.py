"""Member care: the customer history query (profile and identifier changes, merges)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.customers.history import HistoryRecord, history_page
from app.customers.models import HistoryAction
from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, PageInfo, check_page_size, decode_id_cursor, encode_id_cursor
from app.graphql.customers import CustomerLookupInput, IdentifierTypeEnum, customer_id_for

HistoryActionEnum = strawberry.enum(
    HistoryAction,
    name="CustomerHistoryAction",
    description=(
        "REGISTERED, DETAILS_UPDATED, IDENTIFIER_ADDED (the seed's Add), COMBINE (another customer's identifiers and "
        "points moved here), MERGED_INTO (this customer was merged into another), SECONDARY_IDENTIFIER_SKIPPED."
    ),
)


@strawberry.type(description="One change to a customer's profile or identifiers.")
class CustomerHistoryRecord:
    id: strawberry.ID
    action: HistoryActionEnum
    identifier_type: IdentifierTypeEnum | None
    identifier_value: str | None
    other_user_id: strawberry.ID | None = strawberry.field(
        description="The other customer of a COMBINE or MERGED_INTO."
    )
    details: JSON | None
    created_at: datetime

    @classmethod
    def from_record(cls, record: HistoryRecord) -> CustomerHistoryRecord:
        return cls(
            id=strawberry.ID(str(record.id)),
            action=HistoryAction(record.action),
            identifier_type=record.identifier_type,
            identifier_value=record.identifier_value,
            other_user_id=strawberry.ID(str(record.other_customer_id)) if record.other_customer_id else None,
            details=record.details,
            created_at=record.created_at,
        )


@strawberry.type
class CustomerHistoryPage:
    customer_id: strawberry.ID
    records: list[CustomerHistoryRecord]
    page_info: PageInfo


CustomerHistoryResult = Annotated[
    CustomerHistoryPage | InvalidInputError | NotFoundError, strawberry.union("CustomerHistoryResult")
]


@strawberry.type
class HistoryQuery:
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
            page_info=PageInfo(
                has_next_page=has_next_page, end_cursor=encode_id_cursor("history", records[-1].id) if records else None
            ),
        )
