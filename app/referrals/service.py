"""Referrals: a customer's code, who referred them, and the awards of the referee's qualifying purchase.

- Every customer registered one by one (a bill, registerCustomer) gets a referral code in the
  same transaction: random (rules.new_code), unique per organisation by a database key; a
  collision is retried with a new code and never reaches the client.
- Customers registered in bulk (imports) and those registered before referrals existed get
  theirs when it is first asked for (`codes_given`: the customer's `referralCode`), in one write
  whatever the number asked; two first asks at once give the same code (the customer's row is the
  key: the later insert is skipped and reads the first one's). Imports stay set-based and as fast
  as before, and nobody can be referred by a code that was never shown.
- A customer registered with a referral code (the bill's or the customer's, seed 001) is linked
  to the code's owner once, changed only by a merge (below). An unknown code is a typed error
  naming the field and nothing is written (REFERRAL_CODE_NOT_FOUND): a till that mistyped a code
  can correct it, where a warning would leave the referral lost. A code given for a customer already known is kept on
  the bill and links nothing (the referral belongs to registration).
- The referee's qualifying purchase (the program's [programs.referral]: first purchase, minimum
  eligible amount) writes one REFERRAL_AWARD ledger event in the bill's transaction: a credit to
  the referee and one to the referrer, each a new lot spendable at once that expires by the
  program's rule. The referrer's row is locked first, so their referees' purchases count against
  the limits one at a time; once a limit is reached the referee is still awarded, the referrer not.
- A merge moves the victim's referees, awards and (to a survivor nobody referred) its referrer
  to the survivor, and drops a referral between the two (`merge_referrals`); a merged
  customer's code names its survivor.
- A return that takes the qualifying bill below the minimum amount (or a FULL return) reverses
  both awards once (a REFERRAL_REVERSAL event of debits; what was spent already is not recovered
  unless the program allows a negative balance) and the award stops counting against the limits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.enums import PointsCategory
from app.ledger import repository as ledger_repository
from app.ledger import rules as ledger_rules
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import OrgConfig, ProgramConfig
from app.outbox import events
from app.outbox import service as outbox
from app.referrals import repository, rules
from app.referrals.errors import OwnReferralCodeError, ReferralCodeNotFoundError

ZERO = Decimal(0)
CODE_ATTEMPTS = 20  # each attempt collides with odds (customers / 8.5e11): 20 never all collide


async def assign_code(connection: AsyncConnection, *, org_id: int, customer_id: int, now: datetime) -> str:
    """The new customer's referral code, drawn again on a collision."""
    for _ in range(CODE_ATTEMPTS):
        code = rules.new_code()
        if await repository.insert_code(connection, org_id=org_id, customer_id=customer_id, code=code, now=now):
            return code
    raise RuntimeError("no free referral code after repeated draws")  # unexpected: masked to the client


# The customer a customer id names now: itself, or the survivor of the merges it went into.
SurvivorOf = Callable[[AsyncConnection, int], Awaitable[int]]


async def link_referee(
    connection: AsyncConnection,
    org: OrgConfig,
    *,
    referee_id: int,
    code: str,
    now: datetime,
    field: str,
    survivor_of: SurvivorOf,
) -> int:
    """The new customer's referrer, by code: their id (typed errors on `field`, nothing linked).
    A merged customer's code names its survivor. The referrer's code row is locked first, as a
    merge locks its customers' (`lock_for_merge`): a merge of the referrer either ends before the
    survivor is read, or waits for this link and then moves it with the referrer's others."""
    owner_id = await repository.code_owner(connection, org_id=org.id, code=rules.normalized(code))
    if owner_id is None:
        raise ReferralCodeNotFoundError(f"no customer has the referral code {code.strip()!r}", field=field)
    referrer_id = None
    while referrer_id != owner_id:
        referrer_id = owner_id
        await repository.lock_referrer(connection, referrer_id)
        owner_id = await survivor_of(connection, referrer_id)
    if referrer_id == referee_id:
        raise OwnReferralCodeError("a customer cannot refer themselves", field=field)
    await repository.link(connection, org_id=org.id, referee_id=referee_id, referrer_id=referrer_id, now=now)
    return referrer_id


async def pending_referrer(
    connection: AsyncConnection, org: OrgConfig, program: ProgramConfig, referee_id: int
) -> int | None:
    """The customer's referrer when the program has a referral program that has not awarded them
    yet (one indexed read; none at all for a program without referrals)."""
    if program.referral is None:
        return None
    return await repository.pending_referrer(connection, org_id=org.id, referee_id=referee_id, program_id=program.id)


@dataclass(frozen=True, slots=True)
class Award:
    customer_id: int
    points: Decimal
    is_referrer: bool


