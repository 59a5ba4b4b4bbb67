"""Alembic environment: async engines, or a connection handed in by `app.storage.migrate`."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.sql.sqltypes import AutoString

from app.kernel.settings import get_settings
from app.storage.columns import FixedDecimal, UTCDateTime
from app.storage.tables import registered_tables

config = context.config


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types as the plain SQLAlchemy types they store, so migrations do not
    depend on application code that may change later."""
    if kind != "type":
        return False
    if isinstance(obj, FixedDecimal):
        return "sa.BigInteger()"
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _configure_and_run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=registered_tables(),
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_configure_and_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or get_settings().database_url,
        target_metadata=registered_tables(),
        render_item=render_item,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _configure_and_run(connection)
else:
    asyncio.run(_run_with_own_engine(config.get_main_option("sqlalchemy.url") or get_settings().database_url))
