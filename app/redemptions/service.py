"""Points redemption use cases: validate, redeem, reverse, apply to a bill, read back.

A redemption is one POINTS_REDEMPTION event with one debit per program it drew from (a group
redemption draws from every program of a till's concept, in program order) and a
point_redemptions row. It spends the REGULAR account of each program, and only its spendable
lots: active (pending lots wait for their start) and not past their expiry. PROMISED and
TRIGGER_BASED points are spent once converted into REGULAR. The debits consume lots
first-expiring first, and the ledger records which.

Locks, taken in the same order by every writer so none waits on another in a cycle: the
customer's row (a merged customer is refused; no merge moves it meanwhile), then the customer's
point accounts (FOR UPDATE, in id order), then redemption rows. The spendable points are read
only once the accounts are locked: never check-then-act. On SQLite the single writer already
excludes everyone and the locks are no-ops.

Merged customers: a redemption by a customer merged into another is refused (CUSTOMER_MERGED,
naming the survivor, whose identifiers find it anyway). Reversing a redemption of a customer
merged since gives the points back to the merged customer's lots and, in the same event, carries
them on to the survivor as a merge does (a MERGE debit and credit, with the lots' expiry): the
merged customer keeps a zero balance and its ledger still ends with a merge debit.

The statements are in app/redemptions/repository.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import repository as customers_repository
from app.customers.errors import CustomerMergedError, CustomerNotFoundError
from app.customers.service import MERGE_CHAIN_MAX, find_customer_id
from app.idempotency import service as idempotency
from app.kernel.enums import PointsCategory
from app.kernel.errors import ConflictError, InsufficientPointsError, ValidationError
from app.kernel.text import check_text
from app.ledger import repository as ledger_repository
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import OrgConfig, ProgramConfig
from app.outbox import events
from app.outbox import service as outbox
from app.redemptions import repository, rules
from app.redemptions.errors import (
    RedemptionAlreadyAppliedError,
    RedemptionNotFoundError,
    RedemptionOfAnotherCustomerError,
    RedemptionReversedError,
)
from app.redemptions.models import RedemptionStatus
from app.redemptions.rules import PreparedRedemption, RedemptionInput, ReversalInput
from app.storage.database import Database

ZERO = Decimal(0)


# --- Views ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramShare:
    """What a redemption took from one program, and that account's balance right after."""

    program_id: int
    points: Decimal
    balance_after: Decimal


@dataclass(frozen=True)
class LotPoints:
    """Points of one lot: consumed by a redemption, or given back by a reversal."""

    program_id: int
    lot_id: int
    points: Decimal
    active_from: datetime
    expires_at: datetime | None
    earn_entry_id: int  # the credit entry that made the lot (the lot trace)


@dataclass(frozen=True)
class ReversalView:
    id: int
    redemption_id: int
    event_id: int
    points: Decimal
    transaction_id: int | None
    notes: str | None
    created_at: datetime
    lots_restored: tuple[LotPoints, ...]


@dataclass(frozen=True)
class RedemptionView:
    id: int
    customer_id: int
    event_id: int
    points: Decimal
    points_reversed: Decimal
    status: str
    source: str | None
    store_id: int | None
    till_id: int | None
    transaction_id: int | None
    external_reference: str | None
    notes: str | None
    redeemed_at: datetime
    programs: tuple[ProgramShare, ...]
    lots_consumed: tuple[LotPoints, ...]
    reversals: tuple[ReversalView, ...]

    @property
    def balance_after(self) -> Decimal:
        """The balance of the accounts it drew from, right after it."""
        return sum((share.balance_after for share in self.programs), ZERO)


@dataclass(frozen=True)
class RedemptionResult:
    redemption: RedemptionView
    replayed: bool


@dataclass(frozen=True)
class PlannedShare:
    program: ProgramConfig
    points: Decimal  # what the redemption would take here
    spendable_points: Decimal


