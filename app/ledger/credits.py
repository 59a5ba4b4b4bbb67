"""Many point credits posted at once: the bulk path of awards (points promotions, tracker
points, imports), one event per credit.

`post_credits` does what `service.post_event` does for a one-credit event, for any number of
credits with a fixed number of statements: the accounts are locked once (in id order), the
balances after each entry are worked out from the locked balances in the order given, and the
events, entries, lots, lot movements and account counters are each written in one executemany
(`repository.insert_credits`, `repository.add_to_accounts`). A credit into a negative balance
pays the debt first out of its own lot, by the rule `post_event` follows (`rules.debt_payments`).

Imports post a million credits through here, so the plan is worked out in the driver's stored
points (scaled integers: no Decimal arithmetic per row). Events take their ids in the order
given; entries and lots in customer order, so their customer and account indexes are written a
page at a time instead of at random.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.money import from_scaled_integer
from app.ledger import repository, rules
from app.ledger.rules import COUNTER_BY_KIND
from app.ledger.views import CreditDraft, PostedCredit

__all__ = ["CreditDraft", "PostedCredit", "post_credits", "post_credits_expiring_past_due"]


async def post_credits(
    connection: AsyncConnection, *, org_id: int, credits: Sequence[CreditDraft], now: datetime, results: bool = True
) -> list[PostedCredit]:
    """Post `credits` in the caller's write transaction; returns one PostedCredit per credit, in
    order (none with `results=False`, for callers that do not look).

    The caller has checked the accounts belong to `org_id` and their holders are not merged. The
    accounts are locked here (SELECT ... FOR UPDATE in id order on PostgreSQL; SQLite's single
    writer excludes everyone), so concurrent posts to the same accounts serialize.
    """
    posted, _ = await _post_credits(
        connection, org_id=org_id, credits=credits, now=now, results=results, expire_past_due=False
    )
    return posted


async def post_credits_expiring_past_due(
    connection: AsyncConnection, *, org_id: int, credits: Sequence[CreditDraft], now: datetime
) -> Decimal:
    """`post_credits` (no results) for credits that may be past their expiry already (history
    brought in by an import): each such credit's lot is expired in the same transaction, by one
    POINTS_EXPIRY event per lot dated at the lot's expiry, whose debit takes what the lot kept
    (all of it, less what paid a debt). Set-based like the credits: a fixed number of statements
    however many rows expire. Returns the points expired."""
    _, expired = await _post_credits(
        connection, org_id=org_id, credits=credits, now=now, results=False, expire_past_due=True
    )
    return from_scaled_integer(expired, repository.STORED_POINTS_SCALE)


async def _post_credits(
    connection: AsyncConnection,
    *,
    org_id: int,
    credits: Sequence[CreditDraft],
    now: datetime,
    results: bool,
    expire_past_due: bool,
) -> tuple[list[PostedCredit], int]:
    """The credits posted, and the points expired at once (stored) when `expire_past_due`."""
    if not credits:
        return [], 0
    points_value = repository.stored_points(connection)
    account_ids = sorted({credit.account.id for credit in credits})
    balances = await repository.lock_stored_balances(connection, account_ids)
    assert len(balances) == len(account_ids), "every credited account exists"

    # Customer order, and the given order within a customer: a customer's entries keep their
    # order in ids (ledger pages read them by id), and so do an account's balances after.
    order = sorted(range(len(credits)), key=lambda index: credits[index].account.customer_id)
    planned: list[tuple[int, int, int]] = [(0, 0, 0)] * len(credits)  # (points, balance after, paid to the debt)
    moved: dict[tuple[int, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for index in order:
        credit = credits[index]
        account_id = credit.account.id
        points = points_value(credit.points)
        assert points > 0, "a credit moves points"
        before = balances[account_id]
        # No debt, nothing paid: the rule's call skipped for the usual credit.
        [(_, paid)] = rules.debt_payments(before, ((points, credit.expires_at),)) if before < 0 else [(0, 0)]
        balance_after = balances[account_id] = before + points
        planned[index] = (points, balance_after, paid)
        counter_move = COUNTER_BY_KIND[credit.entry_kind]
        counter, direction = counter_move if counter_move is not None else (None, 1)
        totals = moved[(account_id, counter)]
        totals[0] += points
        totals[1] += points * direction
    # Lots past their expiry already, in the order credited: after every credit of the batch,
    # each takes what its lot kept from its account's balance (entries follow in that order).
    expiring: list[tuple[int, int, int]] = []  # (credit index, points, balance after)
    if expire_past_due:
        for index in order:
            credit = credits[index]
            points, _, paid = planned[index]
            if credit.expires_at is not None and credit.expires_at <= now and points > paid:
                account_id = credit.account.id
                balances[account_id] -= points - paid
                expiring.append((index, points - paid, balances[account_id]))
                totals = moved[(account_id, "expired")]
                totals[0] -= points - paid
                totals[1] += points - paid
    event_ids, entry_ids, lot_ids = await repository.insert_credits(
        connection, org_id=org_id, credits=credits, order=order, planned=planned, now=now
    )
    if expiring:
        await repository.insert_expiries_at_once(
            connection,
            org_id=org_id,
            expiries=[
                (credits[index].account, lot_ids[index], points, balance_after, credits[index].expires_at)
                for index, points, balance_after in expiring
            ],
            import_job_ids=[credits[index].import_job_id for index, _, _ in expiring],
        )
    await repository.add_to_accounts(connection, {key: (amount, counted) for key, (amount, counted) in moved.items()})
    expired = sum(points for _, points, _ in expiring)
    if not results:
        return [], expired
    return [
        PostedCredit(event_id, entry_id, from_scaled_integer(balance_after, repository.STORED_POINTS_SCALE))
        for event_id, entry_id, (_, balance_after, _) in zip(event_ids, entry_ids, planned, strict=True)
    ], expired
