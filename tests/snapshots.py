"""Row counts of every table: a failed mutation must leave them all unchanged."""

from __future__ import annotations

from sqlalchemy import func, select

from app.storage.database import Database
from app.storage.tables import registered_tables


async def table_counts(database: Database) -> dict[str, int]:
    async with database.read() as connection:
        return {
            table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in registered_tables().sorted_tables
        }


async def organization_rows(database: Database, org_id: int) -> dict[str, list[tuple]]:
    """Every row of one organisation, table by table in primary-key order: its tables' rows with
    its org_id, its organisations row, and the usage counters of its promotions and codes (the
    tables without an org_id)."""
    tables = {table.name: table for table in registered_tables().sorted_tables}
    promotions, codes = tables["promotions"], tables["promo_codes"]
    filters = {
        "organizations": tables["organizations"].c.id == org_id,
        "promotion_customer_usage": tables["promotion_customer_usage"].c.promotion_id.in_(
            select(promotions.c.id).where(promotions.c.org_id == org_id)
        ),
        "promo_code_customer_usage": tables["promo_code_customer_usage"].c.code_id.in_(
            select(codes.c.id).where(codes.c.org_id == org_id)
        ),
    }
    rows = {}
    async with database.read() as connection:
        for name, table in tables.items():
            condition = filters.get(name)
            if condition is None:  # (the default would be built for every table, org_id or not)
                condition = table.c.org_id == org_id
            statement = select(table).where(condition).order_by(*table.primary_key.columns)
            rows[name] = [tuple(row) for row in (await connection.execute(statement)).all()]
    return rows
