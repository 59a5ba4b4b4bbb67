"""The catalog's data access: products by (item code, variant), and new products.

Statements built once, run on the caller's connection through SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from app.catalog.models import Product
from app.storage.tables import table_of

products = table_of(Product)

_KNOWN_PRODUCTS = select(products.c.id, products.c.item_code, products.c.variant_code).where(
    products.c.org_id == bindparam("org_id"),
    tuple_(products.c.item_code, products.c.variant_code).in_(bindparam("wanted", expanding=True)),
)
_INSERT_PRODUCTS = insert(products).returning(products.c.id, sort_by_parameter_order=True)


async def product_ids(
    connection: AsyncConnection, *, org_id: int, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The org's products with these (item code, variant code) keys ("" for a base product), by
    key; unknown keys are absent."""
    rows = (await connection.execute(_KNOWN_PRODUCTS, {"org_id": org_id, "wanted": list(keys)})).all()
    return {(row.item_code, row.variant_code): row.id for row in rows}


async def insert_products(
    connection: AsyncConnection,
    *,
    org_id: int,
    new_products: Sequence[tuple[str, str, int | None]],
    now: datetime,
) -> list[int]:
    """New products, each (item code, variant code, base product id or None); their ids in order."""
    rows = [
        {
            "org_id": org_id,
            "item_code": item_code,
            "variant_code": variant_code,
            "base_product_id": base_product_id,
            "created_at": now,
        }
        for item_code, variant_code, base_product_id in new_products
    ]
    return list((await connection.execute(_INSERT_PRODUCTS, rows)).scalars().all())
