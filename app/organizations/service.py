"""Organisation use cases: apply the declarative file, manage and check API keys. The
statements are the repository's (app/organizations/repository.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.errors import NotFoundError, ValidationError
from app.organizations import repository
from app.organizations.roles import Role, parse_roles, stored_roles
from app.organizations.spec import OrganizationSpec

# Every organisation (or one) with its code and time zone: what org-wide runs iterate over.
list_organizations = repository.list_organizations


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
        "primary_identifier_strict_check": settings.primary_identifier_strict_check,
        "rate_limits": spec.rate_limits.model_dump(),
        "customer_fields": [customer_field.model_dump(mode="json") for customer_field in spec.customer_fields],
        "webhooks_allow_private_addresses": spec.webhooks.allow_private_addresses,
        "expiry_notice_days": settings.expiry_notice_days,
        "extended_fields": [declared.model_dump(mode="json") for declared in spec.extended_fields] or None,
        "custom_fields": [declared.model_dump(mode="json") for declared in spec.custom_fields] or None,
        "payment_modes": [mode.model_dump(mode="json") for mode in spec.payment_modes] or None,
    }
    existing = await repository.organization_by_code(connection, settings.code)
    if existing is None:
        org_id = await repository.insert_organization(
            connection, {"code": settings.code, "created_at": now, "updated_at": now, **values}
        )
        changes.append(f"organization {settings.code} created")
    else:
        org_id = existing.id
        if await _update_if_changed(connection, "organizations", existing, values):
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
            "group_points": program.group_points.value,
            "promised_days": program.promised_days,
            "concept_code": program.concept,
            "hold_from": program.hold_from.value,
            "expiry_from": program.expiry_from.value,
            "earning_rules": [
                {
                    "name": rule.name,
                    "conditions": [condition.to_condition().to_document() for condition in rule.conditions],
                    "earn_rate_multiplier": str(rule.earn_rate_multiplier),
                }
                for rule in program.earning_rules
            ]
            or None,
            "alternate_currencies": [
                {
                    "identifier": currency.identifier,
                    "name": currency.name,
                    "earn_rate": str(currency.earn_rate),
                    "rounding": currency.rounding.value,
                    "decimal_places": currency.decimal_places,
                    "expiry_strategy": currency.expiry.strategy.value,
                    "expiry_value": currency.expiry.value,
                    # Left out when there are none: a currency stored before line rules existed reads the same.
                    **(
                        {
                            "line_rules": [
                                {
                                    "name": rule.name,
                                    "item_codes": list(rule.item_codes),
                                    "attributes": [
                                        {"name": pair.name, "value": pair.value} for pair in rule.attributes
                                    ],
                                    "conditions": [
                                        condition.to_condition().to_document() for condition in rule.conditions
                                    ],
                                    "units_per_quantity": _text_or_none(rule.units_per_quantity),
                                    "earn_rate": _text_or_none(rule.earn_rate),
                                }
                                for rule in currency.line_rules
                            ]
                        }
                        if currency.line_rules
                        else {}
                    ),
                }
                for currency in program.alternate_currencies
            ]
            or None,
            "referral": program.referral.model_dump(mode="json") if program.referral else None,
        }
        program_ids[program.code] = await _upsert(
            connection,
            "programs",
            {"org_id": org_id, "code": program.code},
            program_values,
            changes,
            f"program {program.code}",
        )
        for tier in program.tiers:
            await _upsert(
                connection,
                "tiers",
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
            "stores",
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
                "tills",
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
        await repository.touch_organization(connection, org_id, now=now)
    return ApplyReport(org_id=org_id, changes=changes)


def _text_or_none(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


async def _upsert(
    connection: AsyncConnection,
    table_name: str,
    key: dict[str, Any],
    values: dict[str, Any],
    changes: list[str],
    label: str,
) -> int:
    existing = await repository.find_setup_row(connection, table_name, key)
    if existing is None:
        changes.append(f"{label} created")
        return await repository.insert_setup_row(connection, table_name, {**key, **values})
    if await _update_if_changed(connection, table_name, existing, values):
        changes.append(f"{label} updated")
    return existing.id


async def _update_if_changed(
    connection: AsyncConnection, table_name: str, existing: Any, values: dict[str, Any]
) -> bool:
    changed = {name: value for name, value in values.items() if getattr(existing, name) != value}
    if changed:
        await repository.update_setup_row(connection, table_name, existing.id, changed)
    return bool(changed)


async def org_id_by_code(connection: AsyncConnection, code: str) -> int:
    org_id = await repository.organization_id_by_code(connection, code)
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
    connection: AsyncConnection, org_id: int, name: str = "", *, now: datetime, roles: frozenset[Role]
) -> CreatedApiKey:
    """A key holding `roles` (at least one: app/organizations/roles.py says what each may call)."""
    if not roles:
        raise ValidationError("name at least one role", field="roles")
    key_id = KEY_ID_PREFIX + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    await repository.insert_api_key(
        connection,
        org_id=org_id,
        key_id=key_id,
        secret_hash=hash_secret(secret),
        name=name,
        roles=stored_roles(roles),
        now=now,
    )
    return CreatedApiKey(key_id=key_id, secret=secret)


async def list_api_keys(connection: AsyncConnection, org_id: int) -> list[Any]:
    return await repository.api_keys_of(connection, org_id)


async def revoke_api_key(connection: AsyncConnection, key_id: str, *, now: datetime) -> None:
    if not await repository.revoke_api_key(connection, key_id, now=now):
        raise NotFoundError(f"no active API key {key_id!r}", field="key_id")


@dataclass(frozen=True)
class StoredKey:
    org_id: int
    secret_hash: str
    is_active: bool
    roles: frozenset[Role]


async def find_api_key(connection: AsyncConnection, key_id: str) -> StoredKey | None:
    row = await repository.api_key(connection, key_id)
    if row is None:
        return None
    return StoredKey(
        org_id=row.org_id,
        secret_hash=row.secret_hash,
        is_active=row.revoked_at is None,
        roles=parse_roles(row.roles),
    )


def secret_matches(stored: StoredKey, secret: str) -> bool:
    return hmac.compare_digest(stored.secret_hash, hash_secret(secret))
