"""returnTransaction: take back what a bill gave when all or part of it comes back.

One write transaction:
1. lock the bill's natural key (the key addTransaction takes for it), and the customer's
   identifiers (and, for an exchange, the new purchase's keys) in one sorted pass;
2. find the bill by number, purchase date and store, in this org only; the same return posted
   again (same bill, same return number, same payload) replays, another payload conflicts;
3. lock the customer, their accounts (in id order), their standing and the redemptions on the
   bill, then work out what comes back (return_rules) from the bill as it now stands;
4. write the return and its lines, move the bill's returned counters with guarded UPDATEs (so
   returns can never add up to more than the bill), post one TRANSACTION_RETURN event
   (REDEMPTION_REVERSAL credits first, then the POINTS_RETURN debits), lower the purchases and
   apply the downgrade rule;
5. for MIXED, post the exchange's purchase through addTransaction's own path.

Points the customer already spent: where the program allows negative balances the debit is
taken in full; otherwise at most the balance is taken and the rest is reported as not
recovered (the bill's returned_points counts both, so later returns never chase it).

The statements are in app/transactions/repository.py (the bill's redemptions: the redemptions'
repository).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.currencies import service as currencies_service
from app.customers import repository as customers_repository
from app.customers import service as customers_service
from app.customers.errors import CustomerNotFoundError
from app.customers.models import LoyaltyType, TierChangeCause
from app.customers.service import CustomerDetails, CustomerView
from app.customers.tiers import record_tier_change
from app.idempotency import service as idempotency
from app.kernel.currencies import account_category
from app.kernel.enums import PointsCategory
from app.kernel.errors import ConflictError, ValidationError
from app.ledger import repository as ledger_repository
from app.ledger import rules as ledger_rules
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import OrgConfig, ProgramConfig, TierConfig
from app.outbox import events
from app.outbox import service as outbox
from app.promotions import service as promotions_service
from app.redemptions import repository as redemptions_repository
from app.redemptions import service as redemptions_service
from app.referrals import service as referrals
from app.storage.database import Database, lock_keys
from app.transactions import repository, return_rules
from app.transactions.errors import (
    CustomerMismatchError,
    DuplicateBillNumberError,
    DuplicateReturnNumberError,
    ReturnExceedsBillError,
    TransactionNotFoundError,
)
from app.transactions.models import LineItemType, TransactionType
from app.transactions.return_rules import BillLine, BillState, PreparedReturn, ReturnInput, ReturnPlan
from app.transactions.rules import EARNING_STATUSES, json_document, line_worth
from app.transactions.service import LineItemView, TransactionView, add_within, bill_lock_key
from app.transactions.side_effects import (
    AlternateCurrencyReturned,
    CustomerResolved,
    PointsReturned,
    RedemptionReversed,
    ReferralAwarded,
    SideEffect,
    TierDowngraded,
    from_document,
    to_document,
)

ZERO = Decimal(0)
RETURNED_CODE = 600
RETURNED_MESSAGE = "Return added successfully"
REPLAYED_MESSAGE = "Return already added; this is the first result"
OWNER_READS_MAX = 5


@dataclass(frozen=True)
class ReturnResult:
    transaction: TransactionView  # the return
    returned_transaction: TransactionView  # the bill, as it stands after the return
    purchase: TransactionView | None  # MIXED: the exchange's new purchase
    customer: CustomerView | None
    replayed: bool
    line_items: list[LineItemView] | None = None  # the return's lines, when just written

    @property
    def item_status_message(self) -> str:
        return REPLAYED_MESSAGE if self.replayed else RETURNED_MESSAGE

    def _points_effect(self) -> PointsReturned | None:
        return next((effect for effect in self.transaction.side_effects if isinstance(effect, PointsReturned)), None)

    @property
    def points_returned(self) -> Decimal:
        """Points debited from the customer by this return."""
        effect = self._points_effect()
        return effect.points_returned if effect else ZERO

    @property
    def points_not_recovered(self) -> Decimal:
        effect = self._points_effect()
        return effect.points_not_recovered if effect else ZERO


async def return_transaction(
    database: Database, org: OrgConfig, data: ReturnInput, path: str = "input", *, now: datetime
) -> ReturnResult:
    prepared = return_rules.prepare_return(data, org, now, path)
    key = idempotency.check_key(data.idempotency_key, f"{path}.idempotencyKey")

    async def perform(connection: AsyncConnection) -> tuple[int, ReturnResult]:
        result = await _return(connection, org, prepared, now, path)
        return result.transaction.id, result

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="returnTransaction",
        payload=prepared.payload_hash,
        now=now,
        perform=perform,
        replay=lambda connection, return_id: load_return_result(connection, org, return_id, replayed=True, now=now),
        field=f"{path}.idempotencyKey",
        brief=True,
    )


def _lock_keys_of(org: OrgConfig, prepared: PreparedReturn) -> list[str]:
    """Every natural key this write may take, taken at once in sorted order (an exchange's
    purchase takes its own again later, which it then already holds)."""
    keys = [
        bill_lock_key(org.id, prepared.store.id, prepared.number),
        *customers_service.identifier_lock_keys(org.id, prepared.identifiers),
    ]
    if prepared.purchase is not None:
        purchase = prepared.purchase
        keys.append(bill_lock_key(org.id, purchase.store.id, purchase.number))
    return keys


async def _return(
    connection: AsyncConnection, org: OrgConfig, prepared: PreparedReturn, now: datetime, path: str
) -> ReturnResult:
    await lock_keys(connection, _lock_keys_of(org, prepared))
    bill = await repository.bill_to_return(
        connection,
        org_id=org.id,
        store_id=prepared.store.id,
        number=prepared.number,
        purchase_from=prepared.purchase_from,
        purchase_until=prepared.purchase_until,
    )
    if bill is None:
        raise TransactionNotFoundError(
            f"no bill {prepared.number!r} of {prepared.source.purchase_date:%Y-%m-%d} in store {prepared.store.code!r}",
            field=f"{path}.number",
        )
    if bill.type != prepared.bill_type.value:
        wanted = "NOT_INTERESTED_RETURN" if bill.type == TransactionType.NOT_INTERESTED.value else "RETURN or MIXED"
        raise ValidationError(f"bill {bill.number!r} is a {bill.type} bill: post a {wanted}", field=f"{path}.type")
    replay = await _find_same_return(connection, bill.id, prepared, path)
    if replay is not None:
        return await load_return_result(connection, org, replay, replayed=True, now=now)
    if prepared.billing_time < bill.billing_time:
        raise ValidationError("a return cannot be billed before its purchase", field=f"{path}.billingTime")

    program = org.program(bill.program_id)
    lines = await repository.bill_lines(connection, bill.id)
    state = BillState(
        amount=bill.amount,
        eligible_amount=bill.eligible_amount,
        points_earned=bill.points_earned,
        returned_amount=bill.returned_amount,
        returned_eligible_amount=bill.returned_eligible_amount,
        returned_points=bill.returned_points,
        lines=tuple(_bill_line(line, earns=bill.eligible_amount > 0) for line in lines),
    )
    customer_id = None
    if bill.customer_id is not None:
        customer_id = await _return_customer(connection, org, prepared, bill.customer_id, path)
    plan = return_rules.plan_return(
        state, prepared.source.return_type, prepared.return_lines, prepared.source.amount, program, path
    )

    side_effects: list[SideEffect] = []
    points = _PointsMoves()
    currency_returns: list[currencies_service.PlannedReturn] = []
    standing_change = None
    referral_reversal = None
    if customer_id is not None:
        points = await _plan_points(connection, org, program, bill, plan, customer_id, now, path)
        standing_change = await _plan_standing(connection, org, program, bill, plan, customer_id, now)
        side_effects.append(
            PointsReturned(
                customer_id=points.holder_id or customer_id,
                program_id=program.id,
                program_code=program.code,
                points_returned=points.debited,
                points_not_recovered=points.not_recovered,
            )
        )
        side_effects.extend(
            RedemptionReversed(customer_id=customer_id, redemption_id=claim.redemption_id, points_reversed=claim.points)
            for claim in points.claims
        )
        if standing_change is not None and standing_change.downgrade is not None:
            side_effects.append(standing_change.downgrade)
        currency_returns = await currencies_service.plan_returns(
            connection,
            org,
            program,
            bill_id=bill.id,
            eligible_amount=bill.eligible_amount,
            returned_eligible_amount_after=bill.returned_eligible_amount + plan.eligible_amount,
            line_quantities_after=_line_quantities_after(state, plan),
            complete=plan.complete,
        )
        side_effects.extend(
            AlternateCurrencyReturned(
                item.effect.identifier, item.effect.name, item.effect.value_returned, item.effect.value_not_recovered
            )
            for item in currency_returns
        )
        referral_reversal = await _plan_referral_reversal(connection, org, program, bill, plan, points)
        if referral_reversal is not None:
            side_effects.extend(
                ReferralAwarded(award.customer_id, program.id, program.code, award.points, award.is_referrer, True)
                for award in referral_reversal.taken
                if award.points > 0
            )

    return_id, return_lines = await _insert_return(
        connection, org, prepared, bill, lines, plan, customer_id, points, side_effects, now
    )
    await _move_bill(connection, bill.id, state, plan, points.reversed_total, path)
    outbox.stage(
        connection,
        org_id=org.id,
        draft=events.transaction_returned(
            customer_id=customer_id,
            transaction_id=return_id,
            bill_number=bill.number,
            return_type=prepared.source.return_type.value,
            returned_amount=plan.amount,
            returned_points=plan.points,
            reversed_redemption_points=points.reversed_total,
        ),
        now=now,
    )
    if customer_id is not None and points.debited > 0:
        outbox.stage(
            connection,
            org_id=org.id,
            draft=events.points_reversed(
                customer_id=customer_id,
                reversed_kind=events.REVERSED_EARNING,
                program_code=program.code,
                points=points.debited,
                transaction_id=return_id,
                bill_number=bill.number,
            ),
            now=now,
        )
    if customer_id is not None and prepared.source.customer is not None:
        # Names given with the return update the customer, as a bill's do.
        await customers_service.update_details(
            connection,
            org,
            customer_id,
            CustomerDetails(prepared.source.customer.first_name, prepared.source.customer.last_name),
            now,
            transaction_id=return_id,
        )
    if plan.complete:  # nothing of the bill is left: its promo codes can be used again
        await promotions_service.release_for_return(connection, bill_id=bill.id, return_id=return_id, now=now)
    if points.postings:
        posted = await ledger.post_event(
            connection,
            org_id=org.id,
            now=now,
            postings=points.postings,
            draft=ledger.EventDraft(
                EventType.TRANSACTION_RETURN,
                customer_id,
                prepared.source.source,
                prepared.store.id,
                prepared.till.id if prepared.till else None,
                return_id,
                prepared.return_number,
                corrects_event_id=points.add_event_id,
            ),
        )
        for claim in points.claims:
            await redemptions_service.record_reversal(
                connection,
                org_id=org.id,
                claim=claim,
                event_id=posted.id,
                transaction_id=return_id,
                notes=None,
                now=now,
                bill_number=bill.number,
            )
    await currencies_service.post_returns(
        connection,
        org,
        currency_returns,
        return_id=return_id,
        return_number=prepared.return_number,
        bill_number=bill.number,
        source=prepared.source.source,
        store_id=prepared.store.id,
        till_id=prepared.till.id if prepared.till else None,
        now=now,
    )
    if standing_change is not None:
        await standing_change.apply(connection, org_id=org.id, return_id=return_id, now=now)
    if referral_reversal is not None:  # after the return's own debits, which it counted on
        await referrals.post_reversal(
            connection,
            org,
            referral_reversal,
            referrals.Purchase(
                return_id,
                prepared.return_number,
                bill.eligible_amount - bill.returned_eligible_amount - plan.eligible_amount,
                prepared.source.source,
                prepared.store.id,
                prepared.till.id if prepared.till else None,
            ),
            bill_number=bill.number,
            now=now,
        )

    if prepared.purchase is not None:
        try:
            purchase = await add_within(connection, org, prepared.purchase, now, path)
        except DuplicateBillNumberError as error:  # the purchase is posted under the return's number
            raise DuplicateBillNumberError(
                error.message, field=f"{path}.parentBillNumber", existing_transaction_id=error.existing_transaction_id
            ) from error
        await repository.set_parent(connection, transaction_id=purchase.transaction.id, parent_id=return_id)
    return await load_return_result(connection, org, return_id, replayed=False, line_items=return_lines, now=now)


async def _plan_referral_reversal(
    connection: AsyncConnection,
    org: OrgConfig,
    program: ProgramConfig,
    bill: Any,
    plan: ReturnPlan,
    points: _PointsMoves,
) -> referrals.ReversalPlan | None:
    """The referral awards of the bill taken back, when the return leaves it below the qualifying rule."""
    moves: dict[int, Decimal] = defaultdict(Decimal)
    for posting in points.postings:
        moves[posting.account.id] += ledger.signed(posting.entry_type, posting.points)
    return await referrals.plan_reversal(
        connection,
        org,
        program,
        transaction_id=bill.id,
        eligible_left=bill.eligible_amount - bill.returned_eligible_amount - plan.eligible_amount,
        complete=plan.complete,
        moves=moves,
    )


def _line_quantities_after(state: BillState, plan: ReturnPlan) -> dict[int, tuple[Decimal, Decimal]]:
    """Each line of the bill: its quantity, and what of it is returned once this return is in."""
    returned = {line.serial: line.returned_qty for line in state.lines}
    for line in plan.lines:
        returned[line.serial] += line.qty
    return {line.serial: (line.qty, returned[line.serial]) for line in state.lines}


def _bill_line(line: Any, *, earns: bool) -> BillLine:
    """A purchased line as returns see it: worth its amount and add-ons, earning its eligible part
    (nothing when the bill earned nothing)."""
    worth = line_worth(line.amount, line.value, line.outlier_status, line.addon_items, line.split_items)
    return BillLine(
        line.serial,
        line.item_code,
        line.variant,
        line.qty,
        line.returned_qty,
        worth.amount,
        worth.eligible_amount if earns else ZERO,
    )


def _non_loyalty(bill: Any) -> bool:
    """A bill of a customer known but not enrolled when it was made (its customer side effect says)."""
    return any(
        isinstance(effect, CustomerResolved) and effect.loyalty_type == LoyaltyType.NON_LOYALTY.value
        for effect in from_document(bill.side_effects)
    )


async def _find_same_return(
    connection: AsyncConnection, bill_id: int, prepared: PreparedReturn, path: str
) -> int | None:
    """A return of this bill under the same return number: the same payload replays it, another
    payload is a typed conflict. Without a return number every post is a new return (send an
    idempotencyKey to retry safely)."""
    if prepared.parent_bill_number is None:
        return None
    row = await repository.same_return(connection, bill_id=bill_id, return_number=prepared.parent_bill_number)
    if row is None:
        return None
    if row.payload_hash == prepared.payload_hash:
        return row.id
    raise DuplicateReturnNumberError(
        f"return number {prepared.parent_bill_number!r} was already used for a return of this bill",
        field=f"{path}.parentBillNumber",
        existing_transaction_id=row.id,
    )


async def _return_customer(
    connection: AsyncConnection, org: OrgConfig, prepared: PreparedReturn, bill_customer_id: int, path: str
) -> int:
    """The customer the identifiers name, row-locked: it must be the bill's customer or the one
    the bill's customer was merged into. A concurrent merge can move identifiers while we wait
    for the lock, so the owner is read again after locking until it holds still (SQLite's single
    writer makes the first read final)."""
    field_name = f"{path}.customer"
    for _ in range(OWNER_READS_MAX):
        owners = await customers_repository.owner_ids(connection, org_id=org.id, given=prepared.identifiers)
        if not owners:
            raise CustomerNotFoundError("no customer has these identifiers", field=field_name)
        if len(owners) > 1:
            raise CustomerMismatchError("these identifiers belong to different customers", field=field_name)
        owner = owners[0]
        locked = await customers_repository.lock_customer(connection, owner)
        if connection.dialect.name != "postgresql":
            break
        again = await customers_repository.owner_ids(connection, org_id=org.id, given=prepared.identifiers)
        if locked.merged_into_customer_id is None and again == [owner]:
            break
    else:
        raise ConflictError("the customer's identifiers kept changing owner; try again", field=field_name)
    survivor = (await customers_service.survivors(connection, [bill_customer_id], lock=False))[bill_customer_id]
    if survivor != owner:
        raise CustomerMismatchError("the bill belongs to another customer", field=field_name)
    return owner


@dataclass(frozen=True)
class _PointsMoves:
    """What the return does to points: the event's entries and what they add up to."""

    postings: list[ledger.Posting] = field(default_factory=list)
    holder_id: int | None = None  # whose account the points come back from: the customer's, or their group's
    debited: Decimal = ZERO
    not_recovered: Decimal = ZERO
    claims: list[redemptions_service.ReversalClaim] = field(default_factory=list)  # redemptions given back
    add_event_id: int | None = None  # the bill's TRANSACTION_ADD event, which the return corrects

    @property
    def reversed_total(self) -> Decimal:
        return sum((claim.points for claim in self.claims), ZERO)


