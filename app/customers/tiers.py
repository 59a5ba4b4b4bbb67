"""Member care's slab (tier) history, and the tier expiry run.

Every change of a customer's tier in a program writes one `tier_changes` row in the same
transaction as the change: purchases upgrade (PURCHASE), returns downgrade (RETURN), merges
upgrade the survivor (MERGE), and the expiry run below (TIER_EXPIRY).

Tier expiry: a tier reached with a program's `tier_validity_months` set carries an expiry
(`customer_programs.tier_expires_at`, the end of a local day). When it has passed, the run
moves the customer back to the program's base tier and starts a new qualifying period: the
cumulative purchases that earned the tier are set to zero, so the next purchases decide the
tier again by the usual upgrade thresholds. (Re-qualifying "to the tier the purchases reach"
with the purchases kept would hand the expired tier straight back on the next bill, since
cumulative purchases only go down on returns; the seeds carry no downgrade or renewal rule
beyond the expiry date itself.) Lifetime purchases are not touched.

No RENEWAL rows: a renewal is a customer re-qualifying for the tier it holds before the tier
runs out, which extends the validity. Neither the seeds nor the organisation file give a
program a renewal rule (what re-qualifies: the tier's threshold again since the tier was
reached? within what window? extended from when?), and here cumulative purchases count from the
start of the qualifying period and only grow until the tier expires, so "reaching the held tier
again" is not an event that happens: a purchase that keeps a customer in its tier changes
nothing, and the tier runs out on its date. A program that declares a renewal rule would write a
RENEWAL row (cause PURCHASE) where purchases evaluate the tier (`ProgramConfig.tier_reached`).

Exactly once under concurrent runs: a batch reads its candidates, locks their customers (FOR
UPDATE in id order, as merges and purchases lock customers before their standings, so the run and
a merge never wait for each other in a cycle), then the standings that are still expired, and
changes them through one guarded UPDATE per program (still this tier, still expired by `as_of`,
RETURNING what it changed); history rows are written only for what that statement changed. A
merge closes the victim's standings (no tier expiry), so a tier is never expired on a customer
merged away.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import repository
from app.customers.models import TierChangeCause, TierChangeKind
from app.kernel.errors import ValidationError
from app.kernel.pages import page_limit, split_page
from app.ledger.expiry import org_ids
from app.organizations.config import OrgConfig, TierConfig, load_org_config
from app.outbox import events
from app.outbox import service as outbox
from app.storage.database import Database

BATCH_STANDINGS = 500  # standings per write transaction of the expiry run


@dataclass(frozen=True, slots=True)
class TierChangeRecord:
    id: int
    program_id: int
    kind: TierChangeKind
    cause: TierChangeCause
    tier_id_before: int
    tier_id_after: int
    tier_expires_at_after: datetime | None
    transaction_id: int | None
    created_at: datetime


async def record_tier_change(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    program_id: int,
    program_code: str,
    before: TierConfig,
    after: TierConfig,
    cause: TierChangeCause,
    tier_expires_at_after: datetime | None,
    transaction_id: int | None,
    now: datetime,
    kind: TierChangeKind | None = None,
) -> None:
    """One history row and its `tier.changed` event; the kind is UPGRADE or DOWNGRADE by the
    tiers' serial numbers unless given."""
    assert before.id != after.id, "only a change of tier is history"
    if kind is None:
        kind = TierChangeKind.UPGRADE if after.serial_number > before.serial_number else TierChangeKind.DOWNGRADE
    await repository.insert_tier_changes(
        connection,
        [
            _history_row(
                org_id, customer_id, program_id, before, after, kind, cause, tier_expires_at_after, transaction_id, now
            )
        ],
    )
    _stage_tier_changed(
        connection, org_id, customer_id, program_code, before, after, kind, cause, tier_expires_at_after, now
    )


def _stage_tier_changed(
    connection: AsyncConnection,
    org_id: int,
    customer_id: int,
    program_code: str,
    before: TierConfig,
    after: TierConfig,
    kind: TierChangeKind,
    cause: TierChangeCause,
    tier_expires_at_after: datetime | None,
    now: datetime,
) -> None:
    outbox.stage(
        connection,
        org_id=org_id,
        draft=events.tier_changed(
            customer_id=customer_id,
            program_code=program_code,
            kind=kind.value,
            cause=cause.value,
            tier_before=before.name,
            tier_after=after.name,
            tier_expires_at=tier_expires_at_after,
        ),
        now=now,
    )