@dataclass(frozen=True)
class ValidationResult:
    """What redeemPoints would do now with the same input, written nowhere."""

    customer_id: int
    points: Decimal
    spendable_points: Decimal  # across the programs it draws from
    shares: tuple[PlannedShare, ...]
    replayed_redemption_id: int | None  # the key was used: redeemPoints would return this redemption


@dataclass(frozen=True)
class ReversalResult:
    reversal: ReversalView
    redemption: RedemptionView
    replayed: bool


# --- Redeem ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    program: ProgramConfig
    account: Any | None  # the customer's REGULAR account in the program (None: never opened)
    spendable: Decimal


@dataclass(frozen=True)
class _Plan:
    customer_id: int
    places: tuple[_Place, ...]
    shares: tuple[tuple[_Place, Decimal], ...]

    @property
    def spendable(self) -> Decimal:
        return sum((place.spendable for place in self.places), ZERO)


async def _places(
    connection: AsyncConnection, customer_id: int, programs: Sequence[ProgramConfig], now: datetime, *, lock: bool
) -> tuple[_Place, ...]:
    """The customer's REGULAR account in each program with its spendable points; `lock` takes
    the accounts' locks first, so the points read stay true until the transaction ends."""
    accounts = await ledger.customer_accounts(connection, [customer_id], lock=lock)
    regular = {row.program_id: row for row in accounts if row.category == PointsCategory.REGULAR.value}
    spendable = await ledger.spendable_points(connection, [regular[p.id].id for p in programs if p.id in regular], now)
    return tuple(
        _Place(program, regular.get(program.id), spendable[regular[program.id].id] if program.id in regular else ZERO)
        for program in programs
    )


async def _plan(
    connection: AsyncConnection, org: OrgConfig, prepared: PreparedRedemption, now: datetime, *, lock: bool, path: str
) -> _Plan:
    """Every check that needs the database, in the order a client reads the answer: the
    customer, then the points. redeemPoints runs it under locks, validateRedemption without."""
    data = prepared.source
    customer_field = f"{path}.customer"
    customer_id = await find_customer_id(
        connection, org, data.customer_type, data.customer_value, f"{customer_field}.value"
    )
    if customer_id is None:
        kind = data.customer_type.value if data.customer_type else "USER_ID"
        raise CustomerNotFoundError(f"no customer with {kind} {data.customer_value!r}", field=customer_field)
    merged_into = await customers_repository.merged_into(connection, customer_id, lock=lock)
    if merged_into is not None:
        raise CustomerMergedError(
            f"customer {customer_id} was merged into customer {merged_into}; redeem as that customer",
            field=customer_field,
            survivor_id=merged_into,
        )
    places = await _places(connection, customer_id, prepared.target.programs, now, lock=lock)
    available = sum((place.spendable for place in places), ZERO)
    if available < data.points:
        raise InsufficientPointsError(
            f"{rules.canonical(available)} points are spendable, {rules.canonical(data.points)} asked for",
            field=f"{path}.points",
            available_points=available,
            requested_points=data.points,
        )
    shares = rules.split(data.points, [(place, place.spendable) for place in places])
    return _Plan(customer_id=customer_id, places=places, shares=tuple(shares))


async def redeem_points(
    database: Database, org: OrgConfig, data: RedemptionInput, path: str = "input", *, now: datetime
) -> RedemptionResult:
    """Redeem: one POINTS_REDEMPTION event and its redemption row, or a typed error and nothing
    written. With an idempotency key, a replay returns the redemption as it is now."""
    prepared = rules.prepare(data, org, path)
    key = idempotency.check_key(data.idempotency_key, f"{path}.idempotencyKey")

    async def perform(connection: AsyncConnection) -> tuple[int, RedemptionResult]:
        plan = await _plan(connection, org, prepared, now, lock=True, path=path)
        redemption_id = await _write_redemption(connection, org, prepared, plan, now)
        return redemption_id, RedemptionResult(await load_redemption(connection, org.id, redemption_id), replayed=False)

    async def replay(connection: AsyncConnection, redemption_id: int) -> RedemptionResult:
        return RedemptionResult(await load_redemption(connection, org.id, redemption_id), replayed=True)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="redeemPoints",
        payload=prepared.payload,
        now=now,
        perform=perform,
        replay=replay,
        field=f"{path}.idempotencyKey",
        brief=True,
    )


