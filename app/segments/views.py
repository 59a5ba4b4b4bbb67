"""What the segments' service and repository hand each other and the layers above. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SegmentView:
    id: int
    code: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MembershipView:
    segment: SegmentView
    added_at: datetime


@dataclass(frozen=True, slots=True)
class SegmentChangeView:
    id: int
    segment: SegmentView
    action: str
    source: str
    changed_at: datetime
