"""The catalog's data access: products by (item code, variant), new products, and the process's
cache of product ids.

Statements built once, run on the caller's connection through SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection

from app.catalog.models import Product
from app.kernel.cache import LeastRecentlyUsed
from app.storage.database import conflict_insert
from app.storage.direct_statements import direct
from app.storage.tables import table_of

products = table_of(Product)

# Product ids by (org id, item code, variant code), per database (a test's fresh database must
# not see another's ids). An id never changes and products are never deleted, so entries need no
# invalidation, only a bound.
PRODUCT_IDS_CACHED_MAX = 50_000
_cached_ids: WeakKeyDictionary[Engine, LeastRecentlyUsed[tuple[int, str, str], int]] = WeakKeyDictionary()


def cached_product_ids(connection: AsyncConnection) -> LeastRecentlyUsed[tuple[int, str, str], int]:
    """The process's product ids of the database `connection` belongs to."""
    engine = connection.sync_engine
    found = _cached_ids.get(engine)
    if found is None:
        found = _cached_ids[engine] = LeastRecentlyUsed(PRODUCT_IDS_CACHED_MAX)
    return found


_KNOWN_PRODUCTS = direct(
    select(products.c.id, products.c.item_code, products.c.variant_code).where(
        products.c.org_id == bindparam("org_id"),
        tuple_(products.c.item_code, products.c.variant_code).in_(bindparam("wanted", expanding=True)),
    )
)


@cache
def _insert_absent_products_statement(dialect_name: str) -> Any:
    return direct(
        conflict_insert(dialect_name, products)
        .on_conflict_do_nothing(index_elements=[products.c.org_id, products.c.item_code, products.c.variant_code])
        .returning(products.c.id, products.c.item_code, products.c.variant_code)
    )


async def product_ids(
    connection: AsyncConnection, *, org_id: int, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The org's products with these (item code, variant code) keys ("" for a base product), by
    key; unknown keys are absent."""
    rows = (await connection.execute(_KNOWN_PRODUCTS, {"org_id": org_id, "wanted": list(keys)})).all()
    return {(row.item_code, row.variant_code): row.id for row in rows}


async def insert_absent_products(
    connection: AsyncConnection,
    *,
    org_id: int,
    new_products: Sequence[tuple[str, str, int | None]],
    now: datetime,
) -> dict[tuple[str, str], int]:
    """New products, each (item code, variant code, base product id or None), except those
    another writer has added meanwhile (the unique key decides, without a lock held for the rest
    of the transaction): the ids of those this statement added, by (item code, variant code)."""
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
    statement = _insert_absent_products_statement(connection.dialect.name)
    return {(row.item_code, row.variant_code): row.id for row in (await connection.execute(statement, rows)).all()}
