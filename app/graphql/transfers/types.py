"""Output types of points transfers: a transfer, its payload, and member care's records of a customer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo
from app.graphql.customers.types import Customer
from app.organizations.config import OrgConfig
from app.transfers.service import TransferResult, TransferView


async def _customer(info: Info, customer_id: int | None) -> Customer | None:
    if customer_id is None:
        return None
    view = await info.context.customers.load(customer_id)
    return Customer.from_view(view) if view is not None else None


@strawberry.type(description="A transfer of points from one customer to another (one POINTS_TRANSFER ledger event).")
class PointTransfer:
    id: strawberry.ID = strawberry.field(description="The transfer id.")
    from_user_id: strawberry.ID
    to_user_id: strawberry.ID
    program_code: str
    program_name: str
    points: Decimal
    notes: str | None
    event_log_id: strawberry.ID = strawberry.field(description="The ledger event of the transfer.")
    created_at: datetime

    @classmethod
    def from_view(cls, view: TransferView, org: OrgConfig) -> PointTransfer:
        program = org.program(view.program_id)
        return cls(
            id=strawberry.ID(str(view.id)),
            from_user_id=strawberry.ID(str(view.from_customer_id)),
            to_user_id=strawberry.ID(str(view.to_customer_id)),
            program_code=program.code,
            program_name=program.name,
            points=view.points,
            notes=view.notes,
            event_log_id=strawberry.ID(str(view.event_id)),
            created_at=view.created_at,
        )

    @strawberry.field(name="from", description="The sender.")
    async def from_customer(self, info: Info) -> Customer | None:
        return await _customer(info, int(self.from_user_id))

    @strawberry.field(description="The receiver.")
    async def to(self, info: Info) -> Customer | None:
        return await _customer(info, int(self.to_user_id))


@strawberry.type(description="The points moved (or, sent again with the same idempotency key, had moved).")
class PointsTransferred:
    transfer: PointTransfer
    from_balance_after: Decimal = strawberry.field(
        description="The sender's balance in the program right after the transfer."
    )
    to_balance_after: Decimal = strawberry.field(
        description="The receiver's balance in the program right after the transfer."
    )
    replayed: bool = strawberry.field(
        description="True when this is the first result of an earlier request: nothing was written."
    )

    @classmethod
    def from_result(cls, result: TransferResult, org: OrgConfig) -> PointsTransferred:
        return cls(
            transfer=PointTransfer.from_view(result.transfer, org),
            from_balance_after=result.from_balance_after,
            to_balance_after=result.to_balance_after,
            replayed=result.replayed,
        )


@strawberry.enum(description="DEDUCTION: the customer sent the points; ADDITION: the customer received them.")
class PointsTransferType(Enum):
    DEDUCTION = "DEDUCTION"
    ADDITION = "ADDITION"


@strawberry.type(
    description=(
        "One line of member care's Points Transfer tab (seed 004): a points transfer (transferPoints) or an alternate "
        "currency transfer (transferAlternateCurrency)."
    )
)
class PointsTransferRecord:
    transfer_type: PointsTransferType
    transfer_id: strawberry.ID = strawberry.field(
        description="A points transfer's id; an alternate currency transfer's is its ledger event's (its eventLogId)."
    )
    from_user_id: strawberry.ID | None = strawberry.field(description="Empty for a DEDUCTION (the customer sent it).")
    to_user_id: strawberry.ID | None = strawberry.field(description="Empty for an ADDITION (the customer received it).")
    program_code: str
    program_name: str
    points: Decimal = strawberry.field(description="Points, or units of the transfer's alternate currency.")
    notes: str | None = strawberry.field(description="A points transfer's notes; empty on a currency transfer.")
    created_at: datetime
    alternate_currency: str | None = strawberry.field(
        description="The identifier of the alternate currency moved; empty for points."
    )
    event_log_id: strawberry.ID = strawberry.field(
        description="The transfer's ledger event: the list's order, newest first, is by it."
    )

    @classmethod
    def from_view(cls, view: TransferView, customer_id: int, org: OrgConfig) -> PointsTransferRecord:
        program = org.program(view.program_id)
        sent = view.from_customer_id == customer_id
        return cls(
            transfer_type=PointsTransferType.DEDUCTION if sent else PointsTransferType.ADDITION,
            transfer_id=strawberry.ID(str(view.id)),
            from_user_id=None if sent else strawberry.ID(str(view.from_customer_id)),
            to_user_id=strawberry.ID(str(view.to_customer_id)) if sent else None,
            program_code=program.code,
            program_name=program.name,
            points=view.points,
            notes=view.notes,
            created_at=view.created_at,
            alternate_currency=view.alternate_currency,
            event_log_id=strawberry.ID(str(view.event_id)),
        )

    @strawberry.field(name="from", description="Who sent the points or units; empty for a DEDUCTION.")
    async def from_customer(self, info: Info) -> Customer | None:
        return await _customer(info, int(self.from_user_id) if self.from_user_id else None)

    @strawberry.field(description="Who received the points or units; empty for an ADDITION.")
    async def to(self, info: Info) -> Customer | None:
        return await _customer(info, int(self.to_user_id) if self.to_user_id else None)


@strawberry.type
class PointsTransferPage:
    customer_id: strawberry.ID
    records: list[PointsTransferRecord]
    page_info: PageInfo


CustomerPointsTransfersResult = Annotated[
    PointsTransferPage | NotFoundError | InvalidInputError, strawberry.union("CustomerPointsTransfersResult")
]
