"""User groups: create one, add and remove members, read it back; and the account holders that
awards go to (a customer, or a group's backing customer row).

Choices where the seed is silent:
- A group is found by its external id (unique in the org) or by its group id; it also has a name.
- A customer may be in several groups at once; membership is a set (adding a member twice keeps
  one membership, removing a non-member is a no-op that reports what changed).
- The group's points live on a backing `customers` row of kind USER_GROUP with no identifiers:
  transactions never resolve to it, but its user id reads its ledger (ledgerEntries with
  USER_ID), its points summaries, expiry and reconciliation like any customer's.
- Members keep their own points; the group's account is the group's alone.

Bulk-callable (take the caller's AsyncConnection, inside its write transaction, any number of rows):
- `find_groups(connection, org, kind, values) -> dict[str, GroupView]`
- `add_members(connection, org, group_id, customer_ids, now) -> int` (memberships added)
- `remove_members(connection, org, group_id, customer_ids) -> int` (memberships removed)
- `regular_accounts(connection, org, program, holder_ids, now) -> dict[int, AccountRef]`
- `lock_holders(connection, field_by_holder) -> None`
- `resolve_holder(connection, org, customer, user_group, path) -> (holder id, group id, field)` (one row)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import repository as customers_repository
from app.customers import service as customers_service
from app.customers.models import CustomerKind
from app.customers.service import Activity, CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.enums import PointsCategory
from app.kernel.errors import ValidationError
from app.kernel.text import check_code, check_required_code, check_text
from app.ledger import repository as ledger_repository
from app.ledger import service as ledger
from app.organizations.config import OrgConfig, ProgramConfig
from app.storage.database import Database, lock_keys
from app.user_groups import repository
from app.user_groups.errors import NotACustomerError, UserGroupExistsError, UserGroupNotFoundError
from app.user_groups.models import EXTERNAL_ID_LENGTH_MAX, NAME_LENGTH_MAX
from app.user_groups.views import GroupView

MEMBERS_PER_REQUEST_MAX = 1000


class GroupIdentifierType(StrEnum):
    """How a group is named in a request or a file (the seed's User Group2 Identifier Type)."""

    EXTERNAL_ID = "EXTERNAL_ID"
    GROUP_ID = "GROUP_ID"


@dataclass(frozen=True)
class GroupLookup:
    kind: GroupIdentifierType
    value: str

    def payload(self) -> list[str]:
        return [self.kind.value, self.value]


def check_external_id(value: str, field: str) -> str:
    return check_required_code(value, field, EXTERNAL_ID_LENGTH_MAX)


def check_name(value: str | None, field: str) -> str:
    """Stripped; empty when not given."""
    return check_text((value or "").strip(), field, NAME_LENGTH_MAX) or ""


async def find_groups(
    connection: AsyncConnection, org: OrgConfig, kind: GroupIdentifierType, values: Sequence[str]
) -> dict[str, GroupView]:
    """Groups by external id or group id (as text), in one query; values naming no group are absent."""
    if kind is GroupIdentifierType.EXTERNAL_ID:
        wanted = {value.strip(): value for value in values}
        found = await repository.groups_by_external_id(connection, org_id=org.id, external_ids=list(wanted))
        return {wanted[group.external_id]: group for group in found}
    ids: dict[int, str] = {}
    for value in values:
        group_id = customers_service.parse_user_id(value)
        if group_id is not None:
            ids[group_id] = value
    found = await repository.groups_by_id(connection, org_id=org.id, group_ids=list(ids))
    return {ids[group.id]: group for group in found}


async def find_group(connection: AsyncConnection, org: OrgConfig, lookup: GroupLookup, field: str) -> GroupView:
    check_code(lookup.value, f"{field}.value", EXTERNAL_ID_LENGTH_MAX)  # what no group can have is refused
    found = (await find_groups(connection, org, lookup.kind, [lookup.value])).get(lookup.value)
    if found is None:
        raise UserGroupNotFoundError(f"no user group with {lookup.kind.value} {lookup.value!r}", field=field)
    return found


async def resolve_holder(
    connection: AsyncConnection,
    org: OrgConfig,
    customer: CustomerLookup | None,
    user_group: GroupLookup | None,
    path: str,
) -> tuple[int, int | None, str]:
    """(holder id, group id or None, the field naming it) for exactly one of a customer or a group."""
    if (customer is None) == (user_group is None):
        raise ValidationError("give exactly one of customer and userGroup", field=f"{path}.customer")
    if customer is not None:
        holder_id = await customers_service.find_customer(connection, org, customer, f"{path}.customer")
        return holder_id, None, f"{path}.customer"
    assert user_group is not None
    group = await find_group(connection, org, user_group, f"{path}.userGroup")
    return group.customer_id, group.id, f"{path}.userGroup"


async def lock_holders(connection: AsyncConnection, field_by_holder: dict[int, str]) -> None:
    """Lock account holders (customers or groups' backing rows) in id order and refuse merged
    customers (CUSTOMER_MERGED on their field): what every award does before it credits."""
    await customers_service.lock_unmerged(connection, field_by_holder)


async def regular_accounts(
    connection: AsyncConnection, org: OrgConfig, program: ProgramConfig, holder_ids: Sequence[int], now: datetime
) -> dict[int, ledger.AccountRef]:
    """Each holder's REGULAR account in `program` (awards are spendable at once), in one query;
    a holder registered before the program existed has it opened first (as purchases do)."""
    wanted = sorted(set(holder_ids))

    async def read() -> dict[int, ledger.AccountRef]:
        account_ids = await ledger_repository.regular_account_ids(connection, wanted, program_id=program.id)
        return {
            customer_id: ledger.AccountRef(account_id, customer_id, program.id, PointsCategory.REGULAR)
            for customer_id, account_id in account_ids.items()
        }

    found = await read() if wanted else {}
    missing = [holder_id for holder_id in wanted if holder_id not in found]
    for holder_id in missing:
        await customers_service.open_missing_programs(connection, org, holder_id, Activity(None, None, None), now)
    if missing:
        found = await read()
    assert len(found) == len(wanted), "every holder has an account in every program"
    return found


async def group_of_holder(connection: AsyncConnection, holder_id: int) -> int | None:
    """The group whose account holder `holder_id` is (its group id), None when it is a customer."""
    return await repository.group_of_holder(connection, holder_id)


async def customer_kinds(connection: AsyncConnection, org: OrgConfig, customer_ids: Sequence[int]) -> dict[int, str]:
    """The kind (CUSTOMER or USER_GROUP) of these customers of the org; other ids are absent."""
    return await customers_repository.customer_kinds(connection, org_id=org.id, customer_ids=list(set(customer_ids)))


# --- Use cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateGroupRequest:
    external_id: str
    name: str | None = None
    members: tuple[CustomerLookup, ...] = ()
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ChangeMembersRequest:
    group: GroupLookup
    members: tuple[CustomerLookup, ...]
    idempotency_key: str | None = None


@dataclass(frozen=True)
class GroupResult:
    group: GroupView
    members_changed: int
    replayed: bool


def _check_members(lookups: Sequence[CustomerLookup], field: str) -> None:
    if len(lookups) > MEMBERS_PER_REQUEST_MAX:
        raise ValidationError(f"at most {MEMBERS_PER_REQUEST_MAX} members a request", field=field)


async def _member_ids(
    connection: AsyncConnection, org: OrgConfig, lookups: Sequence[CustomerLookup], field: str
) -> list[int]:
    """Customers named as members: found, unmerged (locked), and customers rather than groups."""
    found: dict[int, str] = {}
    for index, lookup in enumerate(lookups):
        customer_id = await customers_service.find_customer(connection, org, lookup, f"{field}[{index}]")
        found.setdefault(customer_id, f"{field}[{index}]")
    await lock_holders(connection, found)
    kinds = await customer_kinds(connection, org, list(found))
    for customer_id, customer_field in found.items():
        if kinds.get(customer_id) != CustomerKind.CUSTOMER.value:
            raise NotACustomerError(
                f"user {customer_id} is a user group's account, not a customer", field=customer_field
            )
    return list(found)


async def create_group(
    database: Database, org: OrgConfig, request: CreateGroupRequest, path: str = "input", *, now: datetime
) -> GroupResult:
    """A new group with its backing account holder (accounts opened in every program, as a new
    customer's are) and its first members, in one write transaction.

    Errors: INVALID_INPUT, USER_GROUP_EXISTS (external id taken), CUSTOMER_NOT_FOUND,
    CUSTOMER_MERGED, NOT_A_CUSTOMER (a member names a group's account), IDEMPOTENCY_KEY_REUSED.
    """
    external_id = check_external_id(request.external_id, f"{path}.externalId")
    name = check_name(request.name, f"{path}.name")
    _check_members(request.members, f"{path}.members")
    key = idempotency.check_key(request.idempotency_key, f"{path}.idempotencyKey")
    payload = {"externalId": external_id, "name": name, "members": [lookup.payload() for lookup in request.members]}

    async def perform(connection: AsyncConnection) -> tuple[int, GroupResult]:
        await lock_keys(connection, [f"user-group:{org.id}:{external_id}"])
        if await find_groups(connection, org, GroupIdentifierType.EXTERNAL_ID, [external_id]):
            raise UserGroupExistsError(
                f"a user group with external id {external_id!r} exists", field=f"{path}.externalId"
            )
        member_ids = await _member_ids(connection, org, request.members, f"{path}.members")
        customer_id = await customers_repository.insert_customer(
            connection,
            org_id=org.id,
            first_name=name[:100],
            last_name="",
            source="",
            now=now,
            kind=CustomerKind.USER_GROUP,
        )
        await customers_service.open_missing_programs(connection, org, customer_id, Activity(None, None, None), now)
        group_id = await repository.insert_group(
            connection, org_id=org.id, customer_id=customer_id, external_id=external_id, name=name, now=now
        )
        added = await add_members(connection, org, group_id, member_ids, now)
        return group_id, GroupResult(GroupView(group_id, customer_id, external_id, name, now), added, replayed=False)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="createUserGroup",
        payload=payload,
        now=now,
        perform=perform,
        replay=lambda connection, group_id: _replay(connection, group_id),
        field=f"{path}.idempotencyKey",
    )


