"""What the user groups' service and repository hand each other and the layers above: a group as
stored. No I/O.

It lives here because both `service.py` and `repository.py` need it and neither may import the
other back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class GroupView:
    id: int
    customer_id: int  # the backing account holder: its user id
    external_id: str
    name: str
    created_at: datetime
