"""What the leads' service and repository hand each other and the layers above. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class StatusChangeView:
    status: str
    sub_status: str | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class LeadView:
    id: int
    customer_id: int
    lead_type: str
    lead_for: str
    status: str
    sub_status: str | None
    extended_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_follow_up_at: datetime | None
    next_follow_up_at: datetime | None
    status_history: list[StatusChangeView] = field(default_factory=list)  # oldest first