async def change_members(
    database: Database, org: OrgConfig, request: ChangeMembersRequest, *, now: datetime, add: bool, path: str = "input"
) -> GroupResult:
    """Add (or remove) customers to (from) a group; `members_changed` counts memberships made
    (or ended). Errors: USER_GROUP_NOT_FOUND, CUSTOMER_NOT_FOUND, CUSTOMER_MERGED (adding only),
    NOT_A_CUSTOMER, INVALID_INPUT, IDEMPOTENCY_KEY_REUSED."""
    _check_members(request.members, f"{path}.members")
    if not request.members:
        raise ValidationError("name at least one member", field=f"{path}.members")
    key = idempotency.check_key(request.idempotency_key, f"{path}.idempotencyKey")
    payload = {"group": request.group.payload(), "members": [lookup.payload() for lookup in request.members]}

    async def perform(connection: AsyncConnection) -> tuple[int, GroupResult]:
        group = await find_group(connection, org, request.group, f"{path}.group")
        if add:
            changed = await add_members(
                connection, org, group.id, await _member_ids(connection, org, request.members, f"{path}.members"), now
            )
        else:
            ids = [
                await customers_service.find_customer(connection, org, lookup, f"{path}.members[{index}]")
                for index, lookup in enumerate(request.members)
            ]
            changed = await remove_members(connection, org, group.id, ids)
        return group.id, GroupResult(group, changed, replayed=False)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="addUserGroupMembers" if add else "removeUserGroupMembers",
        payload=payload,
        now=now,
        perform=perform,
        replay=lambda connection, group_id: _replay(connection, group_id),
        field=f"{path}.idempotencyKey",
    )