def _history_row(
    org_id: int,
    customer_id: int,
    program_id: int,
    before: TierConfig,
    after: TierConfig,
    kind: TierChangeKind,
    cause: TierChangeCause,
    tier_expires_at_after: datetime | None,
    transaction_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "customer_id": customer_id,
        "program_id": program_id,
        "kind": kind.value,
        "cause": cause.value,
        "tier_id_before": before.id,
        "tier_id_after": after.id,
        "tier_expires_at_after": tier_expires_at_after,
        "transaction_id": transaction_id,
        "created_at": now,
    }


def history_program_id(org: OrgConfig, code: str | None, field: str) -> int | None:
    """The slab history's program filter (the query's and the download's `program`): the id of
    the org's program with this code, None for no filter; INVALID_INPUT on `field` otherwise."""
    if code is None:
        return None
    found = org.program_by_code(code)
    if found is None:
        raise ValidationError(f"no program has the code {code!r}", field=field)
    return found.id


async def tier_history_page(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    program_id: int | None,
    first: int,
    after_id: int | None,
) -> tuple[list[TierChangeRecord], bool]:
    """Newest first by id, keyset-paginated; `program_id` narrows to one program."""
    rows = await repository.tier_changes_page(
        connection,
        org_id=org_id,
        customer_id=customer_id,
        program_id=program_id,
        limit=page_limit(first),
        after_id=after_id,
    )
    page, has_next_page = split_page(rows, first)
    records = [
        TierChangeRecord(
            id=row.id,
            program_id=row.program_id,
            kind=TierChangeKind(row.kind),
            cause=TierChangeCause(row.cause),
            tier_id_before=row.tier_id_before,
            tier_id_after=row.tier_id_after,
            tier_expires_at_after=row.tier_expires_at_after,
            transaction_id=row.transaction_id,
            created_at=row.created_at,
        )
        for row in page
    ]
    return records, has_next_page


# --- The tier expiry run --------------------------------------------------------------------


async def expire_tiers(
    database: Database,
    as_of: datetime,
    org_id: int | None = None,
    *,
    now: datetime,
    batch_standings: int = BATCH_STANDINGS,
) -> int:
    """Move every customer whose tier validity ended at or before `as_of` back to the base tier
    (all orgs, or one): the number of standings this run changed. Each batch is a write
    transaction of its own; a standing a concurrent run took first is skipped."""
    assert as_of.tzinfo is not None
    assert batch_standings >= 1
    expired = 0
    for org in await org_ids(database, org_id):
        previous: Sequence[int] | None = None
        while True:
            outcome = await database.run_write(
                partial(_expire_batch, org_id=org, as_of=as_of, now=now, batch_standings=batch_standings)
            )
            if outcome is None:
                break
            candidates, changed = outcome
            # Candidates none of which changed were taken by a concurrent run that committed; the
            # same ones twice is a defect, not a race.
            if changed == 0 and candidates == previous:
                raise RuntimeError(f"standings {candidates[:10]} have an expired tier the run could not expire")
            previous = candidates
            expired += changed
    return expired


async def _expire_batch(
    connection: AsyncConnection, org_id: int, as_of: datetime, now: datetime, batch_standings: int
) -> tuple[tuple[int, ...], int] | None:
    found = await repository.standings_with_tier_expired(connection, org_id=org_id, as_of=as_of, limit=batch_standings)
    if not found:
        return None
    await repository.lock_customers(connection, {standing.customer_id for standing in found})
    candidates = await repository.lock_standings_still_expired(
        connection, org_id=org_id, standing_ids=[standing.id for standing in found], as_of=as_of
    )
    org = await load_org_config(connection, org_id)
    assert org is not None, "the org of a standing exists"
    expired_count = 0
    by_program: dict[int, list[Any]] = defaultdict(list)
    for standing in candidates:
        by_program[standing.program_id].append(standing)
    history: list[dict[str, Any]] = []
    for program_id, standings in by_program.items():
        program = org.program(program_id)
        base = program.tiers[0]
        changed = await repository.expire_tiers(
            connection,
            org_id=org_id,
            program_id=program_id,
            standings=[(standing.id, standing.tier_id) for standing in standings],
            as_of=as_of,
            base_tier_id=base.id,
        )
        # A base tier with an expiry (none is given one today) only loses the expiry: no change of tier.
        for standing in standings:
            if standing.id in changed and standing.tier_id != base.id:
                before = program.tier(standing.tier_id)
                expiry = (TierChangeKind.EXPIRY, TierChangeCause.TIER_EXPIRY)
                history.append(
                    _history_row(org_id, standing.customer_id, program_id, before, base, *expiry, None, None, now)
                )
                _stage_tier_changed(
                    connection, org_id, standing.customer_id, program.code, before, base, *expiry, None, now
                )
        expired_count += len(changed)
    await repository.insert_tier_changes(connection, history)
    return tuple(standing.id for standing in found), expired_count
