"""What the points promotions' service and repository hand each other and the layers above: a
promotion as stored. No I/O.

It lives here because both `service.py` and `repository.py` need it and neither may import the
other back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.ledger import rules as ledger_rules
from app.organizations.config import OrgConfig
from app.organizations.models import ExpiryStrategy


@dataclass(frozen=True, slots=True)
class PromotionView:
    id: int
    identifier: str
    name: str
    program_id: int
    expiry_strategy: ExpiryStrategy
    expiry_value: int | None
    created_at: datetime

    def expires_at(self, awarded_at: datetime, org: OrgConfig) -> datetime | None:
        return ledger_rules.lot_expiry(self.expiry_strategy, self.expiry_value, awarded_at, org.time_zone)