async def _replay(connection: AsyncConnection, group_id: int) -> GroupResult:
    return GroupResult(await repository.group_by_id(connection, group_id), 0, replayed=True)


async def add_members(
    connection: AsyncConnection, org: OrgConfig, group_id: int, customer_ids: Sequence[int], now: datetime
) -> int:
    """Bulk: make these (checked) customers members; existing memberships are kept as they are.
    Returns how many memberships were added. The caller holds the customers' locks."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return 0
    existing = await customers_repository.members_among(connection, group_id, wanted)
    new = [customer_id for customer_id in wanted if customer_id not in existing]
    if new:
        await customers_repository.insert_memberships(
            connection, org_id=org.id, memberships=[(group_id, customer_id) for customer_id in new], now=now
        )
    return len(new)


async def remove_members(
    connection: AsyncConnection, org: OrgConfig, group_id: int, customer_ids: Sequence[int]
) -> int:
    """Bulk: end these customers' memberships; returns how many there were."""
    if not customer_ids:
        return 0
    return await customers_repository.delete_memberships(
        connection, org_id=org.id, group_id=group_id, customer_ids=sorted(set(customer_ids))
    )


# --- Reading --------------------------------------------------------------------------------


async def group_members(
    connection: AsyncConnection, group_id: int, *, first: int, after_id: int | None
) -> tuple[list[int], bool, int]:
    """Member customer ids by customer id (keyset), whether more follow, and the member count."""
    assert 1 <= first <= ledger.PAGE_SIZE_MAX
    ids = await customers_repository.member_ids_page(connection, group_id, limit=first + 1, after_id=after_id)
    count = await customers_repository.count_members(connection, group_id)
    return ids[:first], len(ids) > first, count


async def groups_of_customers(connection: AsyncConnection, customer_ids: Sequence[int]) -> dict[int, list[int]]:
    """The groups each customer is a member of (group ids, ascending), in one query."""
    rows = await customers_repository.groups_of_customers(connection, customer_ids) if customer_ids else []
    found: dict[int, list[int]] = {}
    for row in rows:
        found.setdefault(row.customer_id, []).append(row.group_id)
    return found


async def member_of(connection: AsyncConnection, group_id: int, customer_ids: Sequence[int]) -> set[int]:
    """Which of these customers are members of the group."""
    if not customer_ids:
        return set()
    return await customers_repository.members_among(connection, group_id, list(set(customer_ids)))
