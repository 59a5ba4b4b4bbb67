"""The idempotency keys' data access: find a key, remember one, forget old ones.

Statements built once, run on the caller's connection through SQLAlchemy Core.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.idempotency.models import IdempotencyKey
from app.storage.tables import table_of

keys = table_of(IdempotencyKey)

_FIND = select(keys.c.operation, keys.c.payload_hash, keys.c.result_id).where(
    keys.c.org_id == bindparam("org_id"), keys.c.key == bindparam("key")
)
_REMEMBER = insert(keys)
_FORGET_BEFORE = delete(keys).where(keys.c.created_at < bindparam("cutoff"))


async def find_key(connection: AsyncConnection, *, org_id: int, key: str) -> Any:
    """The key's row (operation, payload_hash, result_id), None for an unused key."""
    return (await connection.execute(_FIND, {"org_id": org_id, "key": key})).one_or_none()


async def remember_key(
    connection: AsyncConnection,
    *,
    org_id: int,
    key: str,
    operation: str,
    payload_hash: str,
    result_id: int,
    now: datetime,
) -> None:
    await connection.execute(
        _REMEMBER,
        {
            "org_id": org_id,
            "key": key,
            "operation": operation,
            "payload_hash": payload_hash,
            "result_id": result_id,
            "created_at": now,
        },
    )


async def forget_keys_before(connection: AsyncConnection, cutoff: datetime) -> int:
    """Delete the keys made before `cutoff`; returns how many."""
    return (await connection.execute(_FORGET_BEFORE, {"cutoff": cutoff})).rowcount