async def _plan_points(
    connection: AsyncConnection,
    org: OrgConfig,
    program: ProgramConfig,
    bill: Any,
    plan: ReturnPlan,
    customer_id: int,
    now: datetime,
    path: str,
) -> _PointsMoves:
    """The TRANSACTION_RETURN event's entries: redemption reversals (credits, restoring the lots
    the redemptions consumed with their expiry), then the POINTS_RETURN debits of the bill's
    points share. Locks in the order every writer takes them: the customer's row (taken
    already), their accounts in id order, then the redemption rows."""
    # The account the bill earned into (its allocation entry says which category, and whose: a
    # program that pools members' points in their group earned into the group's), then the
    # program's REGULAR account, where promised or trigger-based points go once converted.
    add_event_id = await ledger_repository.bill_add_event_id(connection, org_id=org.id, transaction_id=bill.id)
    allocations = await ledger_repository.allocations(connection, add_event_id) if add_event_id else []
    earn_category = PointsCategory(allocations[0].category) if allocations else program.earn_category
    # Not the bill's customer's (nor, once merged, the survivor's, which took over its accounts).
    pooled = bool(allocations) and allocations[0].customer_id != bill.customer_id
    holder_id = allocations[0].customer_id if pooled else customer_id
    if holder_id != customer_id:  # the group's row, after the customer's, as every writer locks customers
        await customers_repository.lock_customer(connection, holder_id)
    accounts = await ledger.customer_accounts(connection, sorted({customer_id, holder_id}), lock=True)
    by_key = {(row.customer_id, row.program_id, account_category(row.category)): row for row in accounts}

    postings: list[ledger.Posting] = []
    claims: list[redemptions_service.ReversalClaim] = []
    returned_amount_after = bill.returned_amount + plan.amount
    for redemption in await redemptions_repository.lock_redemptions_of_bill(connection, bill.id):
        decimal_places = await redemptions_service.points_decimal_places(connection, org, redemption.event_id)
        give = return_rules.redemption_reversal(
            redemption.points,
            redemption.points_reversed,
            returned_amount_after,
            bill.amount,
            plan.complete,
            program,
            decimal_places,
        )
        if give > 0:
            claim = await redemptions_service.claim_reversal(
                connection,
                org,
                redemption.id,
                give,
                now,
                redemption_field=f"{path}.number",
                points_field=f"{path}.amount",
            )
            claims.append(claim)
            postings.extend(claim.postings)
    # The debits come after the credits in the event, so they see the points given back.
    moved: dict[int, Decimal] = defaultdict(Decimal)
    for posting in postings:
        moved[posting.account.id] += ledger.signed(posting.entry_type, posting.points)

    sources = [by_key[(holder_id, program.id, earn_category)]]
    if earn_category is not PointsCategory.REGULAR:
        sources.append(by_key[(holder_id, program.id, PointsCategory.REGULAR)])
    debits, not_recovered = return_rules.split_points_return(
        plan.points, [row.balance + moved[row.id] for row in sources], program.allow_negative_balance
    )
    bill_lots: tuple[int, ...] = ()
    if allocations and plan.points > 0:
        bill_lots = await ledger_repository.lot_ids_made_by(connection, [row.id for row in allocations])
    for row, points in zip(sources, debits, strict=True):
        if points > 0:
            account = ledger.AccountRef(row.id, holder_id, program.id, PointsCategory(row.category))
            postings.append(
                ledger.Posting(account, EntryType.DEBIT, EntryKind.POINTS_RETURN, points, prefer_lot_ids=bill_lots)
            )
    return _PointsMoves(
        postings=postings,
        holder_id=holder_id,
        debited=sum(debits, ZERO),
        not_recovered=not_recovered,
        claims=claims,
        add_event_id=add_event_id,
    )