async def _write_redemption(
    connection: AsyncConnection, org: OrgConfig, prepared: PreparedRedemption, plan: _Plan, now: datetime
) -> int:
    data, target = prepared.source, prepared.target
    postings = []
    for place, share in plan.shares:
        assert place.account is not None, "points are taken only where an account holds them"
        account = ledger.AccountRef(place.account.id, plan.customer_id, place.program.id, PointsCategory.REGULAR)
        postings.append(ledger.Posting(account, EntryType.DEBIT, EntryKind.POINTS_REDEMPTION, share))
    store_id = target.store.id if target.store else None
    till_id = target.till.id if target.till else None
    posted = await ledger.post_event(
        connection,
        org_id=org.id,
        now=now,
        postings=postings,
        draft=ledger.EventDraft(EventType.POINTS_REDEMPTION, plan.customer_id, data.source.value, store_id, till_id),
    )
    for posting, entry in zip(postings, posted.entries, strict=True):
        # The accounts are locked and their spendable lots cover the debit.
        assert sum((lot.points for lot in entry.lots_consumed), ZERO) == posting.points, "the lots cover the debit"
        assert entry.balance_after >= 0, "the debit leaves no debt"
    redemption_id = await repository.insert_redemption(
        connection,
        {
            "org_id": org.id,
            "customer_id": plan.customer_id,
            "event_id": posted.id,
            "points": data.points,
            "points_reversed": ZERO,
            "status": RedemptionStatus.REDEEMED.value,
            "source": data.source.value,
            "store_id": store_id,
            "till_id": till_id,
            "transaction_id": None,
            "external_reference": data.external_reference,
            "notes": data.notes,
            "redeemed_at": now,
        },
    )
    outbox.stage(
        connection,
        org_id=org.id,
        draft=events.points_redeemed(
            customer_id=plan.customer_id,
            redemption_id=redemption_id,
            points=data.points,
            shares=[(place.program.code, share) for place, share in plan.shares],
            external_reference=data.external_reference,
        ),
        now=now,
    )
    return redemption_id


async def validate_redemption(
    database: Database, org: OrgConfig, data: RedemptionInput, path: str = "input", *, now: datetime
) -> ValidationResult:
    """The answer redeemPoints would give now (the same checks, in one read snapshot), and the
    spendable points; nothing is written and nothing locked, so a redemption that follows can
    still find the points gone."""
    prepared = rules.prepare(data, org, path)
    key = idempotency.check_key(data.idempotency_key, f"{path}.idempotencyKey")
    async with database.read() as connection:
        if key is not None:
            replayed = await idempotency.recall(
                connection,
                org_id=org.id,
                key=key,
                operation="redeemPoints",
                payload=prepared.payload,
                field=f"{path}.idempotencyKey",
            )
            if replayed is not None:  # redeemPoints would return it without checking anything again
                redemption = await load_redemption(connection, org.id, replayed)
                places = await _places(connection, redemption.customer_id, prepared.target.programs, now, lock=False)
                return ValidationResult(
                    customer_id=redemption.customer_id,
                    points=redemption.points,
                    spendable_points=sum((place.spendable for place in places), ZERO),
                    shares=tuple(PlannedShare(place.program, ZERO, place.spendable) for place in places),
                    replayed_redemption_id=replayed,
                )
        plan = await _plan(connection, org, prepared, now, lock=False, path=path)
    taken = {place.program.id: share for place, share in plan.shares}
    return ValidationResult(
        customer_id=plan.customer_id,
        points=data.points,
        spendable_points=plan.spendable,
        shares=tuple(
            PlannedShare(place.program, taken.get(place.program.id, ZERO), place.spendable) for place in plan.places
        ),
        replayed_redemption_id=None,
    )