@dataclass(frozen=True, slots=True)
class Purchase:
    """The referee's bill, as the award needs it."""

    transaction_id: int
    number: str
    eligible_amount: Decimal  # on a return: what is left of the bill
    source: str | None
    store_id: int | None
    till_id: int | None


@dataclass(frozen=True, slots=True)
class AwardPlan:
    """What the referee's qualifying purchase pays, decided with the referrer's row locked."""

    referee: Award
    referrer: Award


async def plan_award(
    connection: AsyncConnection,
    org: OrgConfig,
    program: ProgramConfig,
    *,
    referee_id: int,
    referrer_id: int,
    eligible_amount: Decimal,
    first_purchase: bool,
    now: datetime,
) -> AwardPlan | None:
    """The awards of the purchase when it qualifies (None: a later purchase may, unless the
    program counts the first purchase only). Locks the referrer's row first, so their referees'
    purchases count against the limits one at a time; the lock holds until `post_award`."""
    referral = program.referral
    assert referral is not None, "pending_referrer found the program's referral"
    if not rules.qualifies(referral, eligible_amount, first_purchase):
        return None
    locked_id = None
    while referrer_id != locked_id:
        await repository.lock_referrer(connection, referrer_id)
        locked_id = referrer_id
        # A merge of the referrer may have moved this link while we waited for the row: read it
        # again under the lock (a self-referral the merge made is no link any more).
        current = await repository.pending_referrer(
            connection, org_id=org.id, referee_id=referee_id, program_id=program.id
        )
        if current is None:
            return None
        referrer_id = current
    month, total = await repository.referrer_awards(
        connection,
        referrer_id=referrer_id,
        program_id=program.id,
        month_start=rules.month_start(now, org.time_zone),
    )
    return AwardPlan(
        Award(referee_id, referral.referee_points, is_referrer=False),
        Award(referrer_id, rules.referrer_points(referral, month, total), is_referrer=True),
    )


async def post_award(
    connection: AsyncConnection,
    org: OrgConfig,
    program: ProgramConfig,
    plan: AwardPlan,
    purchase: Purchase,
    *,
    open_program: Callable[[int], Awaitable[None]],
    now: datetime,
) -> None:
    """Write the planned awards: one REFERRAL_AWARD event crediting both accounts (locked in id
    order), and the award row (its unique key: once per referee and program)."""
    awards = (plan.referee, plan.referrer)
    accounts = await _lock_accounts(connection, program, [award.customer_id for award in awards], open_program)
    expires_at = ledger_rules.lot_expiry(program.expiry_strategy, program.expiry_value, now, org.time_zone)
    postings = [
        ledger.Posting(
            accounts[award.customer_id][0],
            EntryType.CREDIT,
            EntryKind.REFERRAL_AWARD,
            award.points,
            lots=(ledger.LotDraft(award.points, now, expires_at),),
        )
        for award in awards
        if award.points > 0
    ]
    event_id = None
    if postings:
        posted = await ledger.post_event(
            connection,
            org_id=org.id,
            now=now,
            draft=_draft(EventType.REFERRAL_AWARD, plan.referee.customer_id, purchase),
            postings=postings,
        )
        event_id = posted.id
    for award in awards:
        if award.points > 0:
            outbox.stage(
                connection,
                org_id=org.id,
                draft=events.referral_awarded(
                    customer_id=award.customer_id,
                    program_code=program.code,
                    points=award.points,
                    is_referrer=award.is_referrer,
                    referee_id=plan.referee.customer_id,
                    referrer_id=plan.referrer.customer_id,
                    transaction_id=purchase.transaction_id,
                    bill_number=purchase.number,
                ),
                now=now,
            )
    await repository.insert_award(
        connection,
        {
            "org_id": org.id,
            "program_id": program.id,
            "referee_id": plan.referee.customer_id,
            "referrer_id": plan.referrer.customer_id,
            "transaction_id": purchase.transaction_id,
            "referee_points": plan.referee.points,
            "referrer_points": plan.referrer.points,
            "event_id": event_id,
            "awarded_at": now,
        },
    )


@dataclass(frozen=True, slots=True)
class ReversalPlan:
    award_id: int
    award_event_id: int | None
    program_code: str
    bill_id: int  # the qualifying bill (the events name it)
    referee_id: int
    referrer_id: int
    taken: tuple[Award, ...]  # what each customer gives back (awards not recovered in full: less)
    accounts: dict[int, ledger.AccountRef]


