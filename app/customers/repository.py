"""The customers' data access: customers, identifiers, standings per program (tier and
cumulative purchases), user group memberships and the change history.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables; the statements the
hot paths run (finding, locking, a purchase's standing and purchases) are built once, at import.
The domains above call these with ids and small values and get plain values or rows back: none
of them names a customers table.

Locks: customers are locked in id order (FOR UPDATE on PostgreSQL; SQLite's one writer excludes
everyone), before their standings and before the ledger's accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, delete, exists, func, insert, select, text, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.models import (
    Customer,
    CustomerHistory,
    CustomerIdentifier,
    CustomerKind,
    CustomerProgram,
    HistoryAction,
    LoyaltyType,
    TierChange,
    UserGroupMember,
)
from app.customers.rules import name_search_key
from app.kernel.enums import IdentifierType
from app.ledger import repository as ledger_repository
from app.storage.bulk_insert import insert_rows
from app.storage.database import any_of, list_parameter, pairs_in
from app.storage.direct_statements import brief_read, direct
from app.storage.id_blocks import reserve_ids
from app.storage.tables import table_of

customers = table_of(Customer)
identifiers = table_of(CustomerIdentifier)
history = table_of(CustomerHistory)
customer_programs = table_of(CustomerProgram)
group_members = table_of(UserGroupMember)
tier_changes = table_of(TierChange)

ZERO = Decimal(0)


# --- Finding and locking customers ----------------------------------------------------------

_OWNERS_OF_IDENTIFIERS = direct(
    select(
        identifiers.c.type,
        identifiers.c.value,
        identifiers.c.customer_id,
        customers.c.first_name,
        customers.c.last_name,
        customers.c.loyalty_type,
    )
    .join(customers, customers.c.id == identifiers.c.customer_id)
    .where(
        identifiers.c.org_id == bindparam("org_id"),
        tuple_(identifiers.c.type, identifiers.c.value).in_(bindparam("pairs", expanding=True)),
    )
)
_OWNER_IDS = (
    select(identifiers.c.customer_id)
    .where(
        identifiers.c.org_id == bindparam("org_id"),
        tuple_(identifiers.c.type, identifiers.c.value).in_(bindparam("pairs", expanding=True)),
    )
    .distinct()
)
_LOCK_CUSTOMERS = (
    select(customers.c.id)
    .where(customers.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(customers.c.id)
    .with_for_update()
)
# Every ledger and customer query starts with one of these: built once.
_CUSTOMER_BY_USER_ID = brief_read(
    select(customers.c.id).where(customers.c.org_id == bindparam("org_id"), customers.c.id == bindparam("user_id"))
)
_CUSTOMER_BY_IDENTIFIER = brief_read(
    select(identifiers.c.customer_id).where(
        identifiers.c.org_id == bindparam("org_id"),
        identifiers.c.type == bindparam("type"),
        identifiers.c.value == bindparam("value"),
    )
)
_MERGE_STATES = (
    select(customers.c.id, customers.c.merged_into_customer_id)
    .where(customers.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(customers.c.id)
)
_LOCK_MERGE_STATES = _MERGE_STATES.with_for_update()
_LOCK_CUSTOMER = (
    select(customers.c.id, customers.c.merged_into_customer_id)
    .where(customers.c.id == bindparam("customer_id"))
    .with_for_update()
)
_MERGED_INTO = select(customers.c.merged_into_customer_id).where(customers.c.id == bindparam("customer_id"))
_LOCK_MERGED_INTO = _MERGED_INTO.with_for_update()
_CUSTOMER_KINDS = select(customers.c.id, customers.c.kind).where(
    customers.c.org_id == bindparam("org_id"), customers.c.id.in_(bindparam("ids", expanding=True))
)


_LOYALTY_TYPES = select(customers.c.id, customers.c.loyalty_type).where(
    customers.c.org_id == bindparam("org_id"), customers.c.id.in_(bindparam("ids", expanding=True))
)


def _identifier_pairs(given: Mapping[IdentifierType, str]) -> list[tuple[str, str]]:
    return [(kind.value, value) for kind, value in given.items()]


async def owners_of_identifiers(
    connection: AsyncConnection, *, org_id: int, given: Mapping[IdentifierType, str]
) -> list[Any]:
    """The customers owning these identifiers: rows (type, value, customer_id, first_name, last_name,
    loyalty_type)."""
    return list(
        (await connection.execute(_OWNERS_OF_IDENTIFIERS, {"org_id": org_id, "pairs": _identifier_pairs(given)})).all()
    )


async def owner_ids(connection: AsyncConnection, *, org_id: int, given: Mapping[IdentifierType, str]) -> list[int]:
    """The distinct customers owning any of these identifiers."""
    parameters = {"org_id": org_id, "pairs": _identifier_pairs(given)}
    return list((await connection.execute(_OWNER_IDS, parameters)).scalars())


async def lock_customers(connection: AsyncConnection, customer_ids: Iterable[int]) -> None:
    """Lock these customers' rows in id order."""
    await connection.execute(_LOCK_CUSTOMERS, {"ids": sorted(customer_ids)})


