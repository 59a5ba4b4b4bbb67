"""A program's alternate currencies (seed 001's `alternate_currency` side effect).

A currency is declared per program in the organisation file ([[programs.alternate_currencies]]:
identifier, name, earn rate per unit of a bill's eligible amount, rounding, decimal places,
expiry). Its units are the ledger's: each customer holds one account of the program per currency
(category 'AC:' + identifier, opened on first use with its zero opening-balance entry), credits
make lots expiring by the currency's strategy, debits consume lots first-expiring first, and the
reconciliation covers these accounts as any other. No points reader counts them (points
summaries, holdings, expiry schedules and notices, ledger pages read points categories only).

- A bill earns each currency in its own ALTERNATE_CURRENCY_AWARD event of the bill's
  transaction, into the customer's own account (never a user group's), when the value is above
  zero: its earn_rate on the eligible amount plus what its lines earn by the currency's line
  rules (each line's part recorded in alternate_currency_line_awards); the bill's response
  carries one ALTERNATE_CURRENCY side effect per currency earned, with the total.
- A return takes back the bill-level part's share of the amount returned so far and each line
  part's share of its line's quantity returned so far (the currency's rounding; all of it once
  the bill is wholly returned), less what earlier returns took, in one
  ALTERNATE_CURRENCY_RETURN event correcting the award; from the award's own lot first. Without
  `allow_negative_balance` it takes at most the balance and reports the rest as not recovered.
- A redemption (redeemAlternateCurrency) debits spendable units under the account's lock, once
  per idempotency key; INSUFFICIENT_POINTS when fewer are spendable, with nothing written.
- A reversal (reverseAlternateCurrencyRedemption) gives back all or part of what a redemption
  took, into the lots it took from with their expiry, in one REDEMPTION_REVERSAL event correcting
  it: never more than is left (what earlier reversals gave back is read from the ledger under
  the customer's lock), carried on to the survivor of a merged customer, once per idempotency key.
- Transfers between customers: app/currencies/transfers.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.currencies import repository, rules
from app.currencies.errors import AlternateCurrencyNotFoundError
from app.customers import service as customers_service
from app.customers.service import CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.currencies import CurrencyCategory, account_category
from app.kernel.decimals import POINTS, check_decimal
from app.kernel.errors import InsufficientPointsError, ValidationError
from app.ledger import repository as ledger_repository
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import AlternateCurrencyConfig, OrgConfig, ProgramConfig
from app.outbox import events
from app.outbox import service as outbox
from app.redemptions.errors import RedemptionNotFoundError
from app.redemptions.rules import parse_id
from app.storage.database import Database

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class CurrencyAward:
    """What a bill earns in one currency (before it is posted): `value` is the bill-level part
    and the line parts together."""

    currency: AlternateCurrencyConfig
    value: Decimal
    line_values: tuple[tuple[int, Decimal], ...] = ()  # (line serial, what the line earned by line rules)


@dataclass(frozen=True, slots=True)
class CurrencyReturn:
    identifier: str
    name: str
    value_returned: Decimal
    value_not_recovered: Decimal


@dataclass(frozen=True, slots=True)
class CurrencyBalance:
    program_id: int
    identifier: str
    name: str
    balance: Decimal
    spendable: Decimal  # active and not past its expiry, whether or not the expiry run has debited it
    pending: Decimal
    earned: Decimal
    redeemed: Decimal
    expired: Decimal
    returned: Decimal


@dataclass(frozen=True)
class RedemptionRequest:
    customer: CustomerLookup
    currency_identifier: str
    value: Decimal
    idempotency_key: str
    program_code: str | None = None  # the org's default program when omitted


@dataclass(frozen=True)
class RedemptionResult:
    event_id: int
    program_code: str
    currency_identifier: str
    value: Decimal
    balance_after: Decimal
    redeemed_at: datetime
    replayed: bool


@dataclass(frozen=True)
class ReversalRequest:
    redemption_event_id: str  # the redemption's eventLogId
    idempotency_key: str
    value: Decimal | None = None  # None: all that is left of the redemption


@dataclass(frozen=True)
class ReversalResult:
    event_id: int
    redemption_event_id: int
    program_code: str
    currency_identifier: str
    value: Decimal
    value_left: Decimal  # of the redemption, still to give back after this reversal
    balance_after: Decimal  # the account the units went back to (the survivor's, for a merged customer)
    reversed_at: datetime
    replayed: bool


def awards_for_bill(
    program: ProgramConfig, eligible_amount: Decimal, lines: Sequence[rules.EarningLine]
) -> list[CurrencyAward]:
    """Each of the program's currencies a bill earns (above zero), in declared order: its
    earn_rate on the bill's eligible amount, plus what its lines earn by the line rules."""
    awards = []
    for currency in program.alternate_currencies:
        line_values = rules.line_values(currency, lines) if currency.line_rules else ()
        value = rules.earned_value(currency, eligible_amount) + sum((value for _, value in line_values), ZERO)
        if value > 0:
            awards.append(CurrencyAward(currency, value, line_values))
    return awards


