"""Ledger use cases: open accounts, post events, plan debits and reversals, read pages and
balances, reconcile. The statements are the repository's (app/ledger/repository.py).

Posting is the only way points move: an event and its entries are inserted, and each entry's
account counters change in one guarded UPDATE ... RETURNING that also yields the balance after
the entry. Accounts are updated in id order so concurrent events cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.currencies import AccountCategory, account_category
from app.kernel.enums import PointsCategory
from app.kernel.errors import ValidationError
from app.ledger import repository, rules
from app.ledger.models import EntryKind, EntryType, EventType
from app.ledger.rules import COUNTER_BY_KIND, COUNTERS, signed
from app.ledger.views import (
    PAGE_SIZE_MAX,
    READ_PAGE_SIZE_MAX,
    ZERO,
    AccountRef,
    ConsumedLot,
    Discrepancy,
    EventDraft,
    LedgerEntryView,
    LedgerFilter,
    LedgerPage,
    LotDraft,
    LotShare,
    PostedEntry,
    PostedEvent,
    Posting,
    ReconciliationReport,
    SubledgerHoldings,
)

__all__ = [
    "PAGE_SIZE_MAX",
    "READ_PAGE_SIZE_MAX",
    "AccountRef",
    "ConsumedLot",
    "Discrepancy",
    "EventDraft",
    "LedgerEntryView",
    "LedgerFilter",
    "LedgerPage",
    "LotDraft",
    "LotShare",
    "PostedEntry",
    "PostedEvent",
    "Posting",
    "ReconciliationReport",
    "SubledgerHoldings",
    "carry_to_survivor",
    "closing_balance",
    "consumed_by_entries",
    "consumed_lots",
    "customer_accounts",
    "ledger_page",
    "lock_account",
    "lot_shares",
    "open_account_at_zero",
    "open_accounts",
    "open_accounts_in_bulk",
    "plan_consumption",
    "post_event",
    "reconcile",
    "reconciliation_report",
    "reversal_postings",
    "signed",
    "spendable_points",
    "subledger_holdings",
]

# Reads that are the repository's as they are.
customer_accounts = repository.customer_accounts
lock_account = repository.lock_account
lot_shares = repository.lot_shares
consumed_by_entries = repository.consumed_by_entries
spendable_points = repository.spendable_points
consumed_lots = repository.consumed_lots  # the lot trace of entries


async def post_event(
    connection: AsyncConnection,
    *,
    org_id: int,
    draft: EventDraft,
    postings: Sequence[Posting],
    now: datetime,
    accounts_are_new: bool = False,
) -> PostedEvent:
    """Write an event and its entries, moving each account in one guarded statement and its lots
    with it (see `Posting`).

    `accounts_are_new`: the accounts were opened at zero in this transaction, so a zero-point
    entry (an opening balance) needs no UPDATE to know the balance after it: zero.
    """
    assert postings, "an event without entries moves nothing and is not written"
    points_on_event = sum((signed(p.entry_type, p.points) for p in postings), ZERO)
    event_id = await repository.insert_event(
        connection, org_id=org_id, draft=draft, points_on_event=points_on_event, now=now
    )

    balances_after: dict[int, Decimal] = {}
    for index in sorted(range(len(postings)), key=lambda i: postings[i].account.id):
        posting = postings[index]
        if accounts_are_new and posting.points == 0:
            balances_after[index] = ZERO
        else:
            balances_after[index] = await _move_account(connection, posting)

    entry_ids = await repository.insert_entries(
        connection,
        org_id=org_id,
        event_id=event_id,
        draft=draft,
        postings=postings,
        balances_after=[balances_after[index] for index in range(len(postings))],
        now=now,
    )
    consumed: dict[int, tuple[LotShare, ...]] = {}
    for index, (posting, entry_id) in enumerate(zip(postings, entry_ids, strict=True)):
        balance_before = balances_after[index] - signed(posting.entry_type, posting.points)
        if posting.entry_type is EntryType.DEBIT:
            consumed[index] = await _consume_lots(connection, org_id, posting, entry_id, balance_before, now)
        elif posting.lots or posting.restores:
            await _fill_lots(connection, org_id, posting, entry_id, balance_before, now)
    return PostedEvent(
        id=event_id,
        points_on_event=points_on_event,
        entries=tuple(
            PostedEntry(
                id=entry_id,
                account_id=p.account.id,
                points=p.points,
                balance_after=balances_after[i],
                lots_consumed=consumed.get(i, ()),
            )
            for i, (p, entry_id) in enumerate(zip(postings, entry_ids, strict=True))
        ),
    )


async def _move_account(connection: AsyncConnection, posting: Posting) -> Decimal:
    moved = COUNTER_BY_KIND[posting.entry_kind]
    counter, direction = moved if moved is not None else (None, 1)
    return await repository.move_account(
        connection,
        account_id=posting.account.id,
        amount=signed(posting.entry_type, posting.points),
        counter=counter,
        counted=posting.points * direction,
    )


async def _consume_lots(
    connection: AsyncConnection, org_id: int, posting: Posting, entry_id: int, balance_before: Decimal, now: datetime
) -> tuple[LotShare, ...]:
    """A debit takes what it can from lots: all of it while the balance covers it, since an
    account's lots hold exactly its positive balance."""
    take = min(posting.points, max(balance_before, ZERO))
    if posting.consumes is not None:
        shares = posting.consumes
        assert sum((share.points for share in shares), ZERO) == take, "the planned lots match what the debit takes"
    else:
        shares = await plan_consumption(
            connection, posting.account.id, take, now, prefer_lot_ids=posting.prefer_lot_ids
        )
    await repository.move_lots(
        connection, org_id=org_id, entry_id=entry_id, changes=[(share.lot_id, -share.points) for share in shares]
    )
    return shares