# --- Reverse --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReversalClaim:
    """Points of a redemption claimed for a reversal, and the credits that give them back."""

    redemption_id: int
    redemption_event_id: int
    points: Decimal
    customer_id: int  # who holds the points back: the redeemer, or the survivor it was merged into
    postings: tuple[ledger.Posting, ...]


async def claim_reversal(
    connection: AsyncConnection,
    org: OrgConfig,
    redemption_id: int,
    points: Decimal | None,
    now: datetime,
    *,
    redemption_field: str,
    points_field: str,
) -> ReversalClaim:
    """Lock what reversing this redemption moves, claim `points` of it (None: all that is left)
    with a guarded UPDATE of points_reversed, and plan the credits that give them back into the
    lots they came from, with their original expiry. The caller posts the postings in its event
    (REDEMPTION_REVERSAL here, a TRANSACTION_RETURN for a return), then calls `record_reversal`.

    A lot already past its expiry date comes back past it: not spendable, and the next expiry run
    expires it, as it would have without the redemption.
    """
    row = await repository.redemption_owner(connection, org_id=org.id, redemption_id=redemption_id)
    if row is None:
        raise RedemptionNotFoundError(f"no redemption {redemption_id}", field=redemption_field)
    owner = await _lock_owner(connection, row.customer_id)
    await ledger.customer_accounts(connection, sorted({row.customer_id, owner}), lock=True)
    locked = await repository.lock_redemption_points(connection, redemption_id)
    amount = rules.reversal_points(
        locked.points, locked.points_reversed, points, redemption_field=redemption_field, points_field=points_field
    )
    rules.check_points(
        amount, decimal_places=await points_decimal_places(connection, org, row.event_id), field=points_field
    )
    reversed_after = locked.points_reversed + amount
    moved = await repository.move_points_reversed(
        connection,
        redemption_id=redemption_id,
        reversed_before=locked.points_reversed,
        reversed_after=reversed_after,
        status=rules.status_after(locked.points, reversed_after).value,
    )
    assert moved, "the redemption row is locked"
    postings = await ledger.reversal_postings(
        connection, event_id=row.event_id, points=amount, kind=EntryKind.REDEMPTION_REVERSAL, now=now
    )
    if owner != row.customer_id:
        postings = await ledger.carry_to_survivor(connection, postings, owner, org_id=org.id, now=now)
    return ReversalClaim(
        redemption_id=redemption_id,
        redemption_event_id=row.event_id,
        points=amount,
        customer_id=owner,
        postings=tuple(postings),
    )


async def points_decimal_places(connection: AsyncConnection, org: OrgConfig, redemption_event_id: int) -> int:
    """How finely a redemption's points can be given back: the coarsest of the programs it drew from."""
    program_ids = await ledger_repository.debit_program_ids(connection, redemption_event_id)
    return min(org.program(program_id).points_decimal_places for program_id in program_ids)


async def record_reversal(
    connection: AsyncConnection,
    *,
    org_id: int,
    claim: ReversalClaim,
    event_id: int,
    transaction_id: int | None,
    notes: str | None,
    now: datetime,
    bill_number: str | None = None,
) -> int:
    """The reversal's row, once its credits are posted in event `event_id`, and its
    `points.reversed` event (`transaction_id`, `bill_number`: the return that reversed it)."""
    outbox.stage(
        connection,
        org_id=org_id,
        draft=events.points_reversed(
            customer_id=claim.customer_id,
            reversed_kind=events.REVERSED_REDEMPTION,
            program_code=None,
            points=claim.points,
            transaction_id=transaction_id,
            bill_number=bill_number,
            redemption_id=claim.redemption_id,
        ),
        now=now,
    )
    return await repository.insert_reversal(
        connection,
        {
            "org_id": org_id,
            "redemption_id": claim.redemption_id,
            "event_id": event_id,
            "points": claim.points,
            "transaction_id": transaction_id,
            "notes": notes,
            "created_at": now,
        },
    )