async def post_bill_awards(
    connection: AsyncConnection,
    org: OrgConfig,
    program: ProgramConfig,
    awards: Sequence[CurrencyAward],
    *,
    customer_id: int,
    transaction_id: int,
    bill_number: str,
    source: str | None,
    store_id: int | None,
    till_id: int | None,
    billing_time: datetime,
    now: datetime,
) -> None:
    """Post a bill's awards (the caller holds the customer's lock, as every bill writer does),
    and their line parts in one statement."""
    line_parts: list[tuple[int, int, Decimal]] = []
    for award in awards:
        account, postings = await locked_account(connection, org, program, customer_id, award.currency, now)
        expires_at = rules.lot_expiry(program, award.currency, billing_time, now, org.time_zone)
        postings.append(
            ledger.Posting(
                account,
                EntryType.CREDIT,
                EntryKind.POINTS_ALLOCATION,
                award.value,
                lots=(ledger.LotDraft(award.value, now, expires_at),),
            )
        )
        posted = await ledger.post_event(
            connection,
            org_id=org.id,
            now=now,
            draft=ledger.EventDraft(
                EventType.ALTERNATE_CURRENCY_AWARD,
                customer_id,
                source,
                store_id,
                till_id,
                transaction_id,
                bill_number,
            ),
            postings=postings,
        )
        line_parts.extend((posted.id, serial, value) for serial, value in award.line_values)
        outbox.stage(
            connection,
            org_id=org.id,
            draft=events.alternate_currency_earned(
                customer_id=customer_id,
                program_code=program.code,
                currency_identifier=award.currency.identifier,
                currency_name=award.currency.name,
                value=award.value,
                transaction_id=transaction_id,
                bill_number=bill_number,
            ),
            now=now,
        )
    if line_parts:
        await repository.insert_line_awards(connection, org_id=org.id, parts=line_parts)


async def locked_account(
    connection: AsyncConnection,
    org: OrgConfig,
    program: ProgramConfig,
    customer_id: int,
    currency: AlternateCurrencyConfig,
    now: datetime,
) -> tuple[ledger.AccountRef, list[ledger.Posting]]:
    """The customer's account of the currency, locked; opened at zero when it is the first use
    (with the opening-balance posting the event must carry first)."""
    category = currency.category
    row = await ledger_repository.lock_account_of(
        connection, customer_id=customer_id, program_id=program.id, category=category
    )
    if row is not None:
        return ledger.AccountRef(row.id, customer_id, program.id, category), []
    account, opening = await ledger.open_account_at_zero(
        connection, org_id=org.id, customer_id=customer_id, program_id=program.id, category=category, now=now
    )
    return account, [opening]


