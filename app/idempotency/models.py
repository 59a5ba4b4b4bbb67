"""Idempotency keys: a write sent again with the same key returns its first result."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, UTCDateTime

KEY_LENGTH_MAX = 200


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("org_id", "key"), Index("ix_idempotency_keys_created", "created_at"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    key: str = Field(max_length=KEY_LENGTH_MAX)
    operation: str = Field(max_length=40)  # the mutation that first used the key
    payload_hash: str = Field(max_length=64)
    result_id: int = Field(sa_type=BigId)  # what the operation made: a transaction, redemption, transfer ...
    created_at: datetime = Field(sa_type=UTCDateTime)
