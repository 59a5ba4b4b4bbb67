"""What the transfers' service and repository hand each other and the layers above: a transfer as
it was written, and which transfers a customer's list shows. No I/O.

It lives here because both `service.py` and `repository.py` need it and neither may import the
other back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class TransferView:
    id: int
    from_customer_id: int
    to_customer_id: int
    program_id: int
    points: Decimal
    notes: str | None
    event_id: int
    created_at: datetime
    # A customer's list shows alternate currency transfers too: the currency's identifier (None
    # for points; `points` are then units of it, `id` is the event's and `notes` None).
    alternate_currency: str | None = None
