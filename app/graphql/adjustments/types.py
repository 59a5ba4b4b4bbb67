"""Output types of manual points adjustments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypeAlias

import strawberry

from app.adjustments.models import AdjustmentReason
from app.adjustments.service import AdjustmentResult
from app.adjustments.views import AdjustmentView
from app.graphql.ledger.types import EntryTypeEnum
from app.organizations.config import OrgConfig

strawberry.enum(
    AdjustmentReason,
    name="AdjustmentReason",
    description=(
        "Why member care moved points by hand: GOODWILL, MISSED_PURCHASE, SERVICE_RECOVERY, ERROR_CORRECTION, "
        "FRAUD, OTHER (say it in the note)."
    ),
)  # registers the domain enum itself: the class is the schema's enum
AdjustmentReasonEnum: TypeAlias = AdjustmentReason


@strawberry.type(description="A manual credit or debit (one POINTS_ADJUSTMENT ledger event).")
class PointsAdjustment:
    id: strawberry.ID
    user_id: strawberry.ID
    program_code: str
    type: EntryTypeEnum
    points: Decimal
    reason: AdjustmentReasonEnum
    note: str
    event_log_id: strawberry.ID = strawberry.field(description="The POINTS_ADJUSTMENT ledger event.")
    created_at: datetime

    @classmethod
    def from_view(cls, view: AdjustmentView, org: OrgConfig) -> PointsAdjustment:
        return cls(
            id=strawberry.ID(str(view.id)),
            user_id=strawberry.ID(str(view.customer_id)),
            program_code=org.program(view.program_id).code,
            type=view.entry_type,
            points=view.points,
            reason=view.reason,
            note=view.note,
            event_log_id=strawberry.ID(str(view.event_id)),
            created_at=view.created_at,
        )


@strawberry.type(description="The points were adjusted (or, sent again with the same idempotency key, had been).")
class PointsAdjusted:
    adjustment: PointsAdjustment
    balance_after: Decimal = strawberry.field(description="The customer's balance in the program right after it.")
    replayed: bool = strawberry.field(
        description="True when this is the first result of an earlier request: nothing was written."
    )

    @classmethod
    def from_result(cls, result: AdjustmentResult, org: OrgConfig) -> PointsAdjusted:
        return cls(
            adjustment=PointsAdjustment.from_view(result.adjustment, org),
            balance_after=result.balance_after,
            replayed=result.replayed,
        )