async def customer_id_by_user_id(connection: AsyncConnection, *, org_id: int, user_id: int) -> int | None:
    return (await connection.execute(_CUSTOMER_BY_USER_ID, {"org_id": org_id, "user_id": user_id})).scalar_one_or_none()


async def customer_id_by_identifier(
    connection: AsyncConnection, *, org_id: int, kind: IdentifierType, value: str
) -> int | None:
    """The owner of an identifier (normalised), None when nobody has it."""
    parameters = {"org_id": org_id, "type": kind.value, "value": value}
    return (await connection.execute(_CUSTOMER_BY_IDENTIFIER, parameters)).scalar_one_or_none()


@lru_cache(maxsize=4)
def _customers_by_identifier_statement(dialect: str) -> Any:
    return text(
        f"SELECT identifiers.value, identifiers.customer_id FROM {identifiers.name} identifiers "
        f"WHERE identifiers.org_id = :org_id AND identifiers.type = :type "
        f"AND identifiers.value {any_of(dialect, 'values')}"
    )


async def customers_by_identifier(
    connection: AsyncConnection, *, org_id: int, kind: IdentifierType, values: Sequence[str]
) -> dict[str, int]:
    """The owners of identifiers of one kind (normalised), by value; unknown values are absent.
    One statement for any number of values (the list bound as one parameter)."""
    if not values:
        return {}
    dialect = connection.dialect.name
    parameters = {"org_id": org_id, "type": kind.value, "values": list_parameter(dialect, values)}
    rows = await connection.execute(_customers_by_identifier_statement(dialect), parameters)
    return {row.value: row.customer_id for row in rows}


_CUSTOMER_IDS_PAGE = (
    select(customers.c.id)
    .where(
        customers.c.org_id == bindparam("org_id"),
        customers.c.id > bindparam("after_id"),
        customers.c.merged_into_customer_id.is_(None),
        customers.c.kind == CustomerKind.CUSTOMER.value,
    )
    .order_by(customers.c.id)
    .limit(bindparam("limit"))
)


async def customer_ids_page(connection: AsyncConnection, *, org_id: int, after_id: int, limit: int) -> list[int]:
    """The organisation's customers (people, not merged away), by id after `after_id`."""
    parameters = {"org_id": org_id, "after_id": after_id, "limit": limit}
    return list((await connection.execute(_CUSTOMER_IDS_PAGE, parameters)).scalars())


async def merge_states(connection: AsyncConnection, customer_ids: Sequence[int], *, lock: bool = False) -> list[Any]:
    """These customers by id with whom each was merged into (None: not merged): rows (id,
    merged_into_customer_id); `lock` locks them all in id order."""
    statement = _LOCK_MERGE_STATES if lock else _MERGE_STATES
    return list((await connection.execute(statement, {"ids": sorted(customer_ids)})).all())


async def lock_customer(connection: AsyncConnection, customer_id: int) -> Any:
    """Lock one customer's row: a row (id, merged_into_customer_id)."""
    return (await connection.execute(_LOCK_CUSTOMER, {"customer_id": customer_id})).one()


async def merged_into(connection: AsyncConnection, customer_id: int, *, lock: bool = False) -> int | None:
    """Whom the customer was merged into (None: not merged); `lock` locks its row."""
    statement = _LOCK_MERGED_INTO if lock else _MERGED_INTO
    return (await connection.execute(statement, {"customer_id": customer_id})).scalar_one()


async def customers_merged_into(connection: AsyncConnection, survivor_ids: Sequence[int]) -> list[int]:
    """The customers merged directly into any of these."""
    return list(
        (
            await connection.execute(
                select(customers.c.id).where(customers.c.merged_into_customer_id.in_(list(survivor_ids)))
            )
        ).scalars()
    )


async def customer_kinds(connection: AsyncConnection, *, org_id: int, customer_ids: Sequence[int]) -> dict[int, str]:
    """The kind (CUSTOMER or USER_GROUP) of these customers of the org; other ids are absent."""
    if not customer_ids:
        return {}
    rows = await connection.execute(_CUSTOMER_KINDS, {"org_id": org_id, "ids": list(customer_ids)})
    return {row.id: row.kind for row in rows}