async def _lock_owner(connection: AsyncConnection, customer_id: int) -> int:
    """The customer whose accounts hold this customer's points now (itself, or the survivor its
    merges lead to), with every row on the way locked so no merge moves them meanwhile. The rows
    are locked together in id order, as merges and transfers lock them, so none of them can
    deadlock with this; a merge that lengthened the chain meanwhile makes us look again."""
    for _ in range(MERGE_CHAIN_MAX):
        chain = await _merge_chain(connection, customer_id)
        await customers_repository.merge_states(connection, chain, lock=True)
        if await _merge_chain(connection, customer_id) == chain:
            return chain[-1]
    raise ConflictError(f"customer {customer_id} kept being merged while its redemption was reversed", field=None)


async def _merge_chain(connection: AsyncConnection, customer_id: int) -> list[int]:
    chain = [customer_id]
    for _ in range(MERGE_CHAIN_MAX):
        merged_into = await customers_repository.merged_into(connection, chain[-1])
        if merged_into is None:
            return chain
        chain.append(merged_into)
    raise ConflictError(f"customer {customer_id} was merged more than {MERGE_CHAIN_MAX} times over", field=None)


async def reverse_redemption(
    database: Database, org: OrgConfig, data: ReversalInput, path: str = "input", *, now: datetime
) -> ReversalResult:
    """Give back a redemption's points, all that is left or some: one REDEMPTION_REVERSAL event
    (corrects_event_id = the redemption's event) and a reversal row. Another org's redemption is
    not found. With an idempotency key, a replay returns the first reversal."""
    redemption_field, points_field = f"{path}.redemptionId", f"{path}.points"
    redemption_id = rules.parse_id(data.redemption_id)
    if redemption_id is None:
        raise RedemptionNotFoundError(f"no redemption {data.redemption_id!r}", field=redemption_field)
    if data.points is not None:
        rules.check_points(data.points, decimal_places=rules.POINTS_SCALE, field=points_field)
    check_text(data.notes, f"{path}.notes", rules.NOTES_LENGTH_MAX)
    key = idempotency.check_key(data.idempotency_key, f"{path}.idempotencyKey")
    payload = {
        "redemption": redemption_id,
        "points": rules.canonical(data.points) if data.points is not None else None,
        "notes": data.notes,
    }

    async def perform(connection: AsyncConnection) -> tuple[int, ReversalResult]:
        claim = await claim_reversal(
            connection,
            org,
            redemption_id,
            data.points,
            now,
            redemption_field=redemption_field,
            points_field=points_field,
        )
        source = await repository.redemption_place(connection, redemption_id)
        posted = await ledger.post_event(
            connection,
            org_id=org.id,
            now=now,
            postings=claim.postings,
            draft=ledger.EventDraft(
                EventType.REDEMPTION_REVERSAL,
                claim.customer_id,
                source.source,
                source.store_id,
                source.till_id,
                corrects_event_id=claim.redemption_event_id,
            ),
        )
        reversal_id = await record_reversal(
            connection, org_id=org.id, claim=claim, event_id=posted.id, transaction_id=None, notes=data.notes, now=now
        )
        return reversal_id, await _reversal_result(connection, org.id, reversal_id, replayed=False)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="reverseRedemption",
        payload=payload,
        now=now,
        perform=perform,
        replay=lambda connection, reversal_id: _reversal_result(connection, org.id, reversal_id, replayed=True),
        field=f"{path}.idempotencyKey",
        brief=True,
    )


async def _reversal_result(
    connection: AsyncConnection, org_id: int, reversal_id: int, *, replayed: bool
) -> ReversalResult:
    redemption_id = await repository.redemption_of_reversal(connection, reversal_id)
    redemption = await load_redemption(connection, org_id, redemption_id)
    reversal = next(reversal for reversal in redemption.reversals if reversal.id == reversal_id)
    return ReversalResult(reversal=reversal, redemption=redemption, replayed=replayed)


# --- Apply to a bill ------------------------------------------------------------------------