async def plan_reversal(
    connection: AsyncConnection,
    org: OrgConfig,
    program: ProgramConfig,
    *,
    transaction_id: int,
    eligible_left: Decimal,
    complete: bool,
    moves: Mapping[int, Decimal],
) -> ReversalPlan | None:
    """The reversal of the awards a returned purchase paid, when what is left of it (`eligible_left`)
    no longer qualifies; `moves`: what the return itself moves, by account id, before it. The
    caller holds the bill's lock, so one return at a time gets here; `post_reversal` marks it once."""
    referral = program.referral
    if referral is None:
        return None
    rows = await repository.standing_awards_of_transaction(connection, org_id=org.id, transaction_id=transaction_id)
    if not rows or (not complete and eligible_left >= referral.minimum_amount):
        return None
    [row] = rows  # one award per referee and program, and a bill is one customer's in one program
    await repository.lock_referrer(connection, row.referrer_id)
    accounts = await _lock_accounts(connection, program, [row.referee_id, row.referrer_id], None)
    taken = tuple(
        Award(
            customer_id,
            _recoverable(program, points, accounts[customer_id][1] + moves.get(accounts[customer_id][0].id, ZERO)),
            is_referrer,
        )
        for customer_id, points, is_referrer in (
            (row.referee_id, row.referee_points, False),
            (row.referrer_id, row.referrer_points, True),
        )
        if points > 0
    )
    return ReversalPlan(
        row.id,
        row.event_id,
        program.code,
        row.transaction_id,
        row.referee_id,
        row.referrer_id,
        taken,
        {key: value[0] for key, value in accounts.items()},
    )


async def post_reversal(
    connection: AsyncConnection,
    org: OrgConfig,
    plan: ReversalPlan,
    purchase: Purchase,
    *,
    bill_number: str,
    now: datetime,
) -> None:
    """One REFERRAL_REVERSAL event of debits (correcting the award's event), and the award marked
    reversed: it stops counting against the referrer's limits. `purchase` is the return;
    `bill_number` the qualifying bill's, which the outbox events name."""
    postings = [
        ledger.Posting(plan.accounts[award.customer_id], EntryType.DEBIT, EntryKind.REFERRAL_REVERSAL, award.points)
        for award in plan.taken
        if award.points > 0
    ]
    event_id = None
    if postings:
        posted = await ledger.post_event(
            connection,
            org_id=org.id,
            now=now,
            draft=_draft(EventType.REFERRAL_REVERSAL, plan.referee_id, purchase, corrects_event_id=plan.award_event_id),
            postings=postings,
        )
        event_id = posted.id
    for award in plan.taken:
        if award.points > 0:
            outbox.stage(
                connection,
                org_id=org.id,
                draft=events.referral_reversed(
                    customer_id=award.customer_id,
                    program_code=plan.program_code,
                    points=award.points,
                    is_referrer=award.is_referrer,
                    referee_id=plan.referee_id,
                    referrer_id=plan.referrer_id,
                    transaction_id=plan.bill_id,
                    bill_number=bill_number,
                ),
                now=now,
            )
    reversed_now = await repository.mark_reversed(connection, award_id=plan.award_id, event_id=event_id, now=now)
    assert reversed_now, "the bill's lock lets one return reverse its awards"


def _recoverable(program: ProgramConfig, points: Decimal, balance: Decimal) -> Decimal:
    """What a reversal debits: all of the award, or (a program that keeps balances from going
    negative) no more than the balance; the rest was spent and is not recovered."""
    return points if program.allow_negative_balance else min(points, max(balance, ZERO))


def _draft(
    event_type: EventType, referee_id: int, purchase: Purchase, corrects_event_id: int | None = None
) -> ledger.EventDraft:
    return ledger.EventDraft(
        event_type,
        referee_id,
        purchase.source,
        purchase.store_id,
        purchase.till_id,
        purchase.transaction_id,
        purchase.number,
        corrects_event_id=corrects_event_id,
    )


async def _lock_accounts(
    connection: AsyncConnection,
    program: ProgramConfig,
    customer_ids: Sequence[int],
    open_program: Callable[[int], Awaitable[None]] | None,
) -> dict[int, tuple[ledger.AccountRef, Decimal]]:
    """The customers' REGULAR accounts in the program and their balances, locked in id order
    (opened first for a customer registered before the program existed)."""
    rows = await ledger_repository.lock_regular_accounts(connection, customer_ids, program_id=program.id)
    missing = set(customer_ids) - {row.customer_id for row in rows}
    if missing and open_program is not None:
        for customer_id in sorted(missing):
            await open_program(customer_id)
        rows = await ledger_repository.lock_regular_accounts(connection, customer_ids, program_id=program.id)
    return {
        row.customer_id: (ledger.AccountRef(row.id, row.customer_id, program.id, PointsCategory.REGULAR), row.balance)
        for row in rows
    }


