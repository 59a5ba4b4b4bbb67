"""What the transfers' service and repository hand each other and the layers above: a transfer as
it was written. No I/O.

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