async def apply_to_bill(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int | None,
    transaction_id: int,
    redemption_ids: Sequence[str],
    path: str,
) -> None:
    """addTransaction's pointsRedemptions: these redemptions paid for this bill. Each must be
    this org's, of the bill's customer (or of a customer merged into it), with no point reversed,
    and not applied to another bill; one guarded UPDATE applies them all, or a typed error names
    the first that cannot be (`path`.pointsRedemptions[i]) and the caller's transaction rolls back.
    The bill's customer row and account are locked already; redemption rows come after them."""
    field = f"{path}.pointsRedemptions"
    if customer_id is None:
        raise ValidationError("a bill without a loyalty customer carries no points redemptions", field=field)
    ids: list[int] = []
    for index, value in enumerate(redemption_ids):
        parsed = rules.parse_id(value)
        if parsed is None:
            raise RedemptionNotFoundError(f"no redemption {value!r}", field=f"{field}[{index}]")
        if parsed in ids:
            raise ValidationError(f"redemption {parsed} is listed twice", field=f"{field}[{index}]")
        ids.append(parsed)
    owners = await _customers_merged_into(connection, customer_id)
    applied = await repository.apply_to_bill(
        connection, org_id=org_id, redemption_ids=ids, owner_ids=list(owners), transaction_id=transaction_id
    )
    if len(applied) == len(ids):
        return
    index, redemption_id = next(
        (index, redemption_id) for index, redemption_id in enumerate(ids) if redemption_id not in applied
    )
    row = await repository.bill_state(connection, org_id=org_id, redemption_id=redemption_id)
    at = f"{field}[{index}]"
    if row is None:
        raise RedemptionNotFoundError(f"no redemption {redemption_id}", field=at)
    if row.customer_id not in owners:
        raise RedemptionOfAnotherCustomerError(f"redemption {redemption_id} is another customer's", field=at)
    if row.points_reversed > 0:
        raise RedemptionReversedError(
            f"redemption {redemption_id} was reversed ({rules.canonical(row.points_reversed)} points)", field=at
        )
    raise RedemptionAlreadyAppliedError(
        f"redemption {redemption_id} is applied to bill {row.transaction_id} already", field=at
    )


async def _customers_merged_into(connection: AsyncConnection, customer_id: int) -> set[int]:
    """The customer and every customer merged into it, directly or through others."""
    found = {customer_id}
    frontier = [customer_id]
    for _ in range(MERGE_CHAIN_MAX):
        frontier = [
            merged
            for merged in await customers_repository.customers_merged_into(connection, frontier)
            if merged not in found
        ]
        if not frontier:
            break
        found.update(frontier)
    return found


# --- Reading redemptions back ---------------------------------------------------------------


async def load_redemption(connection: AsyncConnection, org_id: int, redemption_id: int) -> RedemptionView:
    return (await load_redemptions(connection, org_id, [redemption_id]))[redemption_id]


