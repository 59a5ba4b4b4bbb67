"""Member care's profile changes: registerCustomer and updateCustomer (issue 13, "Customers").

Both write the customer history: REGISTERED (with the identifiers) and DETAILS_UPDATED (each
changed name or field, from and to), with the source and account the request gives in the row's
source and account columns (as changeIdentifier writes them). Field values are checked against
the customer fields the organisation declares (app.customers.rules.merged_field_values):
required fields are enforced here, where a person edits a profile; a purchase that registers a
customer by its identifiers needs none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import repository
from app.customers.errors import IdentifierTakenError
from app.customers.models import HistoryAction, LoyaltyType
from app.customers.rules import merged_field_values, normalize_identifier
from app.customers.service import (
    Activity,
    CustomerDetails,
    CustomerLookup,
    CustomerView,
    add_identifiers,
    enrol,
    find_customer,
    identifier_lock_keys,
    load_customers,
    lock_unmerged,
    register_customer,
    survivor_of,
    update_details,
)
from app.idempotency import service as idempotency
from app.kernel.enums import IdentifierType
from app.kernel.errors import ValidationError
from app.kernel.text import check_code, check_text
from app.organizations.config import OrgConfig
from app.referrals import service as referrals
from app.storage.database import Database, lock_keys

NAME_LENGTH_MAX = 100
SOURCE_LENGTH_MAX = 20  # customers.source
ACCOUNT_LENGTH_MAX = 64  # customer_history.account


@dataclass(frozen=True)
class Attribution:
    """Where a profile change comes from (the seed's source and account columns)."""

    source: str | None = None
    account: str | None = None

    def checked(self, path: str) -> Attribution:
        check_code(self.source, f"{path}.source", SOURCE_LENGTH_MAX)
        check_text(self.account, f"{path}.account", ACCOUNT_LENGTH_MAX)
        return self

    def columns(self) -> dict[str, str | None]:
        """The history row's source and account columns."""
        return {"source": self.source, "account": self.account}


@dataclass(frozen=True)
class NewCustomer:
    first_name: str
    last_name: str
    identifiers: Mapping[IdentifierType, tuple[str, str]]  # kind -> (value as sent, its field)
    extended_fields: Mapping[str, Any]
    attribution: Attribution
    idempotency_key: str | None = None
    referral_code: str | None = None  # the referrer's code; an unknown one is REFERRAL_CODE_NOT_FOUND


REFERRAL_CODE_LENGTH_MAX = 100  # as a bill's referralCode


@dataclass(frozen=True)
class RegisterResult:
    customer: CustomerView
    replayed: bool


async def register_on_request(
    database: Database, org: OrgConfig, new: NewCustomer, *, now: datetime, path: str = "input"
) -> RegisterResult:
    """A new customer with a profile and identifiers; IDENTIFIER_TAKEN (on the identifier's
    field) when another customer holds one of them, and nothing is written. With an idempotency
    key, a retry returns the customer registered first, as it is now (`replayed`)."""
    key = idempotency.check_key(new.idempotency_key, f"{path}.idempotencyKey")
    check_text(new.first_name, f"{path}.firstname", NAME_LENGTH_MAX)
    check_text(new.last_name, f"{path}.lastname", NAME_LENGTH_MAX)
    check_text(new.referral_code, f"{path}.referralCode", REFERRAL_CODE_LENGTH_MAX, code=True)
    attribution = new.attribution.checked(path)
    if not new.identifiers:
        raise ValidationError("give at least one identifier (mobile, email, externalId, cardNumber)", field=path)
    given = {
        kind: normalize_identifier(kind, value, org.base_country, field)
        for kind, (value, field) in new.identifiers.items()
    }
    fields = merged_field_values(org.customer_fields, {}, new.extended_fields, f"{path}.extendedFields")

    async def perform(connection: AsyncConnection) -> tuple[int, RegisterResult]:
        await lock_keys(connection, identifier_lock_keys(org.id, given))
        owners = await repository.owners_of_identifiers(connection, org_id=org.id, given=given)
        owner_ids = {row.customer_id for row in owners}
        if len(owner_ids) == 1 and all(row.loyalty_type == LoyaltyType.NON_LOYALTY.value for row in owners):
            return await _enrol_known(connection, owners[0].customer_id, {IdentifierType(row.type) for row in owners})
        for row in owners:
            kind = IdentifierType(row.type)
            raise IdentifierTakenError(
                f"{kind.value} {row.value} belongs to customer {row.customer_id}", field=new.identifiers[kind][1]
            )
        customer_id = await register_customer(
            connection,
            org,
            given,
            CustomerDetails(new.first_name, new.last_name),
            Activity(attribution.source, None, None),
            now,
            history_details={"extended_fields": fields} if fields else None,
            history_columns=attribution.columns(),
        )
        if fields:
            await repository.update_customer(connection, customer_id, {"extended_fields": fields}, now=now)
        if new.referral_code:
            await referrals.link_referee(
                connection,
                org,
                referee_id=customer_id,
                code=new.referral_code,
                now=now,
                field=f"{path}.referralCode",
                survivor_of=survivor_of,
            )
        return customer_id, RegisterResult(
            (await load_customers(connection, org, [customer_id], now=now))[customer_id], False
        )

    async def _enrol_known(
        connection: AsyncConnection, customer_id: int, owned: set[IdentifierType]
    ) -> tuple[int, RegisterResult]:
        """The identifiers name a NON_LOYALTY customer (known from their bills, not enrolled):
        registering enrols them, with their history, this profile and the other identifiers."""
        await repository.lock_customers(connection, [customer_id])
        await enrol(connection, org, customer_id, now, history_columns=attribution.columns())
        await add_identifiers(
            connection, org, customer_id, {kind: value for kind, value in given.items() if kind not in owned}, now
        )
        await update_details(
            connection, org, customer_id, CustomerDetails(new.first_name or None, new.last_name or None), now
        )
        if fields:
            current = dict((await repository.profile_of(connection, customer_id)).extended_fields or {})
            await repository.update_customer(connection, customer_id, {"extended_fields": current | fields}, now=now)
        return customer_id, RegisterResult(
            (await load_customers(connection, org, [customer_id], now=now))[customer_id], False
        )

    async def replay(connection: AsyncConnection, customer_id: int) -> RegisterResult:
        return RegisterResult((await load_customers(connection, org, [customer_id], now=now))[customer_id], True)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="registerCustomer",
        now=now,
        perform=perform,
        replay=replay,
        payload={
            "firstname": new.first_name,
            "lastname": new.last_name,
            "identifiers": {kind.value: value for kind, value in given.items()},
            "extendedFields": fields,
            "source": attribution.source,
            "account": attribution.account,
        }
        # Left out while empty, so a retry of a key used before the code existed replays.
        | ({"referralCode": new.referral_code} if new.referral_code else {}),
        field=f"{path}.idempotencyKey",
    )