@dataclass(frozen=True)
class _StandingChange:
    standing_id: int | None  # None: a NON_LOYALTY bill, which moved no standing
    customer_id: int
    counted: Decimal
    values: dict[str, Any]
    downgrade: TierDowngraded | None
    program_id: int
    tiers: tuple[TierConfig, TierConfig] | None  # (before, after) when the tier changes
    program_code: str

    async def apply(self, connection: AsyncConnection, *, org_id: int, return_id: int, now: datetime) -> None:
        if self.standing_id is not None:
            await customers_repository.update_standing(connection, self.standing_id, self.values)
        if self.tiers is not None:
            before, after = self.tiers
            await record_tier_change(
                connection,
                org_id=org_id,
                customer_id=self.customer_id,
                program_id=self.program_id,
                program_code=self.program_code,
                before=before,
                after=after,
                cause=TierChangeCause.RETURN,
                tier_expires_at_after=self.values["tier_expires_at"],
                transaction_id=return_id,
                now=now,
            )
        if self.counted > 0:
            # Never below zero: purchases counted before they were tracked are not negative.
            await customers_repository.subtract_lifetime_purchases(
                connection, customer_id=self.customer_id, amount=self.counted
            )


async def _plan_standing(
    connection: AsyncConnection,
    org: OrgConfig,
    program: ProgramConfig,
    bill: Any,
    plan: ReturnPlan,
    customer_id: int,
    now: datetime,
) -> _StandingChange | None:
    """Cumulative purchases go down by the returned value the bill counted (bills with an
    outlier status that did not count, count nothing back); the tier follows the downgrade
    rule, and a changed tier gets a new expiry (the base tier none, as at registration)."""
    counted = plan.amount if bill.outlier_status in EARNING_STATUSES else ZERO
    if counted <= 0:
        return None
    if _non_loyalty(bill):  # it counted in lifetime purchases only
        return _StandingChange(None, customer_id, counted, {}, None, program.id, None, program.code)
    standing = await customers_repository.lock_standing(connection, customer_id=customer_id, program_id=program.id)
    assert standing is not None, "the bill's customer has a standing in the bill's program"
    cumulative = max(standing.cumulative_purchases - counted, ZERO)
    current = program.tier(standing.tier_id)
    tier = return_rules.tier_after_return(program, current, cumulative)
    values: dict[str, Any] = {"cumulative_purchases": cumulative}
    downgrade = None
    if tier.id != current.id:
        values.update(
            tier_id=tier.id,
            tier_expires_at=None
            if tier.serial_number == program.tiers[0].serial_number
            else ledger_rules.tier_expiry(program, now, org.time_zone),
        )
        downgrade = TierDowngraded(
            program_id=program.id,
            program_code=program.code,
            tier_name_before=current.name,
            tier_number_before=current.serial_number,
            tier_name_after=tier.name,
            tier_number_after=tier.serial_number,
        )
    tiers = (current, tier) if tier.id != current.id else None
    return _StandingChange(standing.id, customer_id, counted, values, downgrade, program.id, tiers, program.code)


