"""Organisation use cases: apply the declarative file, manage and check API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.errors import NotFoundError
from app.organizations.models import ApiKey, Organization, Program, Store, Tier, Till
from app.organizations.spec import OrganizationSpec

organizations = Organization.__table__
programs = Program.__table__
tiers = Tier.__table__
stores = Store.__table__
tills = Till.__table__
api_keys = ApiKey.__table__


@dataclass(frozen=True)
class ApplyReport:
    org_id: int
    changes: list[str]


async def apply_spec(connection: AsyncConnection, spec: OrganizationSpec, *, now: datetime) -> ApplyReport:
    """Create or update the organisation to match `spec`. Idempotent: a second run changes nothing.

    Things missing from the file are kept, not deleted: bills and ledger entries point at them.
    """
    settings = spec.organization
    changes: list[str] = []
    values = {
        "name": settings.name,
        "time_zone": settings.time_zone,
        "base_country": settings.base_country,
        "bill_number_unique_in_days": settings.bill_number_unique_in_days,
        "primary_identifier": settings.primary_identifier.value,
        "skip_secondary_id_on_primary_mismatch": settings.skip_secondary_id_on_primary_mismatch,
    }
    existing = (
        await connection.execute(select(organizations).where(organizations.c.code == settings.code))
    ).one_or_none()
    if existing is None:
        org_id = (
            await connection.execute(
                insert(organizations)
                .values(code=settings.code, created_at=now, updated_at=now, **values)
                .returning(organizations.c.id)
            )
        ).scalar_one()
        changes.append(f"organization {settings.code} created")
    else:
        org_id = existing.id
        if await _update_if_changed(connection, organizations, existing, values):
            changes.append(f"organization {settings.code} updated")

    program_ids: dict[str, int] = {}
    for program in spec.programs:
        program_values = {
            "name": program.name,
            "is_default": program.code == spec.default_program_code,
            "points_rounding": program.points_rounding.value,
            "points_decimal_places": program.points_decimal_places,
            "expiry_strategy": program.expiry.strategy.value,
            "expiry_value": program.expiry.value,
            "tier_validity_months": program.tier_validity_months,
            "allow_negative_balance": program.allow_negative_balance,
            "points_transferable": program.points_transferable,
            "redemption_minimum": program.redemption_minimum,
            "earn_category": program.earn_category.value,
            "promised_days": program.promised_days,
            "concept_code": program.concept,
        }
        program_ids[program.code] = await _upsert(
            connection,
            programs,
            {"org_id": org_id, "code": program.code},
            program_values,
            changes,
            f"program {program.code}",
        )
        for tier in program.tiers:
            await _upsert(
                connection,
                tiers,
                {"org_id": org_id, "program_id": program_ids[program.code], "serial_number": tier.serial_number},
                {
                    "name": tier.name,
                    "description": tier.description,
                    "upgrade_threshold": tier.upgrade_threshold,
                    "earn_rate": tier.earn_rate,
                },
                changes,
                f"tier {program.code}/{tier.serial_number}",
            )

    for store in spec.stores:
        store_id = await _upsert(
            connection,
            stores,
            {"org_id": org_id, "code": store.code},
            {
                "external_id": store.external_id,
                "name": store.name,
                "program_id": program_ids[store.program] if store.program else None,
            },
            changes,
            f"store {store.code}",
        )
        for till in store.tills:
            await _upsert(
                connection,
                tills,
                {"org_id": org_id, "code": till.code},
                {
                    "store_id": store_id,
                    "external_id": till.external_id,
                    "name": till.name,
                    "program_id": program_ids[till.program] if till.program else None,
                    "concept_code": till.concept,
                },
                changes,
                f"till {till.code}",
            )
    if changes and existing is not None:
        await connection.execute(update(organizations).where(organizations.c.id == org_id).values(updated_at=now))
    return ApplyReport(org_id=org_id, changes=changes)


async def _upsert(
    connection: AsyncConnection, table: Any, key: dict[str, Any], values: dict[str, Any], changes: list[str], label: str
) -> int:
    condition = [table.c[name] == value for name, value in key.items()]
    existing = (await connection.execute(select(table).where(*condition))).one_or_none()
    if existing is None:
        changes.append(f"{label} created")
        return (await connection.execute(insert(table).values(**key, **values).returning(table.c.id))).scalar_one()
    if await _update_if_changed(connection, table, existing, values):
        changes.append(f"{label} updated")
    return existing.id


async def _update_if_changed(connection: AsyncConnection, table: Any, existing: Any, values: dict[str, Any]) -> bool:
    changed = {name: value for name, value in values.items() if getattr(existing, name) != value}
    if changed:
        await connection.execute(update(table).where(table.c.id == existing.id).values(**changed))
    return bool(changed)


async def org_id_by_code(connection: AsyncConnection, code: str) -> int:
    org_id = (
        await connection.execute(select(organizations.c.id).where(organizations.c.code == code))
    ).scalar_one_or_none()
    if org_id is None:
        raise NotFoundError(f"no organisation with code {code!r}", field="org")
    return org_id


# --- API keys -------------------------------------------------------------------------------

KEY_ID_PREFIX = "pk_"


def hash_secret(secret: str) -> str:
    # The secret is 32 random bytes, so a fast hash is safe here (no dictionary to attack);
    # a slow password hash would cost every request a few milliseconds.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedApiKey:
    key_id: str
    secret: str  # shown once, never stored


async def create_api_key(
    connection: AsyncConnection, org_id: int, name: str = "", *, now: datetime, is_admin: bool = False
) -> CreatedApiKey:
    """`is_admin`: the key may also run organisation-wide checks (the reconciliation query)."""
    key_id = KEY_ID_PREFIX + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    await connection.execute(
        insert(api_keys).values(
            org_id=org_id,
            key_id=key_id,
            secret_hash=hash_secret(secret),
            name=name,
            created_at=now,
            is_admin=is_admin,
        )
    )
    return CreatedApiKey(key_id=key_id, secret=secret)


async def list_api_keys(connection: AsyncConnection, org_id: int) -> list[Any]:
    query = select(
        api_keys.c.key_id, api_keys.c.name, api_keys.c.is_admin, api_keys.c.created_at, api_keys.c.revoked_at
    )
    return list((await connection.execute(query.where(api_keys.c.org_id == org_id).order_by(api_keys.c.id))).all())


async def revoke_api_key(connection: AsyncConnection, key_id: str, *, now: datetime) -> None:
    result = await connection.execute(
        update(api_keys).where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    if result.rowcount != 1:
        raise NotFoundError(f"no active API key {key_id!r}", field="key_id")


@dataclass(frozen=True)
class StoredKey:
    org_id: int
    secret_hash: str
    is_active: bool
    is_admin: bool = False


async def find_api_key(connection: AsyncConnection, key_id: str) -> StoredKey | None:
    row = (
        await connection.execute(
            select(api_keys.c.org_id, api_keys.c.secret_hash, api_keys.c.revoked_at, api_keys.c.is_admin).where(
                api_keys.c.key_id == key_id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return StoredKey(
        org_id=row.org_id, secret_hash=row.secret_hash, is_active=row.revoked_at is None, is_admin=row.is_admin
    )


def secret_matches(stored: StoredKey, secret: str) -> bool:
    return hmac.compare_digest(stored.secret_hash, hash_secret(secret))
