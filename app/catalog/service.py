"""Grow the catalog from posted line items, by the seed's rules. The statements are the
repository's (app/catalog/repository.py).

No lock is held on a product: bills naming the same items run side by side on PostgreSQL. An
existing product is only read (or found in the process's cache); a new one is inserted with
ON CONFLICT DO NOTHING, and when another writer added it meanwhile (its insert waited for that
writer's commit) it is read back. Writes run at READ COMMITTED, so the read-back sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.catalog import repository
from app.storage.database import after_commit

ProductKey = tuple[str, str]  # (item code, variant code; "" for a base product)


async def product_ids_for(
    connection: AsyncConnection, org_id: int, items: Sequence[tuple[str, str | None]], now: datetime
) -> list[int]:
    """The product id of each (item_code, variant), adding unknown products:

    - a new base product is added, with or without variant details; the variant is then ignored
      and the line points at the base product;
    - a new variant of an existing base product is added as that product's variant. A base
      product another writer added meanwhile counts as existing (as if that writer's bill had
      come first).
    """
    cache = repository.cached_product_ids(connection)
    wanted = {(code, "") for code, _ in items} | {(code, variant) for code, variant in items if variant}
    known: dict[ProductKey, int] = {}
    for code, variant in wanted:
        cached = cache.get((org_id, code, variant))
        if cached is not None:
            known[code, variant] = cached
    if len(known) < len(wanted):
        known.update(await repository.product_ids(connection, org_id=org_id, keys=sorted(wanted - known.keys())))
    new_bases = sorted({(code, "") for code, _ in items} - known.keys())
    added_bases = await _add(connection, org_id, [(code, "", None) for code, _ in new_bases], known, now)
    new_variants = sorted(
        {
            (code, variant)
            for code, variant in items
            if variant and (code, "") not in added_bases and (code, variant) not in known
        }
    )
    await _add(connection, org_id, [(code, variant, known[code, ""]) for code, variant in new_variants], known, now)
    # Remembered once committed: a rolled-back insert must leave no id behind.
    after_commit(connection, lambda: cache.update({(org_id, *key): product_id for key, product_id in known.items()}))
    return [known.get((code, variant or ""), known[code, ""]) for code, variant in items]


async def _add(
    connection: AsyncConnection,
    org_id: int,
    new_products: list[tuple[str, str, int | None]],
    known: dict[ProductKey, int],
    now: datetime,
) -> dict[ProductKey, int]:
    """Insert these products into `known`: those this writer added, by key (the rest another
    writer added meanwhile, and they are read back)."""
    if not new_products:
        return {}
    added = await repository.insert_absent_products(connection, org_id=org_id, new_products=new_products, now=now)
    known.update(added)
    others = [(code, variant) for code, variant, _ in new_products if (code, variant) not in added]
    if others:
        known.update(await repository.product_ids(connection, org_id=org_id, keys=others))
    # The row that stopped an insert is committed: READ COMMITTED reads it in the next statement.
    assert all((code, variant) in known for code, variant, _ in new_products), "a conflicting product is readable"
    return added