async def load_redemptions(
    connection: AsyncConnection, org_id: int, redemption_ids: Sequence[int]
) -> dict[int, RedemptionView]:
    """Redemptions with their programs, the lots they consumed and their reversals (with the
    lots those gave back), in a fixed number of queries for any number of them."""
    if not redemption_ids:
        return {}
    rows = await repository.redemption_rows(connection, org_id=org_id, redemption_ids=redemption_ids)
    if not rows:
        return {}
    debits = await ledger_repository.debits_of_events(
        connection, [row.event_id for row in rows], kind=EntryKind.POINTS_REDEMPTION
    )
    program_of_entry = {debit.id: debit.program_id for debit in debits}
    consumed = await _lot_points(connection, program_of_entry, taken=True)
    reversal_rows = await repository.reversals_of(connection, [row.id for row in rows])
    credits = (
        await ledger_repository.corrections_in_events(
            connection,
            [reversal.event_id for reversal in reversal_rows],
            kind=EntryKind.REDEMPTION_REVERSAL,
            corrected_ids=list(program_of_entry),
        )
        if reversal_rows
        else []
    )
    restored = await _lot_points(connection, {credit.id: credit.program_id for credit in credits}, taken=False)

    debits_by_event: dict[int, list[Any]] = defaultdict(list)
    for debit in debits:
        debits_by_event[debit.event_id].append(debit)
    credits_by_event_and_debit: dict[tuple[int, int], list[int]] = defaultdict(list)
    for credit in credits:
        credits_by_event_and_debit[(credit.event_id, credit.corrects_entry_id)].append(credit.id)
    reversals_by_redemption: dict[int, list[ReversalView]] = defaultdict(list)
    event_of_redemption = {row.id: row.event_id for row in rows}
    for reversal in reversal_rows:
        debit_ids = [debit.id for debit in debits_by_event[event_of_redemption[reversal.redemption_id]]]
        credit_ids = [
            credit_id
            for debit_id in debit_ids
            for credit_id in credits_by_event_and_debit[(reversal.event_id, debit_id)]
        ]
        reversals_by_redemption[reversal.redemption_id].append(
            ReversalView(
                id=reversal.id,
                redemption_id=reversal.redemption_id,
                event_id=reversal.event_id,
                points=reversal.points,
                transaction_id=reversal.transaction_id,
                notes=reversal.notes,
                created_at=reversal.created_at,
                lots_restored=tuple(lot for credit_id in credit_ids for lot in restored[credit_id]),
            )
        )
    return {
        row.id: RedemptionView(
            id=row.id,
            customer_id=row.customer_id,
            event_id=row.event_id,
            points=row.points,
            points_reversed=row.points_reversed,
            status=row.status,
            source=row.source,
            store_id=row.store_id,
            till_id=row.till_id,
            transaction_id=row.transaction_id,
            external_reference=row.external_reference,
            notes=row.notes,
            redeemed_at=row.redeemed_at,
            programs=tuple(
                ProgramShare(debit.program_id, debit.points, debit.balance_after)
                for debit in debits_by_event[row.event_id]
            ),
            lots_consumed=tuple(lot for debit in debits_by_event[row.event_id] for lot in consumed[debit.id]),
            reversals=tuple(reversals_by_redemption[row.id]),
        )
        for row in rows
    }


async def _lot_points(
    connection: AsyncConnection, program_of_entry: dict[int, int], *, taken: bool
) -> dict[int, list[LotPoints]]:
    """Per entry, the lots it moved, in the order it moved them: what a debit took (`taken`), or
    what a reversal credit gave back (into the original lots, or a new lot for points that were
    never in one)."""
    found: dict[int, list[LotPoints]] = defaultdict(list)
    if not program_of_entry:
        return found
    entry_ids = list(program_of_entry)
    moved = await ledger_repository.lot_movements(connection, entry_ids, taken=taken)
    for row in moved:
        found[row.entry_id].append(
            LotPoints(
                program_of_entry[row.entry_id],
                row.lot_id,
                abs(row.points),
                row.active_from,
                row.expires_at,
                row.earn_entry_id,
            )
        )
    if not taken:
        created = await ledger_repository.lots_made_by(connection, entry_ids)
        for row in created:
            found[row.entry_id].append(
                LotPoints(
                    program_of_entry[row.entry_id], row.id, row.points, row.active_from, row.expires_at, row.entry_id
                )
            )
    return found


async def customer_redemptions(
    connection: AsyncConnection, org_id: int, customer_id: int, first: int, after_id: int | None
) -> tuple[list[RedemptionView], bool]:
    """A customer's redemptions, newest first, keyset-paginated by id (member care)."""
    assert 1 <= first <= ledger.READ_PAGE_SIZE_MAX
    ids = await repository.customer_redemption_ids(
        connection, org_id=org_id, customer_id=customer_id, limit=first + 1, before_id=after_id
    )
    views = await load_redemptions(connection, org_id, ids[:first])
    return [views[redemption_id] for redemption_id in ids[:first]], len(ids) > first
