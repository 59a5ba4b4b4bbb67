"""The organisations' data access: organisations, programs, tiers, stores, tills and API keys.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables; functions return
plain values and rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.organizations.models import ApiKey, Organization, Program, Store, Tier, Till
from app.storage.tables import table_of

organizations = table_of(Organization)
programs = table_of(Program)
tiers = table_of(Tier)
stores = table_of(Store)
tills = table_of(Till)
api_keys = table_of(ApiKey)

# The tables `apply_spec` writes besides organisations, by name.
SETUP_TABLES: dict[str, Any] = {"programs": programs, "tiers": tiers, "stores": stores, "tills": tills}

_FIND_API_KEY = select(api_keys.c.org_id, api_keys.c.secret_hash, api_keys.c.revoked_at, api_keys.c.roles).where(
    api_keys.c.key_id == bindparam("key_id")
)


# --- Organisations and their setup ----------------------------------------------------------


async def organization_by_code(connection: AsyncConnection, code: str) -> Any:
    """The organisation's row (all its columns), None when no organisation has this code."""
    return (await connection.execute(select(organizations).where(organizations.c.code == code))).one_or_none()


async def organization_id_by_code(connection: AsyncConnection, code: str) -> int | None:
    return (
        await connection.execute(select(organizations.c.id).where(organizations.c.code == code))
    ).scalar_one_or_none()


async def list_organizations(connection: AsyncConnection, *, org_id: int | None = None) -> list[Any]:
    """Every organisation (or the one with this id) by id: rows (id, code, time_zone)."""
    query = select(organizations.c.id, organizations.c.code, organizations.c.time_zone).order_by(organizations.c.id)
    if org_id is not None:
        query = query.where(organizations.c.id == org_id)
    return list((await connection.execute(query)).all())


async def insert_organization(connection: AsyncConnection, values: Mapping[str, Any]) -> int:
    return (await connection.execute(insert(organizations).values(**values).returning(organizations.c.id))).scalar_one()


async def touch_organization(connection: AsyncConnection, org_id: int, *, now: datetime) -> None:
    """Mark the organisation's setup changed (cached snapshots compare `updated_at`)."""
    await connection.execute(update(organizations).where(organizations.c.id == org_id).values(updated_at=now))


async def find_setup_row(connection: AsyncConnection, table_name: str, key: Mapping[str, Any]) -> Any:
    """The row of `table_name` (an organisation table: "organizations" or one of SETUP_TABLES)
    whose columns equal `key`, None when there is none."""
    table = organizations if table_name == "organizations" else SETUP_TABLES[table_name]
    condition = [table.c[name] == value for name, value in key.items()]
    return (await connection.execute(select(table).where(*condition))).one_or_none()


async def insert_setup_row(connection: AsyncConnection, table_name: str, values: Mapping[str, Any]) -> int:
    table = SETUP_TABLES[table_name]
    return (await connection.execute(insert(table).values(**values).returning(table.c.id))).scalar_one()


async def update_setup_row(
    connection: AsyncConnection, table_name: str, row_id: int, changes: Mapping[str, Any]
) -> None:
    table = organizations if table_name == "organizations" else SETUP_TABLES[table_name]
    await connection.execute(update(table).where(table.c.id == row_id).values(**changes))


async def org_setup(connection: AsyncConnection, org_id: int) -> tuple[Any, list[Any], list[Any], list[Any], list[Any]]:
    """What an org snapshot is built from: the organisation's row (None when it does not exist),
    and its programs (by id), tiers (by serial number), stores and tills (by id)."""
    org = (await connection.execute(select(organizations).where(organizations.c.id == org_id))).one_or_none()
    if org is None:
        return None, [], [], [], []
    program_rows = (
        await connection.execute(select(programs).where(programs.c.org_id == org_id).order_by(programs.c.id))
    ).all()
    tier_rows = (
        await connection.execute(select(tiers).where(tiers.c.org_id == org_id).order_by(tiers.c.serial_number))
    ).all()
    store_rows = (await connection.execute(select(stores).where(stores.c.org_id == org_id).order_by(stores.c.id))).all()
    till_rows = (await connection.execute(select(tills).where(tills.c.org_id == org_id).order_by(tills.c.id))).all()
    return org, list(program_rows), list(tier_rows), list(store_rows), list(till_rows)


# --- API keys -------------------------------------------------------------------------------


async def insert_api_key(
    connection: AsyncConnection,
    *,
    org_id: int,
    key_id: str,
    secret_hash: str,
    name: str,
    roles: str,
    now: datetime,
) -> None:
    await connection.execute(
        insert(api_keys).values(
            org_id=org_id,
            key_id=key_id,
            secret_hash=secret_hash,
            name=name,
            created_at=now,
            roles=roles,
        )
    )


async def api_keys_of(connection: AsyncConnection, org_id: int) -> list[Any]:
    """The org's keys by creation: rows (key_id, name, roles, created_at, revoked_at)."""
    query = select(api_keys.c.key_id, api_keys.c.name, api_keys.c.roles, api_keys.c.created_at, api_keys.c.revoked_at)
    return list((await connection.execute(query.where(api_keys.c.org_id == org_id).order_by(api_keys.c.id))).all())


async def revoke_api_key(connection: AsyncConnection, key_id: str, *, now: datetime) -> bool:
    """Revoke the key if it is active (a guarded UPDATE); False when there is no such active key."""
    result = await connection.execute(
        update(api_keys).where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount == 1


async def api_key(connection: AsyncConnection, key_id: str) -> Any:
    """The key's row (org_id, secret_hash, revoked_at, roles), None when unknown."""
    return (await connection.execute(_FIND_API_KEY, {"key_id": key_id})).one_or_none()


async def orgs_allowing_private_webhook_addresses(connection: AsyncConnection, org_ids: Sequence[int]) -> set[int]:
    """Those of the organisations whose file allows webhook endpoints at private addresses ([webhooks])."""
    statement = select(organizations.c.id).where(
        organizations.c.id.in_(list(org_ids)), organizations.c.webhooks_allow_private_addresses.is_(True)
    )
    return set((await connection.execute(statement)).scalars())