async def _fill_lots(
    connection: AsyncConnection, org_id: int, posting: Posting, entry_id: int, balance_before: Decimal, now: datetime
) -> None:
    """A credit's points go to its lots, less the debt of a negative balance, which the
    soonest-expiring of them pay first (`rules.debt_payments`)."""
    sources: list[LotDraft | LotShare] = [*posting.restores, *posting.lots]
    payments = rules.debt_payments(balance_before, [(source.points, source.expires_at) for source in sources])
    new_lots: list[tuple[LotDraft, Decimal]] = []
    changes: list[tuple[int, Decimal]] = []
    for index, paid in payments:
        source = sources[index]
        if isinstance(source, LotShare):
            if source.points > paid:
                changes.append((source.lot_id, source.points - paid))
        elif source.points > 0:
            new_lots.append((source, paid))
    # The usual case, an award into a non-negative balance, needs no lot ids back.
    debt_paid = any(paid > 0 for _, paid in new_lots)
    lot_ids = await repository.insert_lots(
        connection,
        org_id=org_id,
        account=posting.account,
        entry_id=entry_id,
        new_lots=[lot for lot, _ in new_lots],
        now=now,
        ids_wanted=debt_paid,
    )
    if debt_paid:
        changes.extend((lot_id, -paid) for lot_id, (_, paid) in zip(lot_ids, new_lots, strict=True) if paid > 0)
    await repository.move_lots(connection, org_id=org_id, entry_id=entry_id, changes=changes)


async def plan_consumption(
    connection: AsyncConnection, account_id: int, points: Decimal, now: datetime, *, prefer_lot_ids: Sequence[int] = ()
) -> tuple[LotShare, ...]:
    """Which lots `points` come out of, in the order `repository.lots_in_spending_order` gives
    them (`prefer_lot_ids` first, then spendable, first-expiring, oldest). Fewer points when the
    lots hold fewer. The caller holds the account's lock."""
    if points <= 0:
        return ()
    limit = 64
    while True:
        rows = await repository.lots_in_spending_order(
            connection, account_id, now=now, prefer_lot_ids=prefer_lot_ids, limit=limit
        )
        shares = rules.take_from_lots(rows, points)
        if sum((share[1] for share in shares), ZERO) == points or len(rows) < limit:
            return tuple(LotShare(*share) for share in shares)
        limit *= 8


