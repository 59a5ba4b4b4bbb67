"""What the adjustments' service and repository hand each other and the layers above: an
adjustment as it was written. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.adjustments.models import AdjustmentReason
from app.ledger.models import EntryType


@dataclass(frozen=True, slots=True)
class AdjustmentView:
    id: int
    customer_id: int
    program_id: int
    entry_type: EntryType
    points: Decimal
    reason: AdjustmentReason
    note: str
    event_id: int
    created_at: datetime