async def loyalty_types(connection: AsyncConnection, *, org_id: int, customer_ids: Sequence[int]) -> dict[int, str]:
    """The loyalty type (LOYALTY or NON_LOYALTY) of these customers of the org; other ids are absent."""
    rows = await connection.execute(_LOYALTY_TYPES, {"org_id": org_id, "ids": list(customer_ids)})
    return {row.id: row.loyalty_type for row in rows}


# --- Customers and identifiers --------------------------------------------------------------

_INSERT_CUSTOMER = direct(insert(customers).returning(customers.c.id))
_INSERT_IDENTIFIERS = direct(insert(identifiers))
_INSERT_HISTORY = direct(insert(history))
_ADD_LIFETIME_PURCHASES = direct(
    update(customers)
    .where(customers.c.id == bindparam("customer_id"))
    .values(
        lifetime_purchases=customers.c.lifetime_purchases
        + bindparam("counted", type_=customers.c.lifetime_purchases.type)
    )
)


NEW_CUSTOMER_LOYALTY_TYPE = LoyaltyType.LOYALTY.value


async def insert_customer(
    connection: AsyncConnection,
    *,
    org_id: int,
    first_name: str,
    last_name: str,
    source: str,
    now: datetime,
    kind: CustomerKind | None = None,
    loyalty_type: str = NEW_CUSTOMER_LOYALTY_TYPE,
) -> int:
    """A new customer with no purchases yet (enrolled, unless `loyalty_type` says NON_LOYALTY);
    `kind` USER_GROUP for a group's account holder (None: the column's default, a customer)."""
    values: dict[str, Any] = {
        "org_id": org_id,
        "first_name": first_name,
        "last_name": last_name,
        "first_name_key": name_search_key(first_name),
        "last_name_key": name_search_key(last_name),
        "loyalty_type": loyalty_type,
        "source": source,
        "lifetime_purchases": ZERO,
        "registered_on": now,
        "updated_on": now,
    }
    if kind is not None:
        values["kind"] = kind.value
    return (await connection.execute(_INSERT_CUSTOMER, values)).scalar_one()


async def insert_identifiers(
    connection: AsyncConnection, *, org_id: int, customer_id: int, given: Mapping[IdentifierType, str], now: datetime
) -> None:
    await connection.execute(
        _INSERT_IDENTIFIERS,
        [
            {"org_id": org_id, "customer_id": customer_id, "type": kind.value, "value": value, "created_at": now}
            for kind, value in given.items()
        ],
    )


async def identifiers_of(connection: AsyncConnection, customer_id: int) -> list[Any]:
    """The customer's identifiers: rows (type, value)."""
    return list(
        (
            await connection.execute(
                select(identifiers.c.type, identifiers.c.value).where(identifiers.c.customer_id == customer_id)
            )
        ).all()
    )


async def delete_identifier(
    connection: AsyncConnection, *, org_id: int, customer_id: int, kind: IdentifierType, value: str
) -> int:
    """Take one identifier from the customer; returns how many rows went (0: the customer has no such one)."""
    return (
        await connection.execute(
            delete(identifiers).where(
                identifiers.c.org_id == org_id,
                identifiers.c.customer_id == customer_id,
                identifiers.c.type == kind.value,
                identifiers.c.value == value,
            )
        )
    ).rowcount


async def move_identifiers(connection: AsyncConnection, *, from_customer_id: int, to_customer_id: int) -> None:
    await connection.execute(
        update(identifiers).where(identifiers.c.customer_id == from_customer_id).values(customer_id=to_customer_id)
    )


_CUSTOMER_NAMES = direct(
    select(customers.c.first_name, customers.c.last_name).where(customers.c.id == bindparam("customer_id"))
)


async def customer_names(connection: AsyncConnection, customer_id: int) -> tuple[str, str]:
    """(first name, last name)."""
    row = (await connection.execute(_CUSTOMER_NAMES, {"customer_id": customer_id})).one()
    return row.first_name, row.last_name


async def profile_of(connection: AsyncConnection, customer_id: int) -> Any:
    """The customer's profile: a row (first_name, last_name, extended_fields)."""
    return (
        await connection.execute(
            select(customers.c.first_name, customers.c.last_name, customers.c.extended_fields).where(
                customers.c.id == customer_id
            )
        )
    ).one()


