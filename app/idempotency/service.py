"""Idempotency keys for every write mutation (the statements: app/idempotency/repository.py).

A write that carries a key runs like this, inside its one write transaction: lock the key,
look it up; found with the same operation and payload, return the id of what it made the first
time (the caller loads that result and writes nothing); found with anything else, refuse with
IDEMPOTENCY_KEY_REUSED; not found, do the work and remember the key with its result's id. The
unique (org, key) constraint backs the lock. Keys are kept `retention` (at least 24 hours).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from app.idempotency import repository
from app.idempotency.models import KEY_LENGTH_MAX
from app.kernel.errors import IdempotencyKeyReusedError, ValidationError
from app.kernel.text import check_code
from app.storage.database import Database, lock_keys

RETENTION_MIN = timedelta(hours=24)

Result = TypeVar("Result")


def payload_hash(payload: Any) -> str:
    """A stable hash of a request's content: canonical JSON (sorted keys; decimals, times and
    enums as text), so the same request hashes the same however it was written."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


def check_key(key: str | None, field: str) -> str | None:
    """The key as given (None: no key): not blank, at most KEY_LENGTH_MAX characters, no NUL."""
    if key is None:
        return None
    return check_code(key, field, KEY_LENGTH_MAX, required=True)


def required_key(key: str | None, field: str) -> str:
    """`check_key` for the writes that must carry a key (INVALID_INPUT "is required" without one)."""
    checked = check_key(key, field)
    if checked is None:
        raise ValidationError("is required", field=field)
    return checked


async def recall(
    connection: AsyncConnection, *, org_id: int, key: str, operation: str, payload: Any, field: str = "idempotencyKey"
) -> int | None:
    """The id of what this key's first request made; None for an unused key; IDEMPOTENCY_KEY_REUSED
    when the key was used for another request. Takes no lock (a dry run may read it too)."""
    found = await repository.find_key(connection, org_id=org_id, key=key)
    if found is None:
        return None
    if found.operation != operation or found.payload_hash != payload_hash(payload):
        raise IdempotencyKeyReusedError(
            f"idempotency key {key!r} was used for another request ({found.operation})", field=field
        )
    return found.result_id


async def run_once(
    connection: AsyncConnection,
    *,
    org_id: int,
    key: str | None,
    operation: str,
    payload: Any,
    now: datetime,
    perform: Callable[[], Awaitable[tuple[int, Result]]],
    replay: Callable[[int], Awaitable[Result]],
    field: str = "idempotencyKey",
) -> Result:
    """Run `perform` once per key. `perform` returns (id of what it made, result); `replay`
    rebuilds the result from that id. Without a key, `perform` simply runs."""
    if key is None:
        return (await perform())[1]
    await lock_keys(connection, [f"idempotency:{org_id}:{key}"])
    found = await recall(connection, org_id=org_id, key=key, operation=operation, payload=payload, field=field)
    if found is not None:
        return await replay(found)
    result_id, result = await perform()
    await repository.remember_key(
        connection,
        org_id=org_id,
        key=key,
        operation=operation,
        payload_hash=payload_hash(payload),
        result_id=result_id,
        now=now,
    )
    return result


async def write_once(
    database: Database,
    *,
    org_id: int,
    key: str | None,
    operation: str,
    payload: Any,
    now: datetime,
    perform: Callable[[AsyncConnection], Awaitable[tuple[int, Result]]],
    replay: Callable[[AsyncConnection, int], Awaitable[Result]],
    field: str = "idempotencyKey",
    brief: bool = False,
) -> Result:
    """One write transaction running `perform` once per key (see `run_once`): the shape of every
    write mutation's use case. `brief`: as `Database.run_write`'s (a request's few statements)."""

    async def work(connection: AsyncConnection) -> Result:
        return await run_once(
            connection,
            org_id=org_id,
            key=key,
            operation=operation,
            payload=payload,
            now=now,
            field=field,
            perform=lambda: perform(connection),
            replay=lambda result_id: replay(connection, result_id),
        )

    return await database.run_write(work, brief=brief)


async def forget_expired(connection: AsyncConnection, *, now: datetime, retention: timedelta) -> int:
    """Delete keys older than `retention` (never less than 24 hours)."""
    return await repository.forget_keys_before(connection, now - max(retention, RETENTION_MIN))