@dataclass(frozen=True, slots=True)
class PlannedReturn:
    """What a return takes back of one award, worked out before the return is written."""

    award_event_id: int
    account: ledger.AccountRef
    lot_ids: tuple[int, ...]  # the award's own lot, taken from first
    effect: CurrencyReturn


async def plan_returns(
    connection: AsyncConnection,
    org: OrgConfig,
    program: ProgramConfig,
    *,
    bill_id: int,
    eligible_amount: Decimal,
    returned_eligible_amount_after: Decimal,
    line_quantities_after: Mapping[int, tuple[Decimal, Decimal]],
    complete: bool,
) -> list[PlannedReturn]:
    """A return's share of each award of the bill: of its bill-level part by eligible amount,
    of its line parts by each line's quantity (`line_quantities_after`: line serial -> the line's
    quantity and what of it is returned, this return included; see the module doc). The caller
    holds the customer's accounts locked. An award whose currency the program no longer
    declares is left as it is."""
    planned: list[PlannedReturn] = []
    awards = await ledger_repository.currency_awards_of_bill(connection, org_id=org.id, transaction_id=bill_id)
    line_parts = await repository.line_awards_of(
        connection, org_id=org.id, award_event_ids=[award.event_id for award in awards]
    )
    for award in awards:
        currency = program.alternate_currency(CurrencyCategory(award.category).identifier)
        if currency is None:
            continue
        lines = [
            rules.ReturnedLine(value, *line_quantities_after[serial])
            for serial, value in line_parts.get(award.event_id, {}).items()
        ]
        due = rules.returned_value(
            currency,
            award.points,
            award.returned,
            returned_eligible_amount_after,
            eligible_amount,
            lines,
            complete=complete,
        )
        if due <= 0:
            continue
        balance = await ledger.lock_account(connection, award.account_id)
        taken = due if program.allow_negative_balance else min(due, max(balance, ZERO))
        planned.append(
            PlannedReturn(
                award.event_id,
                ledger.AccountRef(award.account_id, award.customer_id, program.id, currency.category),
                await ledger_repository.lot_ids_made_by(connection, [award.entry_id]),
                CurrencyReturn(currency.identifier, currency.name, taken, due - taken),
            )
        )
    return planned


async def post_returns(
    connection: AsyncConnection,
    org: OrgConfig,
    planned: Sequence[PlannedReturn],
    *,
    return_id: int,
    return_number: str,
    bill_number: str,
    source: str | None,
    store_id: int | None,
    till_id: int | None,
    now: datetime,
) -> None:
    """One ALTERNATE_CURRENCY_RETURN event per award a return takes from, correcting the award;
    an outbox event per award a return owes, even when all of it was spent (nothing taken)."""
    for item in planned:
        outbox.stage(
            connection,
            org_id=org.id,
            draft=events.alternate_currency_returned(
                customer_id=item.account.customer_id,
                program_code=org.program(item.account.program_id).code,
                currency_identifier=item.effect.identifier,
                currency_name=item.effect.name,
                value=item.effect.value_returned,
                value_not_recovered=item.effect.value_not_recovered,
                transaction_id=return_id,
                bill_number=bill_number,
            ),
            now=now,
        )
        if item.effect.value_returned <= 0:
            continue
        await ledger.post_event(
            connection,
            org_id=org.id,
            now=now,
            draft=ledger.EventDraft(
                EventType.ALTERNATE_CURRENCY_RETURN,
                item.account.customer_id,
                source,
                store_id,
                till_id,
                return_id,
                return_number,
                corrects_event_id=item.award_event_id,
            ),
            postings=[
                ledger.Posting(
                    item.account,
                    EntryType.DEBIT,
                    EntryKind.POINTS_RETURN,
                    item.effect.value_returned,
                    prefer_lot_ids=item.lot_ids,
                )
            ],
        )


