"""Grow the catalog from posted line items, by the seed's rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from app.catalog.models import Product

products = Product.__table__

_KNOWN_PRODUCTS = select(products.c.id, products.c.item_code, products.c.variant_code).where(
    products.c.org_id == bindparam("org_id"),
    tuple_(products.c.item_code, products.c.variant_code).in_(bindparam("wanted", expanding=True)),
)
_INSERT_PRODUCTS = insert(products).returning(products.c.id, sort_by_parameter_order=True)


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
    rows = (await connection.execute(_KNOWN_PRODUCTS, {"org_id": org_id, "wanted": sorted(wanted)})).all()
    known = {(row.item_code, row.variant_code): row.id for row in rows}
    new_bases = sorted({code for code, _ in items if (code, "") not in known})
    if new_bases:
        ids = (
            (
                await connection.execute(
                    _INSERT_PRODUCTS,
                    [
                        {
                            "org_id": org_id,
                            "item_code": code,
                            "variant_code": "",
                            "base_product_id": None,
                            "created_at": now,
                        }
                        for code in new_bases
                    ],
                )
            )
            .scalars()
            .all()
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
        ids = (
            (
                await connection.execute(
                    _INSERT_PRODUCTS,
                    [
                        {
                            "org_id": org_id,
                            "item_code": code,
                            "variant_code": variant,
                            "base_product_id": known[(code, "")],
                            "created_at": now,
                        }
                        for code, variant in new_variants
                    ],
                )
            )
            .scalars()
            .all()
        )
        known.update(dict(zip(new_variants, ids, strict=True)))
    return [known.get((code, variant or ""), known[(code, "")]) for code, variant in items]