async def update_customer(
    connection: AsyncConnection, customer_id: int, changes: Mapping[str, Any], *, now: datetime
) -> None:
    """Set these columns (names) and mark the customer updated; a changed name changes its search key."""
    keys = {
        f"{column}_key": name_search_key(changes[column]) for column in ("first_name", "last_name") if column in changes
    }
    values = {"updated_on": now, **changes, **keys}
    await connection.execute(
        _update_customer_statement(tuple(values)),
        {"customer_id": customer_id, **{f"new_{column}": value for column, value in values.items()}},
    )


# By the columns it sets (a few combinations, all named in code): built once, so a bill that
# renames its customer does not build and key a new statement every time.
_UPDATE_CUSTOMER: dict[tuple[str, ...], Any] = {}


def _update_customer_statement(columns: tuple[str, ...]) -> Any:
    statement = _UPDATE_CUSTOMER.get(columns)
    if statement is None:
        statement = _UPDATE_CUSTOMER[columns] = direct(
            update(customers)
            .where(customers.c.id == bindparam("customer_id"))
            .values(
                {customers.c[column]: bindparam(f"new_{column}", type_=customers.c[column].type) for column in columns}
            )
        )
    return statement


async def add_lifetime_purchases(connection: AsyncConnection, *, customer_id: int, amount: Decimal) -> None:
    """lifetime_purchases += amount in one statement (a purchase that counts)."""
    await connection.execute(_ADD_LIFETIME_PURCHASES, {"customer_id": customer_id, "counted": amount})


async def subtract_lifetime_purchases(connection: AsyncConnection, *, customer_id: int, amount: Decimal) -> None:
    """lifetime_purchases -= amount in one statement, never below zero: purchases counted before
    they were tracked are not negative."""
    counted = bindparam("counted", type_=customers.c.lifetime_purchases.type)
    await connection.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(
            lifetime_purchases=case(
                (customers.c.lifetime_purchases > counted, customers.c.lifetime_purchases - counted), else_=ZERO
            )
        ),
        {"counted": amount},
    )


async def merge_customer_rows(connection: AsyncConnection, *, survivor_id: int, victim_id: int, now: datetime) -> None:
    """The victim's purchases move (not copy) to the survivor, and the victim points at its
    survivor from now on; both are marked updated."""
    victim = (await connection.execute(select(customers.c.lifetime_purchases).where(customers.c.id == victim_id))).one()
    await connection.execute(
        update(customers)
        .where(customers.c.id == survivor_id)
        .values(lifetime_purchases=customers.c.lifetime_purchases + victim.lifetime_purchases, updated_on=now)
    )
    await connection.execute(
        update(customers)
        .where(customers.c.id == victim_id)
        .values(merged_into_customer_id=survivor_id, lifetime_purchases=ZERO, updated_on=now)
    )


# --- Standings (tier and cumulative purchases per program) -----------------------------------

_LOCK_STANDING = direct(
    select(customer_programs.c.id, customer_programs.c.tier_id, customer_programs.c.cumulative_purchases)
    .where(
        customer_programs.c.customer_id == bindparam("customer_id"),
        customer_programs.c.program_id == bindparam("program_id"),
    )
    .with_for_update()
)
_UPDATE_PURCHASES = direct(
    update(customer_programs)
    .where(customer_programs.c.id == bindparam("standing_id"))
    .values(cumulative_purchases=bindparam("cumulative_purchases"))
)
_UPDATE_PURCHASES_AND_TIER = direct(
    update(customer_programs)
    .where(customer_programs.c.id == bindparam("standing_id"))
    .values(
        cumulative_purchases=bindparam("cumulative_purchases"),
        tier_id=bindparam("tier_id"),
        tier_expires_at=bindparam("tier_expires_at"),
    )
)


_INSERT_STANDINGS = direct(insert(customer_programs))


async def insert_standings(
    connection: AsyncConnection, *, org_id: int, customer_id: int, tier_ids: Mapping[int, int]
) -> None:
    """A standing per program (program id -> its starting tier id), with no purchases yet."""
    await connection.execute(
        _INSERT_STANDINGS,
        [
            {
                "org_id": org_id,
                "customer_id": customer_id,
                "program_id": program_id,
                "tier_id": tier_id,
                "tier_expires_at": None,
                "cumulative_purchases": ZERO,
            }
            for program_id, tier_id in tier_ids.items()
        ],
    )


async def program_ids_of(connection: AsyncConnection, customer_id: int) -> set[int]:
    """The programs the customer has a standing in."""
    return set(
        (
            await connection.execute(
                select(customer_programs.c.program_id).where(customer_programs.c.customer_id == customer_id)
            )
        ).scalars()
    )