async def balances(
    connection: AsyncConnection, org: OrgConfig, customer_ids: Sequence[int], now: datetime
) -> dict[int, list[CurrencyBalance]]:
    """Per customer, each alternate currency account with its counters and what it holds now;
    currencies never earned are absent. One query for any number of customers."""
    found: dict[int, list[CurrencyBalance]] = defaultdict(list)
    for row in await ledger_repository.account_holdings(connection, org.id, customer_ids, now, currencies=True):
        program = org.program(row.program_id)
        identifier = CurrencyCategory(row.category).identifier
        currency = program.alternate_currency(identifier)
        found[row.customer_id].append(
            CurrencyBalance(
                program_id=row.program_id,
                identifier=identifier,
                name=currency.name if currency else identifier,
                balance=row.balance,
                spendable=Decimal(row.spendable),
                pending=Decimal(row.pending),
                earned=row.earned,
                redeemed=row.redeemed,
                expired=row.expired,
                returned=row.returned,
            )
        )
    return found


def find_currency(
    org: OrgConfig, program_code: str | None, identifier: str, path: str
) -> tuple[ProgramConfig, AlternateCurrencyConfig]:
    program = org.named_or_default_program(program_code, f"{path}.programCode")
    currency = program.alternate_currency(identifier)
    if currency is None:
        raise AlternateCurrencyNotFoundError(
            f"program {program.code} has no alternate currency {identifier!r}", field=f"{path}.currency"
        )
    return program, currency


def find_currency_for_value(
    org: OrgConfig, program_code: str | None, identifier: str, value: Decimal, path: str
) -> tuple[ProgramConfig, AlternateCurrencyConfig]:
    """The program and currency a write names, and its `value` checked: above zero, in the
    kernel's POINTS range, no finer than the currency counts (INVALID_INPUT on `path`.value)."""
    program, currency = find_currency(org, program_code, identifier, path)
    check_decimal(value, f"{path}.value", POINTS, positive=True)
    refusal = rules.check_value(value, currency)
    if refusal is not None:
        raise ValidationError(refusal, field=f"{path}.value")
    return program, currency


async def redeem(
    database: Database, org: OrgConfig, request: RedemptionRequest, path: str = "input", *, now: datetime
) -> RedemptionResult:
    """Debit `value` units of a currency in one write transaction, once per idempotency key.

    Errors, each naming its input field: INVALID_INPUT (a value not above zero or finer than the
    currency counts, a blank key), PROGRAM_NOT_FOUND, ALTERNATE_CURRENCY_NOT_FOUND,
    CUSTOMER_NOT_FOUND, CUSTOMER_MERGED, INSUFFICIENT_POINTS (fewer units spendable),
    IDEMPOTENCY_KEY_REUSED."""
    program, currency = find_currency_for_value(
        org, request.program_code, request.currency_identifier, request.value, path
    )
    payload = {
        "customer": request.customer.payload(),
        "programCode": program.code,
        "currency": currency.identifier,
        "value": format(request.value.normalize(), "f"),
    }

    async def perform(connection: AsyncConnection) -> tuple[int, RedemptionResult]:
        result = await _redeem(connection, org, request, program, currency, now, path)
        return result.event_id, result

    async def replay(connection: AsyncConnection, event_id: int) -> RedemptionResult:
        summary = await ledger_repository.event_summary(connection, event_id)
        balance_after = await ledger_repository.balance_after_event(connection, event_id)
        return RedemptionResult(
            event_id,
            program.code,
            currency.identifier,
            -summary.points_on_event,
            balance_after,
            summary.created_at,
            True,
        )

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=idempotency.required_key(request.idempotency_key, f"{path}.idempotencyKey"),
        operation="redeemAlternateCurrency",
        payload=payload,
        now=now,
        perform=perform,
        replay=replay,
        field=f"{path}.idempotencyKey",
        brief=True,
    )


