"""What each line of a bill earned of an alternate currency by its line rules, so a return of
part of a line takes back that line's share exactly."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, Points


class AlternateCurrencyLineAward(SQLModel, table=True):
    """One line's part of a bill's award (ALTERNATE_CURRENCY_AWARD event) in one currency. The
    award's value is the bill-level part (earn_rate on the eligible amount) plus these parts."""

    __tablename__ = "alternate_currency_line_awards"
    __table_args__ = (CheckConstraint("value > 0", name="alternate_currency_line_awards_value_positive"),)

    award_event_id: int = Field(primary_key=True, foreign_key="ledger_events.id", sa_type=BigId)
    line_serial: int = Field(primary_key=True)  # the bill's line (transaction_line_items.serial)
    org_id: int = Field(foreign_key="organizations.id")
    value: Decimal = Field(sa_type=Points)