async def standings_of(connection: AsyncConnection, customer_id: int) -> list[Any]:
    """The customer's standings: rows of all their columns."""
    return list(
        (
            await connection.execute(select(customer_programs).where(customer_programs.c.customer_id == customer_id))
        ).all()
    )


async def lock_standing(connection: AsyncConnection, *, customer_id: int, program_id: int) -> Any:
    """The customer's standing in a program, locked: a row (id, tier_id, cumulative_purchases), or
    None when the customer has none there yet."""
    parameters = {"customer_id": customer_id, "program_id": program_id}
    return (await connection.execute(_LOCK_STANDING, parameters)).one_or_none()


async def set_cumulative_purchases(
    connection: AsyncConnection,
    *,
    standing_id: int,
    cumulative_purchases: Decimal,
    tier_id: int | None = None,
    tier_expires_at: datetime | None = None,
) -> None:
    """A purchase's change to a standing; `tier_id` when the tier changed (with its expiry)."""
    if tier_id is None:
        parameters: dict[str, Any] = {"standing_id": standing_id, "cumulative_purchases": cumulative_purchases}
        await connection.execute(_UPDATE_PURCHASES, parameters)
        return
    parameters = {
        "standing_id": standing_id,
        "cumulative_purchases": cumulative_purchases,
        "tier_id": tier_id,
        "tier_expires_at": tier_expires_at,
    }
    await connection.execute(_UPDATE_PURCHASES_AND_TIER, parameters)


async def update_standing(connection: AsyncConnection, standing_id: int, changes: Mapping[str, Any]) -> None:
    await connection.execute(update(customer_programs).where(customer_programs.c.id == standing_id).values(**changes))


async def close_standings(connection: AsyncConnection, customer_id: int) -> None:
    """Every standing of a merge victim: no purchases (they moved to the survivor) and no tier
    expiry (a closed customer's tier no longer runs out: the expiry run passes it by)."""
    await connection.execute(
        update(customer_programs)
        .where(customer_programs.c.customer_id == customer_id)
        .values(cumulative_purchases=ZERO, tier_expires_at=None)
    )


# --- User group memberships -----------------------------------------------------------------


async def group_ids_of(connection: AsyncConnection, customer_id: int) -> set[int]:
    """The groups the customer is a member of."""
    return set(
        (
            await connection.execute(select(group_members.c.group_id).where(group_members.c.customer_id == customer_id))
        ).scalars()
    )


async def groups_of_customers(connection: AsyncConnection, customer_ids: Sequence[int]) -> list[Any]:
    """The memberships of these customers: rows (customer_id, group_id) by group id."""
    return list(
        (
            await connection.execute(
                select(group_members.c.customer_id, group_members.c.group_id)
                .where(group_members.c.customer_id.in_(list(customer_ids)))
                .order_by(group_members.c.group_id)
            )
        ).all()
    )


async def members_among(connection: AsyncConnection, group_id: int, customer_ids: Sequence[int]) -> set[int]:
    """Which of these customers are members of the group."""
    return set(
        (
            await connection.execute(
                select(group_members.c.customer_id).where(
                    group_members.c.group_id == group_id, group_members.c.customer_id.in_(list(customer_ids))
                )
            )
        ).scalars()
    )


