"""Points promotions (the seed's "Customer Promotion"): a named award of points in one program.

A promotion is found by its identifier (user-defined, or generated); its awards are ledger
events tagged with it (`ledger_events.customer_promotion_id`), so its totals are sums over the
ledger, never a counter that could drift from it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import UTCDateTime

IDENTIFIER_LENGTH_MAX = 100
NAME_LENGTH_MAX = 200


class CustomerPromotion(SQLModel, table=True):
    __tablename__ = "customer_promotions"
    __table_args__ = (UniqueConstraint("org_id", "identifier"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    identifier: str = Field(max_length=IDENTIFIER_LENGTH_MAX)
    name: str = Field(max_length=NAME_LENGTH_MAX)
    program_id: int = Field(foreign_key="programs.id")
    # The program's ExpiryStrategy values; the value is required unless NEVER.
    expiry_strategy: str = Field(max_length=40)
    expiry_value: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
