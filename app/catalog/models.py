"""The product catalog, grown from the line items of posted transactions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import UTCDateTime


class Product(SQLModel, table=True):
    """A base product (variant_code '') or a variant of one (base_product_id set)."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("org_id", "item_code", "variant_code"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    item_code: str = Field(max_length=100)
    variant_code: str = Field(default="", max_length=100)
    base_product_id: int | None = Field(default=None, foreign_key="products.id")
    description: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