async def memberships_among(connection: AsyncConnection, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (group id, customer id) pairs are memberships."""
    rows = await connection.execute(
        select(group_members.c.group_id, group_members.c.customer_id).where(
            pairs_in(group_members.c.group_id, group_members.c.customer_id, pairs)
        )
    )
    return {(row.group_id, row.customer_id) for row in rows}


async def insert_memberships(
    connection: AsyncConnection, *, org_id: int, memberships: Sequence[tuple[int, int]], now: datetime
) -> None:
    """New memberships, each (group id, customer id)."""
    await connection.execute(
        insert(group_members),
        [
            {"group_id": group_id, "customer_id": customer_id, "org_id": org_id, "added_at": now}
            for group_id, customer_id in memberships
        ],
    )


async def delete_memberships(
    connection: AsyncConnection, *, org_id: int, group_id: int, customer_ids: Sequence[int]
) -> int:
    """End these customers' memberships of the group; returns how many there were."""
    return (
        await connection.execute(
            delete(group_members).where(
                group_members.c.org_id == org_id,
                group_members.c.group_id == group_id,
                group_members.c.customer_id.in_(list(customer_ids)),
            )
        )
    ).rowcount


async def delete_memberships_of(connection: AsyncConnection, customer_id: int) -> None:
    """The customer leaves every group."""
    await connection.execute(delete(group_members).where(group_members.c.customer_id == customer_id))


async def member_ids_page(connection: AsyncConnection, group_id: int, *, limit: int, after_id: int | None) -> list[int]:
    """The group's member customer ids by id (keyset: after `after_id`), at most `limit`."""
    query = select(group_members.c.customer_id).where(group_members.c.group_id == group_id)
    if after_id is not None:
        query = query.where(group_members.c.customer_id > after_id)
    return list((await connection.execute(query.order_by(group_members.c.customer_id).limit(limit))).scalars())


async def count_members(connection: AsyncConnection, group_id: int) -> int:
    return (
        await connection.execute(
            select(func.count()).select_from(group_members).where(group_members.c.group_id == group_id)
        )
    ).scalar_one()


# --- Search (member care's customer search) ------------------------------------------------


def search_statement(
    *,
    org_id: int,
    limit: int,
    name_range: tuple[str, str | None] | None = None,
    customer_ids: Sequence[int] | None = None,
    registered_from: datetime | None = None,
    registered_until: datetime | None = None,
    standing: tuple[int, int] | None = None,
    after_id: int | None = None,
    among: Any = None,
) -> Any:
    """The ids of the customers (not user group accounts, not merged away) of the org by id
    (keyset: after `after_id`), at most `limit`, matching every criterion given:
    - `name_range` (lowest key, bound or None): a first or last name key in [lowest, bound): the
      ids from a range scan of ix_customers_first_name_key and one of ix_customers_last_name_key
      (covering on SQLite; index or bitmap scans on PostgreSQL), then the customers by primary
      key in id order: the cost grows with the customers the prefix matches, not with the org;
    - `customer_ids`: one of these (what identifier lookups found);
    - `registered_from` (inclusive) and `registered_until` (exclusive);
    - `standing` (program id, tier id): the customer's tier in that program;
    - `among`: a SELECT of customer ids another domain hands over (a segment's members), read as
      a subquery: a segment of millions is never a list of ids in memory."""
    conditions = [
        customers.c.org_id == org_id,
        customers.c.kind == CustomerKind.CUSTOMER.value,
        customers.c.merged_into_customer_id.is_(None),
    ]
    if name_range is not None:
        # One branch per key, each with the org in it: the planner serves each with its
        # (org_id, key) index instead of walking the org's customers (an OR beside the org's
        # condition made SQLite choose ix_customers_org_id, a scan of the whole org).
        lowest, bound = name_range
        branches = [
            select(customers.c.id).where(
                customers.c.org_id == org_id, key >= lowest, *([key < bound] if bound is not None else [])
            )
            for key in (customers.c.first_name_key, customers.c.last_name_key)
        ]
        conditions.append(customers.c.id.in_(union_all(*branches)))
    if customer_ids is not None:
        conditions.append(customers.c.id.in_(list(customer_ids)))
    if among is not None:
        conditions.append(customers.c.id.in_(among))
    if registered_from is not None:
        conditions.append(customers.c.registered_on >= registered_from)
    if registered_until is not None:
        conditions.append(customers.c.registered_on < registered_until)
    if standing is not None:
        program_id, tier_id = standing
        conditions.append(
            exists().where(
                customer_programs.c.customer_id == customers.c.id,
                customer_programs.c.program_id == program_id,
                customer_programs.c.tier_id == tier_id,
            )
        )
    if after_id is not None:
        conditions.append(customers.c.id > after_id)
    return select(customers.c.id).where(*conditions).order_by(customers.c.id).limit(limit)


async def search_customer_ids(connection: AsyncConnection, **criteria: Any) -> list[int]:
    """What `search_statement(**criteria)` finds."""
    return list((await connection.execute(search_statement(**criteria))).scalars())


# --- History --------------------------------------------------------------------------------


async def insert_history(
    connection: AsyncConnection, *, org_id: int, customer_id: int, now: datetime, rows: Sequence[Mapping[str, Any]]
) -> None:
    """History rows of one customer (each: `action` and whichever other columns it sets)."""
    if rows:
        await connection.execute(
            _INSERT_HISTORY,
            [
                {
                    "org_id": org_id,
                    "customer_id": customer_id,
                    "created_at": now,
                    "identifier_type": None,
                    "identifier_value": None,
                    "other_customer_id": None,
                    "transaction_id": None,
                    "details": None,
                    **row,
                }
                for row in rows
            ],
        )


async def history_page(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    actions: Sequence[HistoryAction],
    limit: int,
    after_id: int | None,
    requested_only: bool = False,
) -> list[Any]:
    """The customer's history newest first by id (keyset: before `after_id`), at most `limit`
    rows (id, action, identifier_type, identifier_value, other_customer_id, details, created_at,
    source, account); `actions` narrows to those kinds of change, `requested_only` to what member
    care asked for."""
    conditions = [history.c.org_id == org_id, history.c.customer_id == customer_id]
    if actions:
        conditions.append(history.c.action.in_([action.value for action in actions]))
    if requested_only:
        conditions.append(history.c.requested.is_(True))
    if after_id is not None:
        conditions.append(history.c.id < after_id)
    return list(
        (
            await connection.execute(
                select(
                    history.c.id,
                    history.c.action,
                    history.c.identifier_type,
                    history.c.identifier_value,
                    history.c.other_customer_id,
                    history.c.details,
                    history.c.created_at,
                    history.c.source,
                    history.c.account,
                )
                .where(*conditions)
                .order_by(history.c.id.desc())
                .limit(limit)
            )
        ).all()
    )


# --- The read model -------------------------------------------------------------------------

# One row per (customer, program): the customer, its standing, and (the ledger's part, see
# `ledger_repository.join_program_points`) its REGULAR balance there and the counters of all its
# accounts there.
_LOAD_STANDINGS = brief_read(
    ledger_repository.join_program_points(
        select(
            customers.c.id,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.loyalty_type,
            customers.c.source,
            customers.c.registered_on,
            customers.c.updated_on,
            customers.c.lifetime_purchases,
            customers.c.merged_into_customer_id,
            customers.c.extended_fields,
            customer_programs.c.program_id,
            customer_programs.c.tier_id,
            customer_programs.c.tier_expires_at,
            customer_programs.c.cumulative_purchases,
        ).join(customer_programs, customer_programs.c.customer_id == customers.c.id),
        customers.c.id,
        customer_programs.c.program_id,
    )
    .where(customers.c.org_id == bindparam("org_id"), customers.c.id.in_(bindparam("ids", expanding=True)))
    .group_by(customers.c.id, customer_programs.c.id)
    .order_by(customers.c.id, customer_programs.c.program_id)
)
_LOAD_IDENTIFIERS = brief_read(
    select(identifiers.c.customer_id, identifiers.c.type, identifiers.c.value)
    .where(identifiers.c.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(identifiers.c.id)
)


async def customers_with_standings(
    connection: AsyncConnection, *, org_id: int, customer_ids: Sequence[int], now: datetime
) -> list[Any]:
    """One row per (customer, program) by customer and program: the customer's columns, its
    standing there, its REGULAR balance there and the counters of all its accounts there
    (`balance`, `earned`, `redeemed`, `expired`, `returned`, `adjusted`), and what the lots
    do not hold at `now` (`regular_not_held`, `past_expiry`). One statement."""
    return list(
        (await connection.execute(_LOAD_STANDINGS, {"org_id": org_id, "ids": list(customer_ids), "now": now})).all()
    )


async def identifiers_of_customers(connection: AsyncConnection, customer_ids: Sequence[int]) -> list[Any]:
    """The identifiers of these customers in the order they were added: rows (customer_id, type, value)."""
    return list((await connection.execute(_LOAD_IDENTIFIERS, {"ids": list(customer_ids)})).all())


# --- Many registrations at once (bulk.register_customers) -----------------------------------

_CUSTOMER_COLUMNS = (
    "id",
    "org_id",
    "first_name",
    "last_name",
    "first_name_key",
    "last_name_key",
    "loyalty_type",
    "source",
    "lifetime_purchases",
    "registered_on",
    "updated_on",
)


async def insert_registrations_in_bulk(
    connection: AsyncConnection,
    *,
    org_id: int,
    kind: IdentifierType,
    values: Sequence[str],
    source: str,
    details: Mapping[str, Any] | None,
    tier_ids: Mapping[int, int],
    now: datetime,
    names: Sequence[tuple[str, str]] | None = None,
) -> list[int]:
    """One new customer per identifier value: the customer row (named by `names`, (first, last)
    per value, blank without), its identifier, a REGISTERED history row (with `details`) and a
    standing per program (program id -> starting tier id).
    Ids are reserved first and each table written in one executemany (app.storage.bulk_insert);
    returns the customer ids in the order of `values`."""
    customer_ids = await reserve_ids(connection, customers, len(values))
    loyalty = LoyaltyType.LOYALTY.value
    named = names if names is not None else [("", "")] * len(values)
    assert len(named) == len(values), "one name per identifier"
    await insert_rows(
        connection,
        customers,
        _CUSTOMER_COLUMNS,
        [
            (
                customer_id,
                org_id,
                first,
                last,
                name_search_key(first),
                name_search_key(last),
                loyalty,
                source,
                ZERO,
                now,
                now,
            )
            for customer_id, (first, last) in zip(customer_ids, named, strict=True)
        ],
    )
    await insert_rows(
        connection,
        identifiers,
        ("org_id", "customer_id", "type", "value", "created_at"),
        [
            (org_id, customer_id, kind.value, value, now)
            for customer_id, value in zip(customer_ids, values, strict=True)
        ],
    )
    await connection.execute(
        _INSERT_HISTORY,
        [
            {
                "org_id": org_id,
                "customer_id": customer_id,
                "created_at": now,
                "action": HistoryAction.REGISTERED.value,
                "identifier_type": None,
                "identifier_value": None,
                "other_customer_id": None,
                "transaction_id": None,
                "details": {kind.value: value, **(details or {})},
            }
            for customer_id, value in zip(customer_ids, values, strict=True)
        ],
    )
    await insert_rows(
        connection,
        customer_programs,
        ("org_id", "customer_id", "program_id", "tier_id", "tier_expires_at", "cumulative_purchases"),
        [
            (org_id, customer_id, program_id, tier_id, None, ZERO)
            for customer_id in customer_ids
            for program_id, tier_id in tier_ids.items()
        ],
    )
    return customer_ids


# --- Tier history and tier expiry -----------------------------------------------------------


async def insert_tier_changes(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await connection.execute(insert(tier_changes), [dict(row) for row in rows])


async def tier_changes_page(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    program_id: int | None,
    limit: int,
    after_id: int | None,
) -> list[Any]:
    """The customer's tier changes newest first by id (keyset: before `after_id`), at most `limit`
    rows of all columns; `program_id` narrows to one program."""
    conditions = [tier_changes.c.org_id == org_id, tier_changes.c.customer_id == customer_id]
    if program_id is not None:
        conditions.append(tier_changes.c.program_id == program_id)
    if after_id is not None:
        conditions.append(tier_changes.c.id < after_id)
    statement = select(tier_changes).where(*conditions).order_by(tier_changes.c.id.desc()).limit(limit)
    return list((await connection.execute(statement)).all())


_EXPIRY_COLUMNS = (
    customer_programs.c.id,
    customer_programs.c.customer_id,
    customer_programs.c.program_id,
    customer_programs.c.tier_id,
)


async def standings_with_tier_expired(
    connection: AsyncConnection, *, org_id: int, as_of: datetime, limit: int
) -> list[Any]:
    """The org's first `limit` standings whose tier validity ended at or before `as_of`, soonest
    first, unlocked: rows (id, customer_id, program_id, tier_id)."""
    statement = (
        select(*_EXPIRY_COLUMNS)
        .where(customer_programs.c.org_id == org_id, customer_programs.c.tier_expires_at <= as_of)
        .order_by(customer_programs.c.tier_expires_at, customer_programs.c.id)
        .limit(limit)
    )
    return list((await connection.execute(statement)).all())


async def lock_standings_still_expired(
    connection: AsyncConnection, *, org_id: int, standing_ids: Sequence[int], as_of: datetime
) -> list[Any]:
    """These standings, locked in id order (FOR UPDATE on PostgreSQL; SQLite has one writer),
    those of them whose tier validity still ends by `as_of` (a concurrent run or merge may have
    changed them meanwhile): rows (id, customer_id, program_id, tier_id)."""
    statement = (
        select(*_EXPIRY_COLUMNS)
        .where(
            customer_programs.c.org_id == org_id,
            customer_programs.c.id.in_(list(standing_ids)),
            customer_programs.c.tier_expires_at <= as_of,
        )
        .order_by(customer_programs.c.id)
        .with_for_update()
    )
    return list((await connection.execute(statement)).all())


async def expire_tiers(
    connection: AsyncConnection,
    *,
    org_id: int,
    program_id: int,
    standings: Sequence[tuple[int, int]],
    as_of: datetime,
    base_tier_id: int,
) -> set[int]:
    """One guarded statement for a program's (standing id, tier id) pairs: each drops to the base
    tier with no expiry and starts a new qualifying period (no purchases counted), only if it
    still holds that tier with a validity ended by `as_of`. Returns the ids it changed."""
    result = await connection.execute(
        update(customer_programs)
        .where(
            customer_programs.c.org_id == org_id,
            customer_programs.c.program_id == program_id,
            tuple_(customer_programs.c.id, customer_programs.c.tier_id).in_(list(standings)),
            customer_programs.c.tier_expires_at <= as_of,
        )
        .values(tier_id=base_tier_id, tier_expires_at=None, cumulative_purchases=ZERO)
        .returning(customer_programs.c.id)
    )
    return set(result.scalars())
