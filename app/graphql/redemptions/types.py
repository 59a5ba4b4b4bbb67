"""Output types of points redemptions: a redemption with its breakup by program and lot, its reversals,
and the payloads of redeeming, validating and reversing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeAlias

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InsufficientPointsError,
    InvalidInputError,
    NotFoundError,
)
from app.graphql.core.pagination import PageInfo
from app.graphql.transactions.types import TransactionSourceEnum
from app.kernel.enums import TransactionSource
from app.organizations.config import OrgConfig
from app.redemptions.models import RedemptionStatus
from app.redemptions.service import LotPoints, RedemptionView, ReversalView, ValidationResult

strawberry.enum(
    RedemptionStatus, name="RedemptionStatus"
)  # registers the domain enum itself: the class is the schema's enum
RedemptionStatusEnum: TypeAlias = RedemptionStatus


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(
    description="Points of one lot: taken by a redemption, or given back by a reversal (with the lot's own dates)."
)
class RedemptionLot:
    program_code: str
    points: Decimal
    active_from: datetime
    expires_at: datetime | None = strawberry.field(description="Empty: the points never expire.")
    earn_entry_id: strawberry.ID = strawberry.field(
        description=(
            "The lot trace: the ledger entry (a credit) that made the lot; for points given back in a new lot, the "
            "reversal's own entry."
        )
    )

    @classmethod
    def from_view(cls, lot: LotPoints, org: OrgConfig) -> RedemptionLot:
        return cls(
            program_code=org.program(lot.program_id).code,
            points=lot.points,
            active_from=lot.active_from,
            expires_at=lot.expires_at,
            earn_entry_id=strawberry.ID(str(lot.earn_entry_id)),
        )


@strawberry.type(description="What a redemption took from one program, and that program's balance right after.")
class RedemptionProgramShare:
    program_code: str
    points: Decimal
    balance_after: Decimal


@strawberry.type(description="Points of a redemption given back, by reverseRedemption or by the return of its bill.")
class RedemptionReversal:
    id: strawberry.ID
    points: Decimal
    notes: str | None
    return_transaction_id: strawberry.ID | None = strawberry.field(
        description="The return that reversed it, if one did."
    )
    event_log_id: strawberry.ID
    created_at: datetime
    lots_restored: list[RedemptionLot] = strawberry.field(
        description="The lots the points went back into, with their original expiry."
    )

    @classmethod
    def from_view(cls, view: ReversalView, org: OrgConfig) -> RedemptionReversal:
        return cls(
            id=strawberry.ID(str(view.id)),
            points=view.points,
            notes=view.notes,
            return_transaction_id=_id(view.transaction_id),
            event_log_id=strawberry.ID(str(view.event_id)),
            created_at=view.created_at,
            lots_restored=[RedemptionLot.from_view(lot, org) for lot in view.lots_restored],
        )


async def _bill_number(root: PointsRedemption, info: Info) -> str | None:
    return None if root.transaction_id is None else await info.context.bill_numbers.load(int(root.transaction_id))


@strawberry.type(description="A redemption of points, with its breakup by program and by lot.")
class PointsRedemption:
    id: strawberry.ID
    customer_id: strawberry.ID
    points: Decimal = strawberry.field(description="Points redeemed, across every program drawn from.")
    points_reversed: Decimal
    status: RedemptionStatusEnum
    balance_after: Decimal = strawberry.field(
        description="The balance of the programs drawn from, right after the redemption."
    )
    programs: list[RedemptionProgramShare]
    lots_consumed: list[RedemptionLot] = strawberry.field(description="The lots it spent, first-expiring first.")
    reversals: list[RedemptionReversal]
    event_log_id: strawberry.ID
    source: TransactionSourceEnum | None
    store_code: str | None
    till_code: str | None
    transaction_id: strawberry.ID | None = strawberry.field(
        description="The bill it paid for (addTransaction's pointsRedemptions)."
    )
    transaction_number: str | None = strawberry.field(resolver=_bill_number)
    external_reference: str | None
    notes: str | None
    redeemed_at: datetime

    @classmethod
    def from_view(cls, view: RedemptionView, org: OrgConfig) -> PointsRedemption:
        return cls(
            id=strawberry.ID(str(view.id)),
            customer_id=strawberry.ID(str(view.customer_id)),
            points=view.points,
            points_reversed=view.points_reversed,
            status=RedemptionStatus(view.status),
            balance_after=view.balance_after,
            programs=[
                RedemptionProgramShare(
                    program_code=org.program(share.program_id).code,
                    points=share.points,
                    balance_after=share.balance_after,
                )
                for share in view.programs
            ],
            lots_consumed=[RedemptionLot.from_view(lot, org) for lot in view.lots_consumed],
            reversals=[RedemptionReversal.from_view(reversal, org) for reversal in view.reversals],
            event_log_id=strawberry.ID(str(view.event_id)),
            source=TransactionSource(view.source) if view.source else None,
            store_code=org.store(view.store_id).code if view.store_id else None,
            till_code=org.till(view.till_id).code if view.till_id else None,
            transaction_id=_id(view.transaction_id),
            external_reference=view.external_reference,
            notes=view.notes,
            redeemed_at=view.redeemed_at,
        )


@strawberry.type(description="The points were redeemed (or, sent again with the same idempotency key, found).")
class PointsRedeemed:
    redemption: PointsRedemption
    replayed: bool = strawberry.field(
        description="True when this idempotency key redeemed before: nothing was written."
    )


@strawberry.type(description="What redeemPoints would take from one program now.")
class RedemptionPlanShare:
    program_code: str
    points: Decimal
    spendable_points: Decimal


@strawberry.type(description="redeemPoints would succeed now with this input; nothing was written or held.")
class RedemptionValidated:
    customer_id: strawberry.ID
    points: Decimal
    spendable_points: Decimal = strawberry.field(description="Spendable now across the programs it would draw from.")
    programs: list[RedemptionPlanShare]
    replayed_redemption_id: strawberry.ID | None = strawberry.field(
        description=(
            "Set when the idempotency key redeemed before: redeemPoints would return that redemption and write nothing."
        )
    )

    @classmethod
    def from_result(cls, result: ValidationResult) -> RedemptionValidated:
        return cls(
            customer_id=strawberry.ID(str(result.customer_id)),
            points=result.points,
            spendable_points=result.spendable_points,
            programs=[
                RedemptionPlanShare(
                    program_code=share.program.code, points=share.points, spendable_points=share.spendable_points
                )
                for share in result.shares
            ],
            replayed_redemption_id=_id(result.replayed_redemption_id),
        )


@strawberry.type(
    description="Points of a redemption were given back (or, sent again with the same idempotency key, found)."
)
class RedemptionReversed:
    reversal: RedemptionReversal
    redemption: PointsRedemption
    replayed: bool


@strawberry.type
class PointsRedemptionConnection:
    customer_id: strawberry.ID
    nodes: list[PointsRedemption]
    page_info: PageInfo


ValidateRedemptionResult = Annotated[
    RedemptionValidated
    | InvalidInputError
    | NotFoundError
    | InsufficientPointsError
    | IdempotencyKeyReusedError
    | ConflictError,
    strawberry.union("ValidateRedemptionResult"),
]
PointsRedemptionsResult = Annotated[
    PointsRedemptionConnection | NotFoundError | InvalidInputError,
    strawberry.union("PointsRedemptionsResult"),
]