async def _redeem(
    connection: AsyncConnection,
    org: OrgConfig,
    request: RedemptionRequest,
    program: ProgramConfig,
    currency: AlternateCurrencyConfig,
    now: datetime,
    path: str,
) -> RedemptionResult:
    customer_id = await customers_service.find_customer(connection, org, request.customer, f"{path}.customer")
    # The customer, then the account: the house lock order. The spendable units are read under
    # the account's lock, so concurrent redemptions never take the balance below zero.
    await customers_service.lock_unmerged(connection, {customer_id: f"{path}.customer"})
    row = await ledger_repository.lock_account_of(
        connection, customer_id=customer_id, program_id=program.id, category=currency.category
    )
    available = ZERO
    if row is not None:
        available = (await ledger.spendable_points(connection, [row.id], now))[row.id]
    if row is None or request.value > available:
        raise InsufficientPointsError(
            f"the customer has {format(available.normalize(), 'f')} spendable {currency.name} in program "
            f"{program.code}, fewer than {format(request.value.normalize(), 'f')}",
            field=f"{path}.value",
            available_points=available,
            requested_points=request.value,
        )
    account = ledger.AccountRef(row.id, customer_id, program.id, currency.category)
    taken = await ledger.plan_consumption(connection, account.id, request.value, now)
    assert sum((share.points for share in taken), ZERO) == request.value, "spendable units are held in lots"
    posted = await ledger.post_event(
        connection,
        org_id=org.id,
        now=now,
        draft=ledger.EventDraft(EventType.ALTERNATE_CURRENCY_REDEMPTION, customer_id, None, None, None),
        postings=[ledger.Posting(account, EntryType.DEBIT, EntryKind.POINTS_REDEMPTION, request.value, consumes=taken)],
    )
    outbox.stage(
        connection,
        org_id=org.id,
        draft=events.alternate_currency_redeemed(
            customer_id=customer_id,
            program_code=program.code,
            currency_identifier=currency.identifier,
            currency_name=currency.name,
            value=request.value,
            event_log_id=posted.id,
        ),
        now=now,
    )
    return RedemptionResult(
        posted.id, program.code, currency.identifier, request.value, posted.entries[0].balance_after, now, False
    )


async def reverse_redemption(
    database: Database, org: OrgConfig, request: ReversalRequest, path: str = "input", *, now: datetime
) -> ReversalResult:
    """Give back `value` units of a currency redemption (all that is left when omitted), once per
    idempotency key. Errors, each naming its input field: REDEMPTION_NOT_FOUND (no currency
    redemption of this org with that id), INVALID_INPUT (a value not above zero, finer than the
    currency counts, or more than is left; a blank key), IDEMPOTENCY_KEY_REUSED."""
    id_field, value_field = f"{path}.eventLogId", f"{path}.value"
    event_id = parse_id(request.redemption_event_id)
    if event_id is None:
        raise RedemptionNotFoundError(f"no redemption {request.redemption_event_id!r}", field=id_field)
    if request.value is not None:
        check_decimal(request.value, value_field, POINTS, positive=True)
    payload = {
        "redemption": event_id,
        "value": format(request.value.normalize(), "f") if request.value is not None else None,
    }

    async def perform(connection: AsyncConnection) -> tuple[int, ReversalResult]:
        result = await _reverse(connection, org, event_id, request.value, now, id_field, value_field)
        return result.event_id, result

    async def replay(connection: AsyncConnection, reversal_event_id: int) -> ReversalResult:
        summary = await ledger_repository.event_summary(connection, reversal_event_id)
        assert summary.customer_id is not None, "a reversal is a customer's"
        debits = await ledger_repository.event_debits(connection, event_id)
        program, currency = _currency_of(org, debits[0])
        balances = await ledger_repository.balances_after_event(connection, reversal_event_id)
        return ReversalResult(
            reversal_event_id,
            event_id,
            program.code,
            currency.identifier,
            summary.points_on_event,
            await _left_to_reverse(connection, debits),
            balances[summary.customer_id],
            summary.created_at,
            True,
        )

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=idempotency.required_key(request.idempotency_key, f"{path}.idempotencyKey"),
        operation="reverseAlternateCurrencyRedemption",
        payload=payload,
        now=now,
        perform=perform,
        replay=replay,
        field=f"{path}.idempotencyKey",
        brief=True,
    )


