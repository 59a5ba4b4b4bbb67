"""Transfer queries: member care's list of the points a customer transferred and received."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.pagination import (
    PAGE_SIZE_DEFAULT,
    check_page_size,
    decode_id_cursor,
    page_info_after,
)
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.transfers.types import CustomerPointsTransfersResult, PointsTransferPage, PointsTransferRecord
from app.transfers.service import customer_transfers


@strawberry.type
class TransferQuery:
    @strawberry.field(description="Points a customer transferred and received, newest first (member care).")
    async def customer_points_transfers(
        self,
        info: Info,
        customer: CustomerLookupInput,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerPointsTransfersResult:
        check_page_size(first)
        after_id = decode_id_cursor("transfer", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views, has_next_page = await customer_transfers(
                connection, org_id=info.context.org.id, customer_id=customer_id, first=first, after_id=after_id
            )
        return PointsTransferPage(
            customer_id=strawberry.ID(str(customer_id)),
            records=[PointsTransferRecord.from_view(view, customer_id, info.context.org) for view in views],
            page_info=page_info_after("transfer", [row.id for row in views[-1:]], has_next_page),
        )
