"""User groups (the seed's "User Group2", e.g. a fleet): a group of customers with its own points.

A group's points live on a backing `customers` row of kind USER_GROUP, so accounts, lots,
expiry, ledger pages and reconciliation work for it unchanged. That row has no customer
identifiers, so a transaction can never resolve to it. Memberships are the customers domain's
(`app.customers.models.UserGroupMember`): a merge moves them with the customer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import UTCDateTime

EXTERNAL_ID_LENGTH_MAX = 100
NAME_LENGTH_MAX = 200


class UserGroup(SQLModel, table=True):
    __tablename__ = "user_groups"
    __table_args__ = (UniqueConstraint("org_id", "external_id"), UniqueConstraint("customer_id"))

    id: int | None = Field(default=None, primary_key=True)  # the group id
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")  # the backing account holder (kind USER_GROUP)
    external_id: str = Field(max_length=EXTERNAL_ID_LENGTH_MAX)
    name: str = Field(default="", max_length=NAME_LENGTH_MAX)
    created_at: datetime = Field(sa_type=UTCDateTime)