async def _insert_return(
    connection: AsyncConnection,
    org: OrgConfig,
    prepared: PreparedReturn,
    bill: Any,
    bill_lines: list[Any],
    plan: ReturnPlan,
    customer_id: int | None,
    points: _PointsMoves,
    side_effects: list[SideEffect],
    now: datetime,
) -> tuple[int, list[LineItemView]]:
    data = prepared.source
    return_id = await repository.insert_transaction(
        connection,
        {
            "org_id": org.id,
            "customer_id": customer_id,
            "type": data.type.value,
            "number": bill.number,
            "amount": plan.amount,
            "eligible_amount": plan.eligible_amount,
            "currency_code": bill.currency_code,
            "billing_time": prepared.billing_time,
            "notes": data.notes,
            "outlier_status": bill.outlier_status,
            "source": data.source,
            "store_id": prepared.store.id,
            "till_id": prepared.till.id if prepared.till else None,
            "program_id": bill.program_id,
            "extended_fields": json_document(data.extended_fields),
            "custom_fields": json_document(data.custom_fields),
            "associate_code": data.associate_code,
            "associate_name": data.associate_name,
            "side_effects": to_document(side_effects),
            "payload_hash": prepared.payload_hash,
            "created_at": now,
            "returned_points": plan.points,
            "reversed_redemption_points": points.reversed_total,
            "parent_transaction_id": bill.id,
            "return_type": data.return_type.value,
            "parent_bill_number": prepared.parent_bill_number,
        },
    )
    if not plan.lines:
        return return_id, []
    purchased = {row.serial: row for row in bill_lines}
    rows = []
    for serial, returned in enumerate(plan.lines, start=1):
        line = purchased[returned.serial]
        rows.append(
            {
                "org_id": org.id,
                "transaction_id": return_id,
                "serial": serial,
                "transaction_number": None,
                "item_code": line.item_code,
                "variant": line.variant,
                "product_id": line.product_id,
                "description": line.description,
                "qty": returned.qty,
                "rate": line.rate,
                "value": return_rules.round_amount(line.value * returned.qty / line.qty),
                "discount": return_rules.round_amount(line.discount * returned.qty / line.qty),
                "amount": returned.amount,
                "outlier_status": line.outlier_status,
                "attributes": None,
                "extended_fields": None,
                "custom_fields": None,
                "addon_items": return_rules.returned_sub_items(line.addon_items, returned.qty, line.qty),
                "combo_items": return_rules.returned_sub_items(line.combo_items, returned.qty, line.qty),
                "split_items": return_rules.returned_sub_items(line.split_items, returned.qty, line.qty),
                "returned_qty": ZERO,
                "line_type": LineItemType.RETURN.value,
                "returns_serial": returned.serial,
            }
        )
    await repository.insert_line_items(connection, rows)
    return return_id, [LineItemView.from_mapping(row) for row in rows]