@dataclass(frozen=True)
class ProfileChanges:
    """What an update gives: only the keys present change (None in `extended_fields` removes a value)."""

    names: Mapping[str, str]  # "first_name" / "last_name" -> the new name
    extended_fields: Mapping[str, Any]
    attribution: Attribution


@dataclass(frozen=True)
class UpdateResult:
    customer: CustomerView
    changed: bool


async def update_on_request(
    database: Database,
    org: OrgConfig,
    lookup: CustomerLookup,
    changes: ProfileChanges,
    *,
    now: datetime,
    path: str = "input",
) -> UpdateResult:
    """Change a customer's names and field values. Only what differs is written, with one
    DETAILS_UPDATED history row listing each change (from, to); a request that changes nothing
    writes nothing. A merged-away customer is refused (CUSTOMER_MERGED)."""
    for column, name in changes.names.items():
        check_text(name, f"{path}.{column.replace('_', '')}", NAME_LENGTH_MAX)
    attribution = changes.attribution.checked(path)

    async def perform(connection: AsyncConnection) -> UpdateResult:
        customer_id = await find_customer(connection, org, lookup, f"{path}.customer")
        await lock_unmerged(connection, {customer_id: f"{path}.customer"})
        current = await repository.profile_of(connection, customer_id)
        current_fields = dict(current.extended_fields or {})
        fields = merged_field_values(
            org.customer_fields, current_fields, changes.extended_fields, f"{path}.extendedFields"
        )
        updates: dict[str, Any] = {}
        recorded: dict[str, Any] = {}
        for column, name in changes.names.items():
            if name != getattr(current, column):
                updates[column] = name
                recorded[column] = {"from": getattr(current, column), "to": name}
        field_changes = {
            name: {"from": current_fields.get(name), "to": fields.get(name)}
            for name in sorted(set(current_fields) | set(fields))
            if current_fields.get(name) != fields.get(name)
        }
        if field_changes:
            updates["extended_fields"] = fields
            recorded["extended_fields"] = field_changes
        if updates:
            await repository.update_customer(connection, customer_id, updates, now=now)
            await repository.insert_history(
                connection,
                org_id=org.id,
                customer_id=customer_id,
                now=now,
                rows=[{"action": HistoryAction.DETAILS_UPDATED.value, "details": recorded, **attribution.columns()}],
            )
        view = (await load_customers(connection, org, [customer_id], now=now))[customer_id]
        return UpdateResult(view, changed=bool(updates))

    return await database.run_write(perform)
