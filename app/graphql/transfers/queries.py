"""Transfer queries: member care's list of the points and alternate currency units a customer
transferred and received."""

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
from app.graphql.transfers.inputs import PointsTransferFilterInput
from app.graphql.transfers.types import CustomerPointsTransfersResult, PointsTransferPage, PointsTransferRecord
from app.ledger.views import TransferCategories
from app.transfers.service import customer_transfers

# A position in the list: a ledger event id, the same for points and currency transfers. Cursors
# made before currency transfers were listed held a points transfer's id: they are refused.
TRANSFER_CURSOR = "transferEvent"


@strawberry.type
class TransferQuery:
    @strawberry.field(
        description=(
            "Points and alternate currency units a customer transferred and received, newest first (by ledger event), "
            "with keyset pagination (member care)."
        )
    )
    async def customer_points_transfers(
        self,
        info: Info,
        customer: CustomerLookupInput,
        filter: PointsTransferFilterInput | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> CustomerPointsTransfersResult:
        check_page_size(first)
        shown = filter.to_domain(info.context.org) if filter is not None else TransferCategories()
        after_event_id = decode_id_cursor(TRANSFER_CURSOR, after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views, has_next_page = await customer_transfers(
                connection,
                org_id=info.context.org.id,
                customer_id=customer_id,
                first=first,
                after_event_id=after_event_id,
                shown=shown,
            )
        return PointsTransferPage(
            customer_id=strawberry.ID(str(customer_id)),
            records=[PointsTransferRecord.from_view(view, customer_id, info.context.org) for view in views],
            page_info=page_info_after(TRANSFER_CURSOR, [view.event_id for view in views[-1:]], has_next_page),
        )