async def _move_bill(
    connection: AsyncConnection, bill_id: int, state: BillState, plan: ReturnPlan, reversed_points: Decimal, path: str
) -> None:
    """The guarded UPDATEs: under the bill's lock they always pass; were the lock ever missing,
    they refuse to let returns add up to more than the bill (and the transaction rolls back)."""
    if not await repository.move_bill(
        connection,
        bill_id=bill_id,
        amount=plan.amount,
        eligible_amount=plan.eligible_amount,
        points=plan.points,
        reversed_points=reversed_points,
    ):
        raise ReturnExceedsBillError(
            "the bill changed while this return was made; try again",
            field=f"{path}.number",
            remaining_amount=state.remaining_amount,
            remaining_points=state.remaining_points,
        )
    for line in plan.lines:
        if not await repository.move_line(connection, bill_id=bill_id, serial=line.serial, qty=line.qty):
            raise ReturnExceedsBillError(
                "the bill changed while this return was made; try again",
                field=f"{path}.lineItems",
                remaining_amount=state.remaining_amount,
                remaining_points=state.remaining_points,
            )


# --- Reading a return back ------------------------------------------------------------------


def _view(row: Any) -> TransactionView:
    return TransactionView.from_row(row)


async def load_return_result(
    connection: AsyncConnection,
    org: OrgConfig,
    return_id: int,
    *,
    replayed: bool,
    now: datetime,
    line_items: list[LineItemView] | None = None,
) -> ReturnResult:
    """The return, the bill it returned (as it stands now) and, for an exchange, its purchase."""
    returned, bill, purchase = await repository.return_and_related(connection, return_id)
    customer = None
    if returned.customer_id is not None:
        customer = (await customers_service.load_customers(connection, org, [returned.customer_id], now=now))[
            returned.customer_id
        ]
    return ReturnResult(
        transaction=_view(returned),
        returned_transaction=_view(bill),
        purchase=_view(purchase) if purchase is not None else None,
        customer=customer,
        replayed=replayed,
        line_items=line_items,
    )
