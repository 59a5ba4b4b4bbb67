"""The expiry run, and what a customer sees of expiry and of points not spendable yet.

`expire_points(database, as_of)` finds every lot with points left whose expiry is at or before
`as_of` and writes, per account, one POINTS_EXPIRY event whose debit consumes exactly those
lots. The event's time is when the run wrote it: the seed's ledger shows when the expiry ran
(typically the morning after the expiry date), not the lots' expiry time.

Exactly once, whether run twice or by two processes at once: a batch locks its accounts (FOR
UPDATE in id order on PostgreSQL; SQLite has one writer) and only then reads the lots it
expires, so a second run finds nothing left. Each batch of at most BATCH_ACCOUNTS accounts is
its own write transaction, so a large run never holds the writer, or many row locks, for long.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.currencies import POINTS_CATEGORY_VALUES, CurrencyCategory, account_category
from app.kernel.enums import PointsCategory
from app.ledger import repository
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.ledger.views import (
    READ_PAGE_SIZE_MAX,
    ZERO,
    AccountRef,
    EventDraft,
    ExpiredPoints,
    ExpiredPointsPage,
    Posting,
    ProgramHoldings,
    RunReport,
    ScheduledExpiry,
)
from app.organizations import service as organizations
from app.organizations.config import load_org_config
from app.outbox import events
from app.outbox import service as outbox
from app.storage.database import Database

BATCH_ACCOUNTS = 500  # accounts per write transaction
CANDIDATES_PER_ACCOUNT = 4  # lots read per account of a batch when finding the batch

# Lock accounts in id order and read their lots: what every batch run does (conversions too).
lock_accounts = repository.lock_accounts
open_lots = repository.open_lots

Batch = Callable[[AsyncConnection], Awaitable[tuple[tuple[int, ...], RunReport] | None]]


async def org_ids(database: Database, org_id: int | None) -> list[int]:
    if org_id is not None:
        return [org_id]
    async with database.read() as connection:
        return [org.id for org in await organizations.list_organizations(connection)]


async def run_batches(database: Database, batch: Batch) -> RunReport:
    """Run `batch` in a write transaction of its own until it finds nothing to do. A batch
    returns the candidate lots it started from and what it did."""
    total = RunReport()
    previous: tuple[int, ...] | None = None
    while True:
        outcome = await database.run_write(batch)
        if outcome is None:
            return total
        candidates, report = outcome
        # A batch that did nothing found its candidates taken by a concurrent run, which
        # committed: the next batch sees other candidates. The same ones twice is a defect.
        if report.lots == 0 and candidates == previous:
            raise RuntimeError(f"lots {candidates[:10]} are due but the run could not process them")
        previous = candidates
        total += report


def account_ref(row: Any) -> AccountRef:
    return AccountRef(row.id, row.customer_id, row.program_id, account_category(row.category))


def first_accounts(rows: Sequence[Any], limit: int) -> list[int]:
    return list(dict.fromkeys(row.account_id for row in rows))[:limit]


@dataclass(frozen=True)
class OrgClock:
    id: int
    code: str
    time_zone: ZoneInfo


async def org_clocks(database: Database, org_code: str | None = None) -> list[OrgClock]:
    """The organisations a run covers (all, or the one with this code) with their time zones."""
    async with database.read() as connection:
        org_id = await organizations.org_id_by_code(connection, org_code) if org_code is not None else None
        rows = await organizations.list_organizations(connection, org_id=org_id)
    return [OrgClock(row.id, row.code, ZoneInfo(row.time_zone)) for row in rows]


# --- The expiry run -------------------------------------------------------------------------


async def expire_points(
    database: Database,
    as_of: datetime,
    org_id: int | None = None,
    *,
    now: datetime,
    batch_accounts: int = BATCH_ACCOUNTS,
) -> RunReport:
    """Expire every lot with points left whose expiry is at or before `as_of` (all orgs, or one).

    The caller chooses `as_of`: the CLI and the maintenance task never pass a time later than
    now, since that would expire points before their date.
    """
    return await run_for_each_org(database, org_id, _expire_batch, as_of=as_of, now=now, batch_accounts=batch_accounts)


async def run_for_each_org(
    database: Database,
    org_id: int | None,
    batch: Callable[..., Awaitable[tuple[tuple[int, ...], RunReport] | None]],
    *,
    as_of: datetime,
    now: datetime,
    batch_accounts: int,
) -> RunReport:
    """A run as of `as_of` (the expiry, the promised conversion): `batch` for every organisation
    (or the one given), each batch in a write transaction of its own, until it finds nothing."""
    assert as_of.tzinfo is not None
    assert batch_accounts >= 1
    total = RunReport()
    for org in await org_ids(database, org_id):
        total += await run_batches(
            database, partial(batch, org_id=org, as_of=as_of, now=now, batch_accounts=batch_accounts)
        )
    return total


async def _expire_batch(
    connection: AsyncConnection, org_id: int, as_of: datetime, now: datetime, batch_accounts: int
) -> tuple[tuple[int, ...], RunReport] | None:
    candidates = await repository.expiring_lots(
        connection, org_id=org_id, as_of=as_of, limit=batch_accounts * CANDIDATES_PER_ACCOUNT
    )
    account_ids = first_accounts(candidates, batch_accounts)
    if not account_ids:
        return None
    locked = await lock_accounts(connection, account_ids)
    # Read only now, under the locks: what a concurrent run expired meanwhile is gone.
    due = await open_lots(connection, account_ids, expiring_by=as_of)
    org = await load_org_config(connection, org_id)
    assert org is not None, "the org of an account exists"
    report = RunReport()
    for account in locked:
        shares = tuple(due.get(account.id, ()))
        if not shares:
            continue
        points = sum((share.points for share in shares), ZERO)
        await ledger.post_event(
            connection,
            org_id=org_id,
            now=now,
            draft=EventDraft(EventType.POINTS_EXPIRY, account.customer_id, None, None, None),
            postings=[Posting(account_ref(account), EntryType.DEBIT, EntryKind.POINTS_EXPIRY, points, consumes=shares)],
        )
        if account.category not in POINTS_CATEGORY_VALUES:
            # An alternate currency's units are not points: points.expired does not tell of them.
            program = org.program(account.program_id)
            identifier = CurrencyCategory(account.category).identifier
            currency = program.alternate_currency(identifier)
            outbox.stage(
                connection,
                org_id=org_id,
                draft=events.alternate_currency_expired(
                    customer_id=account.customer_id,
                    program_code=program.code,
                    currency_identifier=identifier,
                    currency_name=currency.name if currency else identifier,
                    value=points,
                    expired_at=now,
                ),
                now=now,
            )
            report += RunReport(1, len(shares), ZERO)
            continue
        outbox.stage(
            connection,
            org_id=org_id,
            draft=events.points_expired(
                customer_id=account.customer_id,
                program_code=org.program(account.program_id).code,
                category=account.category,
                points=points,
                expired_at=now,
            ),
            now=now,
        )
        report += RunReport(1, len(shares), points)
    return tuple(row.id for row in candidates), report


# --- Expiry notices ------------------------------------------------------------------------

NOTICE_BATCH_LOTS = 1000  # lots per write transaction of the notice run


async def notify_expiring_points(
    database: Database,
    as_of: datetime,
    org_id: int | None = None,
    *,
    now: datetime,
    batch_lots: int = NOTICE_BATCH_LOTS,
) -> int:
    """Emit `points.expiring` for every lot with points left that expires within its
    organisation's notice window after `as_of` (in (as_of, as_of + expiry_notice_days]), once per
    lot: a lot is marked in `lot_expiry_notices` in the transaction that emits its event, and
    marked lots are never read again (a concurrent run's marks win by the primary key). An
    organisation without `expiry_notice_days` gets none. Returns the number of notices.

    One event per lot, not per customer: lots expire on their own dates, and a receiver that
    wants one message per customer and day groups them by userId and expiresAt."""
    assert as_of.tzinfo is not None
    assert batch_lots >= 1
    notified = 0
    for org in await org_ids(database, org_id):
        while (
            count := await database.run_write(
                partial(_notify_batch, org_id=org, as_of=as_of, now=now, batch_lots=batch_lots)
            )
        ) is not None:
            notified += count
    return notified


async def _notify_batch(
    connection: AsyncConnection, org_id: int, as_of: datetime, now: datetime, batch_lots: int
) -> int | None:
    org = await load_org_config(connection, org_id)
    if org is None or org.expiry_notice_days is None:
        return None
    found = await repository.lots_to_notify(
        connection,
        org_id=org_id,
        after=as_of,
        until=as_of + timedelta(days=org.expiry_notice_days),
        limit=batch_lots,
    )
    if not found:
        return None
    marked = await repository.record_notices(connection, org_id=org_id, lot_ids=[row.id for row in found], now=now)
    for row in found:
        if row.id in marked:
            outbox.stage(
                connection,
                org_id=org_id,
                draft=events.points_expiring(
                    customer_id=row.customer_id,
                    program_code=org.program(row.program_id).code,
                    points=row.points_remaining,
                    expires_at=row.expires_at,
                ),
                now=now,
            )
    return len(marked)


# --- Reading: what a customer holds, what expires when, what expired -------------------------


async def holdings(
    connection: AsyncConnection, org_id: int, customer_ids: Sequence[int], now: datetime
) -> dict[int, dict[int, ProgramHoldings]]:
    """Per customer and program, in one query for any number of customers."""
    if not customer_ids:
        return {}
    rows = await repository.account_holdings(connection, org_id, customer_ids, now)
    parts: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(
        lambda: {"pending": ZERO, "promised": ZERO, "trigger_based": ZERO, "spendable": ZERO}
    )
    for row in rows:
        part = parts[(row.customer_id, row.program_id)]
        part["pending"] += row.pending
        # Held: the balance less what is past its expiry (whether or not the run has debited it).
        if row.category == PointsCategory.PROMISED.value:
            part["promised"] += row.balance - row.past_expiry
        elif row.category == PointsCategory.TRIGGER_BASED.value:
            part["trigger_based"] += row.balance - row.past_expiry
        else:
            part["spendable"] += row.spendable
    result: dict[int, dict[int, ProgramHoldings]] = defaultdict(dict)
    for (customer_id, program_id), part in parts.items():
        result[customer_id][program_id] = ProgramHoldings(**part)
    return result


async def expiry_schedules(
    connection: AsyncConnection, customer_ids: Sequence[int], now: datetime, time_zone: ZoneInfo, first: int
) -> dict[int, list[ScheduledExpiry]]:
    """Upcoming expiries of each customer: points in lots with points left that expire after
    `now`, grouped by the local date they expire on and program, soonest first, at most `first`
    (date, program) groups per customer. All categories count: promised and trigger-based points
    expire on their dates too, converted or not. One query for any number of customers."""
    if not customer_ids:
        return {}
    rows = await repository.points_expiring_after(connection, customer_ids, now)
    grouped: dict[int, dict[tuple[date, int], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        grouped[row.customer_id][(row.expires_at.astimezone(time_zone).date(), row.program_id)] += row.points
    return {
        customer_id: [ScheduledExpiry(day, program_id, points) for (day, program_id), points in sorted(groups.items())][
            :first
        ]
        for customer_id, groups in grouped.items()
    }


async def expired_points(
    connection: AsyncConnection, customer_ids: Sequence[int], first: int, after_id: int | None
) -> dict[int, ExpiredPointsPage]:
    """Each customer's POINTS_EXPIRY entries, newest first, a keyset page of at most `first`
    after entry `after_id`: one query for any number of customers (a window per customer)."""
    assert 1 <= first <= READ_PAGE_SIZE_MAX
    if not customer_ids:
        return {}
    rows = await repository.expiry_entries(connection, customer_ids, first=first, after_id=after_id)
    found: dict[int, list[ExpiredPoints]] = defaultdict(list)
    for row in rows:
        found[row.customer_id].append(
            ExpiredPoints(row.id, row.event_id, row.created_at, row.program_id, row.category, row.points)
        )
    return {
        customer_id: ExpiredPointsPage(items=found[customer_id][:first], has_next_page=len(found[customer_id]) > first)
        for customer_id in customer_ids
    }
