"""Customer use cases: find, register, update, merge, and the read model shown in responses. The
statements are the repository's (app/customers/repository.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import repository
from app.customers.errors import (
    CustomerMergedError,
    CustomerNotFoundError,
    NotACustomerError,
    PrimaryIdentifierMismatchError,
    SameCustomerError,
)
from app.customers.merge_moves import MergeMove, move_records
from app.customers.models import CustomerKind, HistoryAction, LoyaltyType, TierChangeCause
from app.customers.rules import normalize_identifier
from app.customers.tiers import record_tier_change
from app.idempotency import service as idempotency
from app.kernel.currencies import account_category
from app.kernel.decimals import read_whole_number
from app.kernel.enums import IdentifierType, PointsCategory
from app.kernel.errors import ConflictError, DomainError
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.ledger.rules import tier_expiry
from app.organizations.config import OrgConfig, ProgramConfig, TierConfig
from app.outbox import events
from app.outbox import service as outbox
from app.referrals import service as referrals
from app.storage.database import Database

ZERO = Decimal(0)


@dataclass(frozen=True)
class CustomerDetails:
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class Activity:
    """Where a customer change happened, carried onto ledger events and the history."""

    source: str | None
    store_id: int | None
    till_id: int | None


@dataclass(frozen=True)
class HistoryRequest:
    """Member care asked for this change (changeIdentifier, mergeCustomers): the history rows it
    writes carry where it came from and are listed in the identifier history."""

    source: str | None = None
    account: str | None = None
    identifier_type: IdentifierType | None = None
    identifier_value: str | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "account": self.account,
            "requested": True,
            "identifier_type": self.identifier_type.value if self.identifier_type else None,
            "identifier_value": self.identifier_value,
        }


@dataclass
class ResolvedCustomer:
    customer_id: int
    registered: bool
    merged_customer_ids: list[int] = field(default_factory=list)
    skipped_identifiers: list[tuple[IdentifierType, str]] = field(default_factory=list)
    # A new customer's identifiers, in the order they were registered (empty for one found).
    registered_identifiers: dict[IdentifierType, str] = field(default_factory=dict)
    loyalty_type: LoyaltyType = LoyaltyType.LOYALTY  # as the customer stands after this bill


OWNER_READS_MAX = 5


async def _locked_owners(connection: AsyncConnection, org: OrgConfig, given: dict[IdentifierType, str]) -> list[Any]:
    """The identifiers' owners, with every owner locked (FOR UPDATE, in id order).

    A concurrent merge can move an identifier to another customer while we wait for a lock, so
    the owners are read again after locking until they are all locked ones: two merges in
    opposite directions, or a purchase racing a merge, then serialize on the customers instead
    of crossing. SQLite's single writer makes the first read final.
    """
    locked: set[int] = set()
    for _ in range(OWNER_READS_MAX):
        rows = await repository.owners_of_identifiers(connection, org_id=org.id, given=given)
        owners = {row.customer_id for row in rows}
        if connection.dialect.name != "postgresql" or owners <= locked:
            return rows
        await repository.lock_customers(connection, owners - locked)
        locked |= owners
    raise ConflictError("the customer's identifiers kept changing owner; try again", field="input.customer")


def identifier_lock_keys(org_id: int, given: dict[IdentifierType, str]) -> list[str]:
    return [f"identifier:{org_id}:{kind.value}:{value}" for kind, value in given.items()]


USER_ID_MAX = 2**31 - 1  # customers.id is a 32-bit INTEGER on PostgreSQL


def parse_user_id(value: str) -> int | None:
    """A user id as clients send it: ASCII digits naming a possible id (None when it cannot be one)."""
    return read_whole_number(value.strip(), USER_ID_MAX)


async def find_customer_id(
    connection: AsyncConnection,
    org: OrgConfig,
    kind: IdentifierType | None,
    value: str,
    field_name: str = "identifier.value",
) -> int | None:
    """By an identifier, or by user id when `kind` is None. Another org's customer is not found.

    A merged customer's identifiers belong to the survivor now, but its user id still finds it:
    its ledger stays readable, ending with the merge.
    """
    if kind is None:
        user_id = parse_user_id(value)
        if user_id is None:
            return None
        return await repository.customer_id_by_user_id(connection, org_id=org.id, user_id=user_id)
    normalized = normalize_identifier(kind, value, org.base_country, field_name)
    return await repository.customer_id_by_identifier(connection, org_id=org.id, kind=kind, value=normalized)


@dataclass(frozen=True)
class CustomerLookup:
    """A customer as a client names one: by an identifier, or by user id when `kind` is None."""

    kind: IdentifierType | None
    value: str

    def payload(self) -> list[str]:
        return [self.kind.value if self.kind else "USER_ID", self.value]


async def find_customer(connection: AsyncConnection, org: OrgConfig, lookup: CustomerLookup, field_name: str) -> int:
    """The id of the customer `lookup` names in this org; CUSTOMER_NOT_FOUND (on `field_name`) otherwise."""
    customer_id = await find_customer_id(connection, org, lookup.kind, lookup.value, f"{field_name}.value")
    if customer_id is None:
        raise CustomerNotFoundError(f"no customer with {lookup.payload()[0]} {lookup.value!r}", field=field_name)
    return customer_id


class BatchCustomers:
    """The customers a batch of reports names, each looked up once: history names the same
    customers again and again."""

    def __init__(self, connection: AsyncConnection, org: OrgConfig) -> None:
        self.connection = connection
        self.org = org
        self._ids: dict[CustomerLookup, int] = {}

    async def find(self, lookup: CustomerLookup, field_name: str) -> int:
        """As find_customer: CUSTOMER_NOT_FOUND (on `field_name`) for a customer not in this org."""
        customer_id = self._ids.get(lookup) or await find_customer(self.connection, self.org, lookup, field_name)
        self._ids[lookup] = customer_id
        return customer_id

    async def find_survivors(
        self, named: Sequence[tuple[CustomerLookup, str]], *, lock: bool
    ) -> list[int | DomainError]:
        """Each (lookup, field)'s customer followed to its survivor (`survivors`: locked with
        `lock`, so a merge cannot move them before the batch commits), or its error
        (CUSTOMER_NOT_FOUND, INVALID_IDENTIFIER) on its field: what a batch writes for."""
        found: list[int | DomainError] = []
        for lookup, field_name in named:
            try:
                found.append(await self.find(lookup, field_name))
            except DomainError as error:
                found.append(error)
        survivor = await survivors(self.connection, [item for item in found if isinstance(item, int)], lock=lock)
        return [item if isinstance(item, DomainError) else survivor[item] for item in found]


async def lock_unmerged(connection: AsyncConnection, field_by_customer: dict[int, str]) -> None:
    """Lock these customers' rows (FOR UPDATE, in id order) and refuse any that was merged into
    another (CUSTOMER_MERGED on its field). Merges and purchases lock the same rows, so once this
    returns no merge can move these customers until the transaction ends."""
    for row in await repository.merge_states(connection, list(field_by_customer), lock=True):
        if row.merged_into_customer_id is not None:
            raise CustomerMergedError(
                f"customer {row.id} was merged into customer {row.merged_into_customer_id}",
                field=field_by_customer[row.id],
                survivor_id=row.merged_into_customer_id,
            )


async def lock_transfer_parties(
    connection: AsyncConnection, org: OrgConfig, sender: CustomerLookup, receiver: CustomerLookup, path: str, units: str
) -> tuple[int, int]:
    """The sender's and the receiver's ids (`path`.from, `path`.to), two customers neither of them
    merged, locked in id order: the order purchases and merges lock in, so opposite transfers
    (and a merge racing a transfer) wait for each other instead of deadlocking."""
    sender_id = await find_customer(connection, org, sender, f"{path}.from")
    receiver_id = await find_customer(connection, org, receiver, f"{path}.to")
    if sender_id == receiver_id:
        raise SameCustomerError(f"a customer cannot transfer {units} to themselves", field=f"{path}.to")
    await lock_unmerged(connection, {sender_id: f"{path}.from", receiver_id: f"{path}.to"})
    return sender_id, receiver_id


MERGE_CHAIN_MAX = 64  # merged into a customer merged into another ...: never this deep in practice
MERGE_STATES_PER_STATEMENT = 1000  # ids bound per statement (each id a parameter)


async def survivors(connection: AsyncConnection, customer_ids: Iterable[int], *, lock: bool) -> dict[int, int]:
    """Each of these customers' survivor, by customer id: the customer itself, or for one merged
    away the customer its merges ended in (a merge's victim points at its survivor, which may have
    been merged in turn).

    With `lock`, every customer read is row-locked (FOR UPDATE, in id order: as merges lock them),
    so once this returns no merge can move the survivors until the transaction ends, and what is
    written for them stays theirs. A request that found a customer (by an identifier, or by user
    id) just before a merge of it committed waits here for the merge, then writes for the
    survivor, as a lookup after the merge would find it. One statement when none was merged.
    Without `lock` (a dry run), the survivors as committed now."""
    merged_into: dict[int, int | None] = {}
    unread = sorted(set(customer_ids))
    for _ in range(MERGE_CHAIN_MAX):
        for start in range(0, len(unread), MERGE_STATES_PER_STATEMENT):
            chunk = unread[start : start + MERGE_STATES_PER_STATEMENT]
            for row in await repository.merge_states(connection, chunk, lock=lock):
                merged_into[row.id] = row.merged_into_customer_id
        # The survivors of merged ones, locked next (after their victims: a merge locks both and
        # has committed by the time its victim's lock is ours, so the survivor's lock is free).
        unread = sorted({found for found in merged_into.values() if found is not None} - merged_into.keys())
        if not unread:
            break
    else:
        raise ConflictError(f"customers merged more than {MERGE_CHAIN_MAX} times over", field=None)

    def survivor_of(customer_id: int) -> int:
        while (next_id := merged_into[customer_id]) is not None:
            customer_id = next_id
        return customer_id

    return {customer_id: survivor_of(customer_id) for customer_id in merged_into}


async def survivor_of(connection: AsyncConnection, customer_id: int) -> int:
    """The customer, or the survivor of the merges it went into, as committed now (unlocked)."""
    return (await survivors(connection, [customer_id], lock=False))[customer_id]


# How a bill's customer input names each identifier (the field a refusal points at).
IDENTIFIER_FIELD_NAMES = {
    IdentifierType.MOBILE: "mobile",
    IdentifierType.EMAIL: "email",
    IdentifierType.EXTERNAL_ID: "externalId",
    IdentifierType.CARD_NUMBER: "cardNumber",
}


async def resolve_for_transaction(
    connection: AsyncConnection,
    org: OrgConfig,
    given: dict[IdentifierType, str],
    details: CustomerDetails,
    activity: Activity,
    now: datetime,
    transaction_id: int | None = None,
    loyalty_type: LoyaltyType = LoyaltyType.LOYALTY,
    field: str = "input.customer",
) -> ResolvedCustomer:
    """Find the customer by any identifier, register them when new, merge or skip on mismatch.

    - No identifier known: a new customer is registered with all of them, as `loyalty_type` says
      (NON_LOYALTY: the seed's known but not enrolled customer).
    - A LOYALTY bill enrols a NON_LOYALTY customer it finds (enrol); a NON_LOYALTY bill never
      un-enrols one, and a survivor that takes in an enrolled customer is enrolled.
    - The skip switch on and the primary identifier new (or owned by someone else than a
      secondary's owner): the secondary identifiers that belong to another customer are ignored
      and recorded as skipped; a new primary registers a new customer.
    - Else, the strict check on and the primary identifier given but not the owner of every
      known identifier (new, or someone else's): PRIMARY_IDENTIFIER_MISMATCH on `field`.<primary>.
    - Otherwise every other matched customer is merged into the survivor (the primary
      identifier's owner, else the oldest), and unknown identifiers are added to it.
    """
    assert given, "a loyalty transaction names at least one identifier"
    rows = await _locked_owners(connection, org, given)
    owner = {IdentifierType(row.type): row.customer_id for row in rows}
    names = {row.customer_id: (row.first_name, row.last_name) for row in rows}
    loyalty_types = {row.customer_id: LoyaltyType(row.loyalty_type) for row in rows}
    primary = org.primary_identifier
    primary_owner = owner.get(primary)
    result: ResolvedCustomer

    if not owner:
        customer_id = await register_customer(
            connection, org, given, details, activity, now, transaction_id, loyalty_type=loyalty_type
        )
        return ResolvedCustomer(
            customer_id=customer_id, registered=True, registered_identifiers=dict(given), loyalty_type=loyalty_type
        )

    async def standing_of(customer_id: int) -> LoyaltyType:
        """The customer's loyalty type after this bill, enrolling them when the bill is enrolled
        (a merge has enrolled them already when it merged a member in)."""
        current = loyalty_types[customer_id]
        if current is LoyaltyType.NON_LOYALTY and loyalty_type is LoyaltyType.LOYALTY:
            await enrol(connection, org, customer_id, now, transaction_id)
            return LoyaltyType.LOYALTY
        return current

    if (
        org.skip_secondary_id_on_primary_mismatch
        and primary in given
        and any(customer_id != primary_owner for customer_id in owner.values())
    ):
        skipped = [(kind, given[kind]) for kind, customer_id in owner.items() if customer_id != primary_owner]
        kept = {kind: value for kind, value in given.items() if (kind, value) not in skipped}
        if primary_owner is None:
            customer_id = await register_customer(
                connection, org, kept, details, activity, now, transaction_id, loyalty_type=loyalty_type
            )
            result = ResolvedCustomer(
                customer_id=customer_id, registered=True, registered_identifiers=kept, loyalty_type=loyalty_type
            )
        else:
            customer_id = primary_owner
            await _add_identifiers(
                connection, org, customer_id, {k: v for k, v in kept.items() if k not in owner}, now, transaction_id
            )
            await update_details(connection, org, customer_id, details, now, transaction_id, names.get(customer_id))
            result = ResolvedCustomer(
                customer_id=customer_id, registered=False, loyalty_type=await standing_of(customer_id)
            )
        await _record(
            connection,
            org.id,
            customer_id,
            now,
            [
                {
                    "action": HistoryAction.SECONDARY_IDENTIFIER_SKIPPED.value,
                    "identifier_type": kind.value,
                    "identifier_value": value,
                    "other_customer_id": owner[kind],
                    "transaction_id": transaction_id,
                }
                for kind, value in skipped
            ],
        )
        result.skipped_identifiers = skipped
        return result

    if (
        org.primary_identifier_strict_check
        and primary in given
        and any(customer_id != primary_owner for customer_id in owner.values())
    ):
        raise PrimaryIdentifierMismatchError(
            f"the {primary.value} given is not the customer the other identifiers belong to",
            field=f"{field}.{IDENTIFIER_FIELD_NAMES[primary]}",
        )

    survivor = primary_owner if primary_owner is not None else min(owner.values())
    victims = sorted({customer_id for customer_id in owner.values() if customer_id != survivor})
    for victim in victims:
        if await merge_customers(
            connection, org, survivor, victim, activity, now, transaction_id, loyalty_types=loyalty_types
        ):
            loyalty_types[survivor] = LoyaltyType.LOYALTY
    await _add_identifiers(
        connection, org, survivor, {k: v for k, v in given.items() if k not in owner}, now, transaction_id
    )
    await update_details(connection, org, survivor, details, now, transaction_id, names.get(survivor))
    return ResolvedCustomer(
        customer_id=survivor,
        registered=False,
        merged_customer_ids=victims,
        loyalty_type=await standing_of(survivor),
    )


async def enrol(
    connection: AsyncConnection,
    org: OrgConfig,
    customer_id: int,
    now: datetime,
    transaction_id: int | None = None,
    history_columns: dict[str, Any] | None = None,
) -> None:
    """A NON_LOYALTY customer joins the loyalty program, keeping their bills (which earned
    nothing and stay so: points come from the purchases made as a member). Recorded as a
    DETAILS_UPDATED change of the loyalty type."""
    await repository.update_customer(connection, customer_id, {"loyalty_type": LoyaltyType.LOYALTY.value}, now=now)
    await _record(
        connection,
        org.id,
        customer_id,
        now,
        [
            {
                "action": HistoryAction.DETAILS_UPDATED.value,
                "transaction_id": transaction_id,
                "details": {"loyalty_type": {"from": LoyaltyType.NON_LOYALTY.value, "to": LoyaltyType.LOYALTY.value}},
                **(history_columns or {}),
            }
        ],
    )


async def add_identifiers(
    connection: AsyncConnection, org: OrgConfig, customer_id: int, new: dict[IdentifierType, str], now: datetime
) -> None:
    """Identifiers nobody holds, given to this customer (IDENTIFIER_ADDED history rows)."""
    await _add_identifiers(connection, org, customer_id, new, now, None)


async def register_customer(
    connection: AsyncConnection,
    org: OrgConfig,
    given: dict[IdentifierType, str],
    details: CustomerDetails,
    activity: Activity,
    now: datetime,
    transaction_id: int | None = None,
    history_details: dict[str, Any] | None = None,
    history_columns: dict[str, Any] | None = None,
    loyalty_type: LoyaltyType = LoyaltyType.LOYALTY,
) -> int:
    """A new customer with these identifiers, standings and opened accounts (a NON_LOYALTY one
    too, so enrolling later needs nothing more); the REGISTERED history row lists the
    identifiers (and `history_details`) and sets `history_columns` (the request's source and
    account)."""
    customer_id = await repository.insert_customer(
        connection,
        org_id=org.id,
        first_name=details.first_name or "",
        last_name=details.last_name or "",
        source=activity.source or "",
        now=now,
        loyalty_type=loyalty_type.value,
    )
    await repository.insert_identifiers(connection, org_id=org.id, customer_id=customer_id, given=given, now=now)
    await referrals.assign_code(connection, org_id=org.id, customer_id=customer_id, now=now)
    await _record(
        connection,
        org.id,
        customer_id,
        now,
        [
            {
                "action": HistoryAction.REGISTERED.value,
                "transaction_id": transaction_id,
                "details": {kind.value: value for kind, value in given.items()}
                | ({"loyalty_type": loyalty_type.value} if loyalty_type is not LoyaltyType.LOYALTY else {})
                | (history_details or {}),
                **(history_columns or {}),
            }
        ],
    )
    await _open_programs(connection, org, customer_id, org.programs, activity, now)
    return customer_id


async def _open_programs(
    connection: AsyncConnection,
    org: OrgConfig,
    customer_id: int,
    programs: Sequence[ProgramConfig],
    activity: Activity,
    now: datetime,
) -> None:
    """The customer's standing (lowest tier) and accounts, with opening entries, in these programs."""
    await repository.insert_standings(
        connection,
        org_id=org.id,
        customer_id=customer_id,
        tier_ids={program.id: program.tiers[0].id for program in programs},
    )
    await ledger.open_accounts(
        connection,
        org_id=org.id,
        customer_id=customer_id,
        program_ids=[program.id for program in programs],
        categories=org.points_categories,
        now=now,
        draft=ledger.EventDraft(
            EventType.CUSTOMER_REGISTRATION, customer_id, activity.source, activity.store_id, activity.till_id
        ),
    )


async def open_missing_programs(
    connection: AsyncConnection, org: OrgConfig, customer_id: int, activity: Activity, now: datetime
) -> bool:
    """Programs added to the org after this customer registered start here, on first use:
    a standing and accounts with their opening entries, as registration gives them."""
    existing = await repository.program_ids_of(connection, customer_id)
    missing = [program for program in org.programs if program.id not in existing]
    if missing:
        await _open_programs(connection, org, customer_id, missing, activity, now)
    return bool(missing)


async def update_details(
    connection: AsyncConnection,
    org: OrgConfig,
    customer_id: int,
    details: CustomerDetails,
    now: datetime,
    transaction_id: int | None = None,
    current_names: tuple[str, str] | None = None,
) -> None:
    """Changed non-identifier details (names) update the customer; the change is recorded."""
    if details.first_name is None and details.last_name is None:
        return
    if current_names is None:
        current_names = await repository.customer_names(connection, customer_id)
    current = dict(zip(("first_name", "last_name"), current_names, strict=True))
    changed = {
        column: value
        for column, value in (("first_name", details.first_name), ("last_name", details.last_name))
        if value is not None and value != current[column]
    }
    if not changed:
        return
    await repository.update_customer(connection, customer_id, changed, now=now)
    await _record(
        connection,
        org.id,
        customer_id,
        now,
        [
            {
                "action": HistoryAction.DETAILS_UPDATED.value,
                "transaction_id": transaction_id,
                "details": {column: {"from": current[column], "to": value} for column, value in changed.items()},
            }
        ],
    )


async def _add_identifiers(
    connection: AsyncConnection,
    org: OrgConfig,
    customer_id: int,
    new: dict[IdentifierType, str],
    now: datetime,
    transaction_id: int | None,
) -> None:
    if not new:
        return
    await repository.insert_identifiers(connection, org_id=org.id, customer_id=customer_id, given=new, now=now)
    await _record(
        connection,
        org.id,
        customer_id,
        now,
        [
            {
                "action": HistoryAction.IDENTIFIER_ADDED.value,
                "identifier_type": kind.value,
                "identifier_value": value,
                "transaction_id": transaction_id,
            }
            for kind, value in new.items()
        ],
    )


async def merge_customers(
    connection: AsyncConnection,
    org: OrgConfig,
    survivor_id: int,
    victim_id: int,
    activity: Activity,
    now: datetime,
    transaction_id: int | None = None,
    request: HistoryRequest | None = None,
    loyalty_types: Mapping[int, LoyaltyType] | None = None,
) -> bool:
    """The victim's identifiers, balances, purchases, user groups, and the records other domains
    keep of it (loyalty cards, leads, segment memberships, interactions, behavioural events:
    app.customers.merge_moves) move to the survivor; the survivor's COMBINE history row lists them.

    An enrolled (LOYALTY) victim merged into a NON_LOYALTY survivor enrols the survivor (`enrol`,
    after the COMBINE row): a member's points never end up on a non-member, and the person was a
    member. Whether it did is returned. `loyalty_types`: both customers' types, when the caller
    has read them already (otherwise read here).

    One MERGE_CUSTOMER event: for each of the victim's accounts with a balance, a debit that is
    the last entry of the victim's ledger and a credit to the survivor's matching account (the
    other way round for a negative balance). The victim's remaining lots move with their
    original expiry. The ledgers stay distinct.
    """
    assert survivor_id != victim_id
    await referrals.lock_for_merge(connection, [survivor_id, victim_id])
    for customer_id in (survivor_id, victim_id):
        await open_missing_programs(connection, org, customer_id, activity, now)
    moved = await repository.identifiers_of(connection, victim_id)
    await repository.move_identifiers(connection, from_customer_id=victim_id, to_customer_id=survivor_id)
    outbox.stage(
        connection,
        org_id=org.id,
        draft=events.customers_merged(
            survivor_id=survivor_id,
            merged_id=victim_id,
            identifiers=[(row.type, row.value) for row in moved],
            transaction_id=transaction_id,
        ),
        now=now,
    )

    both = await ledger.customer_accounts(connection, [survivor_id, victim_id], lock=True)
    victim_accounts = {(row.program_id, row.category): row for row in both if row.customer_id == victim_id}
    survivor_accounts = {(row.program_id, row.category): row for row in both if row.customer_id == survivor_id}
    postings: list[ledger.Posting] = []
    for key, victim_account in victim_accounts.items():
        if victim_account.balance == 0:
            continue
        category = account_category(victim_account.category)
        victim_ref = ledger.AccountRef(victim_account.id, victim_id, victim_account.program_id, category)
        survivor_account = survivor_accounts.get(key)
        if survivor_account is not None:
            survivor_ref = ledger.AccountRef(survivor_account.id, survivor_id, survivor_account.program_id, category)
        else:  # an alternate currency the survivor never earned: its account opens with the merge
            survivor_ref, opening = await ledger.open_account_at_zero(
                connection,
                org_id=org.id,
                customer_id=survivor_id,
                program_id=victim_account.program_id,
                category=category,
                now=now,
            )
            postings.append(opening)
        amount = abs(victim_account.balance)
        if victim_account.balance > 0:
            carried = await ledger.plan_consumption(connection, victim_account.id, amount, now)
            postings.append(ledger.Posting(victim_ref, EntryType.DEBIT, EntryKind.MERGE, amount, consumes=carried))
            lots = _lots_covering(carried, amount, now)
            postings.append(ledger.Posting(survivor_ref, EntryType.CREDIT, EntryKind.MERGE, amount, lots=lots))
        else:
            postings.append(ledger.Posting(victim_ref, EntryType.CREDIT, EntryKind.MERGE, amount))
            postings.append(ledger.Posting(survivor_ref, EntryType.DEBIT, EntryKind.MERGE, amount))
    if postings:
        await ledger.post_event(
            connection,
            org_id=org.id,
            now=now,
            postings=postings,
            draft=ledger.EventDraft(
                EventType.MERGE_CUSTOMER,
                survivor_id,
                activity.source,
                activity.store_id,
                activity.till_id,
                transaction_id,
            ),
        )

    await _move_group_memberships(connection, org.id, survivor_id, victim_id, now)
    # Cards, leads, segment memberships, interactions and behavioural events follow the person.
    moved_records = await move_records(connection, MergeMove(org, survivor_id, victim_id, now))
    referees = await referrals.merge_referrals(
        connection, org_id=org.id, survivor_id=survivor_id, victim_id=victim_id, now=now
    )
    if referees:
        moved_records["referees"] = [str(customer_id) for customer_id in referees]
    # Purchases move (not copy) to the survivor, so nothing is counted twice.
    await repository.merge_customer_rows(connection, survivor_id=survivor_id, victim_id=victim_id, now=now)
    victim_programs = {row.program_id: row for row in await repository.standings_of(connection, victim_id)}
    await repository.close_standings(connection, victim_id)
    for row in await repository.standings_of(connection, survivor_id):
        program = org.program(row.program_id)
        cumulative = row.cumulative_purchases + victim_programs[row.program_id].cumulative_purchases
        current = program.tier(row.tier_id)
        tier = program.tier_reached(cumulative, current)
        changes: dict[str, Any] = {"cumulative_purchases": cumulative}
        if tier.id != current.id:
            changes.update(tier_id=tier.id, tier_expires_at=tier_expiry(program, now, org.time_zone))
        await repository.update_standing(connection, row.id, changes)
        if tier.id != current.id:
            await record_tier_change(
                connection,
                org_id=org.id,
                customer_id=survivor_id,
                program_id=program.id,
                program_code=program.code,
                before=current,
                after=tier,
                cause=TierChangeCause.MERGE,
                tier_expires_at_after=changes["tier_expires_at"],
                transaction_id=transaction_id,
                now=now,
            )
    await _record(
        connection,
        org.id,
        survivor_id,
        now,
        [
            {
                "action": HistoryAction.COMBINE.value,
                "other_customer_id": victim_id,
                "transaction_id": transaction_id,
                "details": {"identifiers": [{"type": row.type, "value": row.value} for row in moved], **moved_records},
                **(request.columns() if request else {}),
            }
        ],
    )
    await _record(
        connection,
        org.id,
        victim_id,
        now,
        [
            {
                "action": HistoryAction.MERGED_INTO.value,
                "other_customer_id": survivor_id,
                "transaction_id": transaction_id,
            }
        ],
    )
    if loyalty_types is None:
        stored = await repository.loyalty_types(connection, org_id=org.id, customer_ids=[survivor_id, victim_id])
        loyalty_types = {customer_id: LoyaltyType(value) for customer_id, value in stored.items()}
    enrols = loyalty_types[survivor_id] is LoyaltyType.NON_LOYALTY and loyalty_types[victim_id] is LoyaltyType.LOYALTY
    if enrols:
        await enrol(connection, org, survivor_id, now, transaction_id, request.columns() if request else None)
    return enrols


async def _move_group_memberships(
    connection: AsyncConnection, org_id: int, survivor_id: int, victim_id: int, now: datetime
) -> None:
    """The survivor joins the victim's user groups (a group's member is the person, whoever
    survives a merge); the victim leaves them, so group bills and imports find the survivor."""
    victim_groups = await repository.group_ids_of(connection, victim_id)
    if not victim_groups:
        return
    survivor_groups = await repository.group_ids_of(connection, survivor_id)
    joining = sorted(victim_groups - survivor_groups)
    if joining:
        await repository.insert_memberships(
            connection, org_id=org_id, memberships=[(group_id, survivor_id) for group_id in joining], now=now
        )
    await repository.delete_memberships_of(connection, victim_id)


async def lock_customers_to_change(
    connection: AsyncConnection, org: OrgConfig, field_by_customer: dict[int, str]
) -> None:
    """Lock these customers (`lock_unmerged`) and refuse a user group's account holder, which has
    no identifiers and is no one to merge (NOT_A_CUSTOMER on its field)."""
    await lock_unmerged(connection, field_by_customer)
    kinds = await repository.customer_kinds(connection, org_id=org.id, customer_ids=list(field_by_customer))
    for customer_id, field_name in field_by_customer.items():
        if kinds[customer_id] != CustomerKind.CUSTOMER.value:
            raise NotACustomerError(f"user {customer_id} is a user group's account", field=field_name)


@dataclass(frozen=True)
class MergeResult:
    survivor: CustomerView
    victim_id: int
    replayed: bool


async def merge_on_request(
    database: Database,
    org: OrgConfig,
    *,
    now: datetime,
    survivor: CustomerLookup,
    victim: CustomerLookup,
    idempotency_key: str | None,
    path: str = "input",
) -> MergeResult:
    """An explicit merge (member care): `merge_customers` for two customers a client names.

    Both customers are locked first (as purchases lock them), so a concurrent bill for the
    victim either lands before the merge and moves with it, or finds its identifiers on the
    survivor afterwards: the merge debit stays the victim's last entry. A merged customer can be
    neither side again (CUSTOMER_MERGED). With an idempotency key, a replay returns the survivor
    as it is now, without merging again.
    """
    key = idempotency.check_key(idempotency_key, f"{path}.idempotencyKey")

    async def perform(connection: AsyncConnection) -> tuple[int, MergeResult]:
        survivor_id = await find_customer(connection, org, survivor, f"{path}.survivor")
        victim_id = await find_customer(connection, org, victim, f"{path}.victim")
        if survivor_id == victim_id:
            raise SameCustomerError("the survivor and the victim are the same customer", field=f"{path}.victim")
        await lock_customers_to_change(connection, org, {survivor_id: f"{path}.survivor", victim_id: f"{path}.victim"})
        await merge_customers(
            connection, org, survivor_id, victim_id, Activity(None, None, None), now, request=HistoryRequest()
        )
        view = (await load_customers(connection, org, [survivor_id], now=now))[survivor_id]
        return victim_id, MergeResult(survivor=view, victim_id=victim_id, replayed=False)

    async def replay(connection: AsyncConnection, victim_id: int) -> MergeResult:
        survivor_id = await repository.merged_into(connection, victim_id)
        assert survivor_id is not None, "a merge's victim points at its survivor"
        view = (await load_customers(connection, org, [survivor_id], now=now))[survivor_id]
        return MergeResult(survivor=view, victim_id=victim_id, replayed=True)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="mergeCustomers",
        now=now,
        perform=perform,
        replay=replay,
        payload={"survivor": survivor.payload(), "victim": victim.payload()},
        field=f"{path}.idempotencyKey",
    )


def _lots_covering(shares: Sequence[ledger.LotShare], amount: Decimal, now: datetime) -> tuple[ledger.LotDraft, ...]:
    carried = [share.as_draft() for share in shares]
    missing = amount - sum((lot.points for lot in carried), ZERO)
    if missing > 0:  # balance not backed by lots (e.g. an opening balance): a lot that never expires
        carried.append(ledger.LotDraft(missing, now, None))
    return tuple(carried)


async def _record(
    connection: AsyncConnection, org_id: int, customer_id: int, now: datetime, rows: list[dict[str, Any]]
) -> None:
    await repository.insert_history(connection, org_id=org_id, customer_id=customer_id, now=now, rows=rows)


# --- Read model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramSummary:
    program: ProgramConfig
    redeemed: Decimal
    expired: Decimal
    returned: Decimal
    adjusted: Decimal
    lifetime_points: Decimal
    loyalty_points: Decimal
    cumulative_purchases: Decimal
    current_slab: TierConfig
    next_slab: TierConfig | None
    slab_expiry_date: datetime | None


@dataclass(frozen=True)
class CustomerView:
    id: int
    first_name: str
    last_name: str
    loyalty_type: str
    source: str
    registered_on: datetime
    updated_on: datetime
    lifetime_purchases: Decimal
    identifiers: tuple[tuple[str, str], ...]
    summaries: tuple[ProgramSummary, ...]
    default_program_id: int
    merged_into_customer_id: int | None = None
    extended_fields: dict[str, Any] = field(default_factory=dict)

    def identifier(self, kind: IdentifierType) -> str | None:
        return next((value for found, value in self.identifiers if found == kind.value), None)

    @property
    def lifetime_points(self) -> Decimal:
        return sum((summary.lifetime_points for summary in self.summaries), ZERO)

    @property
    def loyalty_points(self) -> Decimal:
        return sum((summary.loyalty_points for summary in self.summaries), ZERO)

    @property
    def main_summary(self) -> ProgramSummary:
        """The default program's standing: the customer's current slab and tier expiry."""
        return next(s for s in self.summaries if s.program.id == self.default_program_id)


def _opening_summary(program: ProgramConfig) -> ProgramSummary:
    """A program the customer has not used since it was added: nothing yet, lowest tier."""
    tier = program.tiers[0]
    return ProgramSummary(
        program=program,
        redeemed=ZERO,
        expired=ZERO,
        returned=ZERO,
        adjusted=ZERO,
        lifetime_points=ZERO,
        loyalty_points=ZERO,
        cumulative_purchases=ZERO,
        current_slab=tier,
        next_slab=program.next_tier(tier),
        slab_expiry_date=None,
    )


@dataclass(frozen=True)
class FirstPurchase:
    """What a new customer's first bill changed: its standing in one program and the points it
    earned there into one account (`category`); registration left everything else at zero."""

    program_id: int
    category: PointsCategory
    points: Decimal
    active_from: datetime  # the points' lot
    expires_at: datetime | None
    cumulative_purchases: Decimal
    tier_id: int
    tier_expires_at: datetime | None
    lifetime_purchases: Decimal


def registered_view(
    org: OrgConfig,
    *,
    customer_id: int,
    identifiers: dict[IdentifierType, str],
    details: CustomerDetails,
    activity: Activity,
    now: datetime,
    purchase: FirstPurchase,
) -> CustomerView:
    """The customer `register_customer` wrote in this transaction, after its first bill, as
    `load_customers` would read it back: built from what was written, without reading it (no
    other writer can see an uncommitted customer)."""
    summaries = []
    for program in org.programs:
        if program.id != purchase.program_id:
            summaries.append(_opening_summary(program))
            continue
        tier = program.tier(purchase.tier_id)
        # As load_customers reads it at `now`: REGULAR points held once started and until their expiry.
        past_expiry = purchase.expires_at is not None and purchase.expires_at <= now
        held = purchase.category is PointsCategory.REGULAR and purchase.active_from <= now and not past_expiry
        summaries.append(
            ProgramSummary(
                program=program,
                redeemed=ZERO,
                expired=purchase.points if past_expiry else ZERO,
                returned=ZERO,
                adjusted=ZERO,
                lifetime_points=purchase.points,
                loyalty_points=purchase.points if held else ZERO,
                cumulative_purchases=purchase.cumulative_purchases,
                current_slab=tier,
                next_slab=program.next_tier(tier),
                slab_expiry_date=purchase.tier_expires_at,
            )
        )
    return CustomerView(
        id=customer_id,
        first_name=details.first_name or "",
        last_name=details.last_name or "",
        loyalty_type=repository.NEW_CUSTOMER_LOYALTY_TYPE,
        source=activity.source or "",
        registered_on=now,
        updated_on=now,
        lifetime_purchases=purchase.lifetime_purchases,
        identifiers=tuple((kind.value, value) for kind, value in identifiers.items()),
        summaries=tuple(sorted(summaries, key=lambda summary: summary.program.id)),
        default_program_id=org.default_program.id,
    )


async def load_customers(
    connection: AsyncConnection, org: OrgConfig, customer_ids: Sequence[int], *, now: datetime
) -> dict[int, CustomerView]:
    """Customers with identifiers and points summaries at `now`, in two queries for any number.

    A program's points summary shows the REGULAR points held at `now` (`loyalty_points`: the
    REGULAR balance less points not started yet and points past their expiry, whether or not the
    expiry run has debited them) and its counters over all its accounts: points earned into
    PROMISED or TRIGGER_BASED are earned too; `expired` counts points past their expiry the run
    has not debited yet. What the other accounts hold, and pending points, are read on demand
    (app.ledger.expiry.holdings).
    """
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return {}
    standing_rows = await repository.customers_with_standings(connection, org_id=org.id, customer_ids=ids, now=now)
    identifier_rows = await repository.identifiers_of_customers(connection, ids)

    identifiers_by_customer: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for row in identifier_rows:
        identifiers_by_customer[row.customer_id].append((row.type, row.value))
    summaries_by_customer: dict[int, list[ProgramSummary]] = defaultdict(list)
    customer_rows: dict[int, Any] = {}
    for row in standing_rows:
        customer_rows.setdefault(row.id, row)
        program = org.program(row.program_id)
        tier = program.tier(row.tier_id)
        summaries_by_customer[row.id].append(
            ProgramSummary(
                program=program,
                redeemed=row.redeemed,
                expired=row.expired + row.past_expiry,
                returned=row.returned,
                adjusted=row.adjusted,
                lifetime_points=row.earned,
                loyalty_points=row.balance - row.regular_not_held,
                cumulative_purchases=row.cumulative_purchases,
                current_slab=tier,
                next_slab=program.next_tier(tier),
                slab_expiry_date=row.tier_expires_at,
            )
        )
    for customer_id in customer_rows:
        known = {summary.program.id for summary in summaries_by_customer[customer_id]}
        summaries_by_customer[customer_id].extend(
            _opening_summary(program) for program in org.programs if program.id not in known
        )
        summaries_by_customer[customer_id].sort(key=lambda summary: summary.program.id)
    return {
        row.id: CustomerView(
            id=row.id,
            first_name=row.first_name,
            last_name=row.last_name,
            loyalty_type=row.loyalty_type,
            source=row.source,
            registered_on=row.registered_on,
            updated_on=row.updated_on,
            lifetime_purchases=row.lifetime_purchases,
            identifiers=tuple(identifiers_by_customer[row.id]),
            summaries=tuple(summaries_by_customer[row.id]),
            default_program_id=org.default_program.id,
            merged_into_customer_id=row.merged_into_customer_id,
            extended_fields=dict(row.extended_fields or {}),
        )
        for row in customer_rows.values()
    }
