"""Grow the catalog from posted line items, by the seed's rules. The statements are the
repository's (app/catalog/repository.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.catalog import repository


def product_lock_keys(org_id: int, items: Sequence[tuple[str, str | None]]) -> list[str]:
    """Writers that may add the same product serialize on it (the unique key would fail one)."""
    return [f"product:{org_id}:{code}" for code, _ in items]


async def product_ids_for(
    connection: AsyncConnection, org_id: int, items: Sequence[tuple[str, str | None]], now: datetime
) -> list[int]:
    """The product id of each (item_code, variant), adding unknown products:

    - a new base product is added, with or without variant details; the variant is then ignored
      and the line points at the base product;
    - a new variant of an existing base product is added as that product's variant.
    """
    wanted = {(code, "") for code, _ in items} | {(code, variant) for code, variant in items if variant}
    known = await repository.product_ids(connection, org_id=org_id, keys=sorted(wanted))
    new_bases = sorted({code for code, _ in items if (code, "") not in known})
    if new_bases:
        ids = await repository.insert_products(
            connection, org_id=org_id, new_products=[(code, "", None) for code in new_bases], now=now
        )
        known.update({(code, ""): product_id for code, product_id in zip(new_bases, ids, strict=True)})
    new_variants = sorted(
        {
            (code, variant)
            for code, variant in items
            if variant and code not in new_bases and (code, variant) not in known
        }
    )
    if new_variants:
        ids = await repository.insert_products(
            connection,
            org_id=org_id,
            new_products=[(code, variant, known[(code, "")]) for code, variant in new_variants],
            now=now,
        )
        known.update(dict(zip(new_variants, ids, strict=True)))
    return [known.get((code, variant or ""), known[(code, "")]) for code, variant in items]