async def reversal_postings(
    connection: AsyncConnection, *, event_id: int, points: Decimal, kind: EntryKind, now: datetime
) -> list[Posting]:
    """Credits that give back `points` of what event `event_id`'s debits took: to the same
    accounts, in the order of its entries, and into the same lots with their original expiry
    (latest-expiring first), less what earlier reversals (credits naming those debits) gave
    back. Points the debits took beyond the lots (into a negative balance) come back as a new lot
    that does not expire. The caller holds a lock on what is reversed (e.g. the redemption row)
    and checks `points` is within what is left to give back."""
    debits = await repository.event_debits(connection, event_id)
    earlier = await repository.corrections(connection, [row.id for row in debits])
    given_back: dict[int, Decimal] = defaultdict(Decimal)
    for row in earlier:
        given_back[row.corrects_entry_id] += row.points
    result: list[Posting] = []
    left = points
    for debit in debits:
        share = min(left, debit.points - given_back[debit.id])
        if share <= 0:
            continue
        left -= share
        taken = await repository.consumed_by_entries(connection, [debit.id])
        restored = await repository.consumed_by_entries(
            connection, [row.id for row in earlier if row.corrects_entry_id == debit.id]
        )
        open_lots = {lot_id: -change - restored.get(lot_id, ZERO) for lot_id, change in taken.items()}
        candidates = sorted(
            (
                await repository.lot_shares(
                    connection, [lot_id for lot_id, open_points in open_lots.items() if open_points > 0]
                )
            ).values(),
            key=lambda lot: (lot.expires_at is None, lot.expires_at or now, lot.lot_id),
            reverse=True,
        )
        restores: list[LotShare] = []
        want = share
        for lot in candidates:
            give = min(want, open_lots[lot.lot_id])
            if give > 0:
                restores.append(LotShare(lot.lot_id, give, lot.active_from, lot.expires_at))
                want -= give
        new_lots = (LotDraft(want, now, None),) if want > 0 else ()
        account = AccountRef(debit.account_id, debit.customer_id, debit.program_id, account_category(debit.category))
        result.append(
            Posting(
                account,
                EntryType.CREDIT,
                kind,
                share,
                lots=new_lots,
                restores=tuple(restores),
                corrects_entry_id=debit.id,
            )
        )
    assert left == 0, "a reversal gives back at most what the event took"
    return result


async def open_accounts(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    program_ids: Sequence[int],
    categories: Sequence[PointsCategory],
    draft: EventDraft,
    now: datetime,
) -> dict[tuple[int, PointsCategory], AccountRef]:
    """Start a customer's ledger: one account per program and category, each with its
    zero-value opening-balance entry, all in one CUSTOMER_REGISTRATION event (`draft`: where).

    Written as the bulk registration writes them (a few multi-row statements whatever the number
    of accounts, instead of one statement per account and one per entry)."""
    assert draft.event_type is EventType.CUSTOMER_REGISTRATION, "a registration opens accounts"
    assert draft.customer_id == customer_id, "the event is the customer's own"
    keys = [(program_id, category) for program_id in program_ids for category in categories]
    account_ids = await repository.insert_opened_accounts_in_bulk(
        connection,
        org_id=org_id,
        customer_ids=[customer_id],
        program_ids=program_ids,
        categories=categories,
        source=draft.source,
        now=now,
        store_id=draft.store_id,
        till_id=draft.till_id,
    )
    return {
        (program_id, category): AccountRef(account_id, customer_id, program_id, category)
        for (program_id, category), account_id in zip(keys, account_ids, strict=True)
    }


async def open_account_at_zero(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    program_id: int,
    category: AccountCategory,
    now: datetime,
) -> tuple[AccountRef, Posting]:
    """One account opened on first use (an alternate currency's): the account at zero and its
    zero opening-balance posting, which the caller posts first in the event that uses it. The
    caller holds the customer's lock, so no one else opens it at the same time."""
    account_id = await repository.insert_account(
        connection, org_id=org_id, customer_id=customer_id, program_id=program_id, category=category, now=now
    )
    account = AccountRef(account_id, customer_id, program_id, category)
    return account, Posting(account, EntryType.CREDIT, EntryKind.OPENING_BALANCE, ZERO)


async def carry_to_survivor(
    connection: AsyncConnection, postings: Sequence[Posting], survivor_id: int, *, org_id: int, now: datetime
) -> list[Posting]:
    """Credits into a merged customer's accounts (a reversal), carried on to its survivor: each
    followed by a MERGE debit of the same points there and a MERGE credit to the survivor's
    matching account with the same lots' expiry. A survivor without that account (an alternate
    currency it never held, and the victim's was empty at the merge) has it opened first. The
    caller holds both customers' locks."""
    survivor_accounts = {
        (row.program_id, row.category): AccountRef(row.id, survivor_id, row.program_id, account_category(row.category))
        for row in await customer_accounts(connection, [survivor_id])
    }
    opened: list[Posting] = []
    carried: list[Posting] = []
    for posting in postings:
        key = (posting.account.program_id, posting.account.category.value)
        survivor = survivor_accounts.get(key)
        if survivor is None:
            survivor, opening = await open_account_at_zero(
                connection,
                org_id=org_id,
                customer_id=survivor_id,
                program_id=posting.account.program_id,
                category=posting.account.category,
                now=now,
            )
            survivor_accounts[key] = survivor
            opened.append(opening)
        lots_carried = (*(share.as_draft() for share in posting.restores), *posting.lots)
        carried.extend(
            [
                posting,
                Posting(posting.account, EntryType.DEBIT, EntryKind.MERGE, posting.points),
                Posting(survivor, EntryType.CREDIT, EntryKind.MERGE, posting.points, lots=lots_carried),
            ]
        )
    return [*opened, *carried]