@dataclass(frozen=True, slots=True)
class ReferralView:
    customer_id: int
    code: str
    referrer_id: int | None
    referred_at: datetime | None


async def referrals_of(
    connection: AsyncConnection, org_id: int, customer_ids: Sequence[int]
) -> dict[int, ReferralView]:
    """Many customers' codes and referrers in one query (the GraphQL loader calls this); a
    customer without a code (imported in bulk) is absent."""
    return {
        row.customer_id: ReferralView(row.customer_id, row.code, row.referrer_id, row.referred_at)
        for row in await repository.codes_of(connection, org_id=org_id, customer_ids=customer_ids)
    }


async def codes_given(
    connection: AsyncConnection, *, org_id: int, customer_ids: Sequence[int], now: datetime
) -> dict[int, ReferralView]:
    """These customers' referrals, a code drawn for each who had none (in the caller's write
    transaction; the caller vouches they are customers of `org_id`)."""
    found, _ = await codes_drawn(connection, org_id=org_id, customer_ids=customer_ids, now=now)
    return found


async def codes_drawn(
    connection: AsyncConnection, *, org_id: int, customer_ids: Sequence[int], now: datetime
) -> tuple[dict[int, ReferralView], int]:
    """`codes_given`, and how many codes this call drew: a customer whose code a concurrent first
    ask drew meanwhile (its insert won, ours was skipped) is not counted."""
    found = await referrals_of(connection, org_id, customer_ids)
    missing = [customer_id for customer_id in customer_ids if customer_id not in found]
    drawn = 0
    for _ in range(CODE_ATTEMPTS):
        if not missing:
            return found, drawn
        proposed = {customer_id: rules.new_code() for customer_id in missing}
        await repository.insert_missing_codes(connection, org_id=org_id, codes_by_customer=proposed, now=now)
        stored = await referrals_of(connection, org_id, missing)
        found.update(stored)
        drawn += sum(1 for customer_id, view in stored.items() if view.code == proposed[customer_id])
        missing = [customer_id for customer_id in missing if customer_id not in found]
    if missing:
        raise RuntimeError("no free referral code after repeated draws")  # unexpected: masked to the client
    return found, drawn


async def lock_for_merge(connection: AsyncConnection, customer_ids: Sequence[int]) -> None:
    """A merge's first step here, before it locks any account (as an award locks the referrer's
    code row, then accounts): both customers' code rows."""
    await repository.lock_codes(connection, customer_ids)


async def merge_referrals(
    connection: AsyncConnection, *, org_id: int, survivor_id: int, victim_id: int, now: datetime
) -> list[int]:
    """What a merge does to referrals (after `lock_for_merge`); the victim's referees it moved.

    - The survivor keeps its own code. The victim's code keeps naming the person: a customer
      registering with it is linked to the survivor (`link_referee`).
    - The victim's referees become the survivor's: their qualifying purchases pay the survivor,
      and the victim's awards as a referrer count against the survivor's limits (and a return
      reverses them on the survivor, who holds the points now).
    - A survivor nobody referred takes the victim's referrer (the link moves), and the victim's
      referee awards (where it has none in that program), so the person is paid once per
      program. A survivor with its own referrer keeps it.
    - A link between the two is one person referring themselves: it goes, and pays nothing
      more (awards paid before the merge stand, as every posted award does).
    """
    found = await referrals_of(connection, org_id, [survivor_id, victim_id])
    victim = found.get(victim_id)
    if victim is None:  # no code row: never shown a code, never linked, so no referees or awards
        return []
    if survivor_id not in found:  # a row to hold the links it takes (and its code, drawn now)
        await codes_given(connection, org_id=org_id, customer_ids=[survivor_id], now=now)
    return await repository.merge_referrals(
        connection,
        org_id=org_id,
        survivor_id=survivor_id,
        victim_id=victim_id,
        victim_referrer_id=victim.referrer_id,
        victim_referred_at=victim.referred_at,
    )


@dataclass(frozen=True, slots=True)
class Referee:
    customer_id: int
    referred_at: datetime


@dataclass(frozen=True)
class RefereePage:
    referees: list[Referee]
    has_next_page: bool


async def referees(
    connection: AsyncConnection, org_id: int, referrer_id: int, *, first: int, after_id: int | None
) -> RefereePage:
    """The customers a referrer referred, oldest first, keyset-paged by customer id."""
    rows = await repository.referees_page(
        connection, org_id=org_id, referrer_id=referrer_id, after_id=after_id or 0, limit=first + 1
    )
    return RefereePage([Referee(row.customer_id, row.referred_at) for row in rows[:first]], len(rows) > first)