def _currency_of(org: OrgConfig, debit: Any) -> tuple[ProgramConfig, AlternateCurrencyConfig]:
    """The program and currency a redemption's debit took from."""
    program = org.program(debit.program_id)
    category = account_category(debit.category)
    assert isinstance(category, CurrencyCategory), "a currency redemption debits a currency's account"
    currency = program.alternate_currency(category.identifier)
    assert currency is not None, "a currency stays declared while its accounts hold units"
    return program, currency


async def _left_to_reverse(connection: AsyncConnection, debits: Sequence[Any]) -> Decimal:
    """What a redemption took less what its reversals gave back so far."""
    given_back = await ledger_repository.corrections(connection, [row.id for row in debits])
    return sum((row.points for row in debits), ZERO) - sum((row.points for row in given_back), ZERO)


async def _reverse(
    connection: AsyncConnection,
    org: OrgConfig,
    redemption_event_id: int,
    value: Decimal | None,
    now: datetime,
    id_field: str,
    value_field: str,
) -> ReversalResult:
    customer_id = await ledger_repository.event_customer(
        connection,
        org_id=org.id,
        event_id=redemption_event_id,
        event_type=EventType.ALTERNATE_CURRENCY_REDEMPTION.value,
    )
    if customer_id is None:
        raise RedemptionNotFoundError(f"no alternate currency redemption {redemption_event_id}", field=id_field)
    # The customer and the survivor of its merges, then their accounts: the house lock order. What
    # earlier reversals gave back is read under these locks, so two at once cannot both give it.
    survivor_id = (await customers_service.survivors(connection, [customer_id], lock=True))[customer_id]
    await ledger.customer_accounts(connection, sorted({customer_id, survivor_id}), lock=True)
    debits = await ledger_repository.event_debits(connection, redemption_event_id)
    program, currency = _currency_of(org, debits[0])
    left = await _left_to_reverse(connection, debits)
    amount = left if value is None else value
    if left == 0:
        raise ValidationError("the redemption was reversed in full already", field=id_field)
    if amount > left:
        raise ValidationError(
            f"only {format(left.normalize(), 'f')} {currency.name} of the redemption is left to give back",
            field=value_field,
        )
    refusal = rules.check_value(amount, currency)
    if refusal is not None:
        raise ValidationError(refusal, field=value_field)
    postings = await ledger.reversal_postings(
        connection, event_id=redemption_event_id, points=amount, kind=EntryKind.REDEMPTION_REVERSAL, now=now
    )
    if survivor_id != customer_id:
        postings = await ledger.carry_to_survivor(connection, postings, survivor_id, org_id=org.id, now=now)
    posted = await ledger.post_event(
        connection,
        org_id=org.id,
        now=now,
        draft=ledger.EventDraft(
            EventType.REDEMPTION_REVERSAL, survivor_id, None, None, None, corrects_event_id=redemption_event_id
        ),
        postings=postings,
    )
    outbox.stage(
        connection,
        org_id=org.id,
        draft=events.alternate_currency_reversed(
            customer_id=survivor_id,
            program_code=program.code,
            currency_identifier=currency.identifier,
            currency_name=currency.name,
            value=amount,
            value_left=left - amount,
            event_log_id=posted.id,
            redemption_event_log_id=redemption_event_id,
        ),
        now=now,
    )
    return ReversalResult(
        posted.id,
        redemption_event_id,
        program.code,
        currency.identifier,
        amount,
        left - amount,
        posted.entries[-1].balance_after,
        now,
        False,
    )