async def open_accounts_in_bulk(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_ids: Sequence[int],
    program_ids: Sequence[int],
    categories: Sequence[PointsCategory],
    source: str | None,
    now: datetime,
) -> None:
    """`open_accounts` for many new customers with a fixed number of statements (bulk
    registration): the same accounts, one CUSTOMER_REGISTRATION event per customer and its
    zero opening-balance entries. The accounts open at zero, so nothing needs posting."""
    await repository.insert_opened_accounts_in_bulk(
        connection,
        org_id=org_id,
        customer_ids=customer_ids,
        program_ids=program_ids,
        categories=categories,
        source=source,
        now=now,
    )


# --- Reading the ledger ---------------------------------------------------------------------


async def ledger_page(
    connection: AsyncConnection, *, org_id: int, customer_id: int, view: LedgerFilter, first: int, after_id: int | None
) -> LedgerPage:
    """Newest first, by entry id (entries are written in time order), keyset-paginated."""
    return await repository.ledger_page(
        connection, org_id=org_id, customer_id=customer_id, view=view, first=first, after_id=after_id
    )


async def closing_balance(
    connection: AsyncConnection, *, org_id: int, customer_id: int, view: LedgerFilter
) -> tuple[Decimal, int | None]:
    """The balance as of the last entry in the view, over the accounts the view covers (see
    `repository.closing_balance`), and the id of the view's last entry (None for an empty view).
    A subledger is part of an account, with no balance after each entry: refused."""
    if view.subledger_ids:
        raise ValidationError(
            "a closing balance is an account's; a subledger's points are in the points summary's subledgers",
            field="filter.subledgerCodes",
        )
    return await repository.closing_balance(connection, org_id=org_id, customer_id=customer_id, view=view)


async def subledger_holdings(
    connection: AsyncConnection, *, org_id: int, customer_ids: Sequence[int], now: datetime
) -> dict[int, list[SubledgerHoldings]]:
    """Per customer, what each subledger holds (points left in its lots, pending or spendable
    now; points past their expiry date are not held), by program then subledger id. One query."""
    found: dict[int, list[SubledgerHoldings]] = defaultdict(list)
    for row in await repository.subledger_holdings(connection, org_id, customer_ids, now):
        found[row.customer_id].append(
            SubledgerHoldings(row.program_id, row.subledger_id, Decimal(row.pending), Decimal(row.spendable))
        )
    return found


# --- Reconciliation -------------------------------------------------------------------------


async def reconciliation_report(connection: AsyncConnection, *, org_id: int) -> ReconciliationReport:
    """`reconcile` over one org, with how many accounts it checked (run it in one snapshot)."""
    checked = await repository.count_accounts(connection, org_id=org_id)
    return ReconciliationReport(checked_accounts=checked, discrepancies=await reconcile(connection, org_id=org_id))


async def reconcile(connection: AsyncConnection, *, org_id: int | None = None) -> list[Discrepancy]:
    """Recompute every account's balance and counters from its entries and list differences.

    Also checks each account's last entry (its balance_after must equal the stored balance), each
    lot (points_remaining = points + its movements), and each account's lots (they hold exactly
    its positive balance).
    """
    found: list[Discrepancy] = []
    for row in await repository.accounts_with_entry_sums(connection, org_id=org_id):
        checks: list[tuple[str, Any, Decimal]] = [
            (name, row[name], Decimal(row[f"sum_{name}"])) for name in ("balance", *COUNTERS)
        ]
        if row["last_balance_after"] is not None:
            checks.append(("last_balance_after", row["balance"], Decimal(row["last_balance_after"])))
        else:
            checks.append(("opening_balance_entry", row["balance"], Decimal(-1)))
        checks.append(("lots_total", Decimal(row["lots_total"]), max(row["balance"], ZERO)))
        for name, stored, computed in checks:
            if stored != computed:
                found.append(
                    Discrepancy(
                        row["id"], row["customer_id"], row["program_id"], row["category"], name, stored, computed
                    )
                )
    found.extend(
        Discrepancy(
            row.account_id,
            row.customer_id,
            row.program_id,
            row.category,
            f"lot {row.id} remaining",
            row.points_remaining,
            row.points + Decimal(row.moved),
        )
        for row in await repository.lots_out_of_step(connection, org_id=org_id)
    )
    return found
