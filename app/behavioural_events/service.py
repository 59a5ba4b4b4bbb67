"""Behavioural events: what brands' systems report a customer did (a visit, a product viewed, a
survey opened), and member care's list of them with filters.

`recordBehaviouralEvents` is idempotent by tracking id per organisation: an event is recorded
once; a repeat with the same payload writes nothing (replayed), one with another payload is
TRACKING_ID_CONFLICT. The till code stored is the event's own `tillCode` attribute when it has
one, else the till code the integration tagged it with (seed 004); both stay as reported.

An event of a customer merged into another (named by its user id, or found just before the
merge committed) is the survivor's, who holds the victim's other events since the merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.behavioural_events import repository, rules
from app.behavioural_events.views import (
    BehaviouralEventInput,
    BehaviouralEventView,
    CheckedEvent,
    EventFilter,
    EventRecorded,
)
from app.customers.service import BatchCustomers
from app.kernel.errors import DomainError
from app.kernel.pages import page_limit, split_page
from app.organizations.config import OrgConfig
from app.storage.batches import record_batch
from app.storage.database import Database, lock_keys
from app.transactions.errors import BatchTooLargeError

BATCH_SIZE_MAX = rules.BATCH_SIZE_MAX


async def record_behavioural_events(
    database: Database, org: OrgConfig, batch: Sequence[BehaviouralEventInput], *, now: datetime
) -> list[EventRecorded | DomainError]:
    """Each item's result in the batch's order, all written in one write transaction: an item that
    fails (INVALID_INPUT, CUSTOMER_NOT_FOUND, TRACKING_ID_CONFLICT) writes nothing and the others
    are kept. BATCH_TOO_LARGE past 1,000 items."""
    if len(batch) > BATCH_SIZE_MAX:
        raise BatchTooLargeError(f"at most {BATCH_SIZE_MAX} events per batch", field="input")

    async def record(
        connection: AsyncConnection, checked: list[CheckedEvent]
    ) -> dict[str, EventRecorded | DomainError]:
        return await record_checked(connection, org, checked, now, write=True)

    return await record_batch(database, batch, rules.check_event, record)


async def record_checked(
    connection: AsyncConnection, org: OrgConfig, batch: Sequence[CheckedEvent], now: datetime, *, write: bool
) -> dict[str, EventRecorded | DomainError]:
    """Checked events recorded on the caller's write transaction, each result by its path; with
    `write` false, what recording them would do, writing nothing (an import's dry run: a new
    event's id is then 0)."""
    if write:  # concurrent reports of one event wait for each other (PostgreSQL; SQLite has one writer)
        await lock_keys(connection, {f"behavioural-event:{org.id}:{item.source.tracking_id}" for item in batch})
    # The customers before the events are read: a merge of them moves their events, so it has
    # committed (or waits for us) by then. A merged one is its survivor.
    customers = await BatchCustomers(connection, org).find_survivors(
        [(item.source.customer, f"{item.path}.customer") for item in batch], lock=write
    )
    known = await repository.events_by_tracking_id(
        connection, org_id=org.id, tracking_ids=[item.source.tracking_id for item in batch]
    )
    results: dict[str, EventRecorded | DomainError] = {}
    for item, customer_id in zip(batch, customers, strict=True):
        if isinstance(customer_id, DomainError):
            results[item.path] = customer_id
            continue
        try:
            stored = known.get(item.source.tracking_id)
            if stored is None:
                view = (
                    await repository.insert_event(
                        connection, org_id=org.id, customer_id=customer_id, checked=item, now=now
                    )
                    if write
                    else rules.new_view(0, customer_id, item, now)
                )
                known[view.tracking_id] = view  # a later item of the batch repeats what this one wrote
                results[item.path] = EventRecorded(view, replayed=False)
            else:
                rules.check_repeat(stored, item, customer_id)
                results[item.path] = EventRecorded(stored, replayed=True)
        except DomainError as error:
            results[item.path] = error
    return results


async def customer_behavioural_events(
    connection: AsyncConnection,
    org: OrgConfig,
    *,
    customer_id: int,
    event_filter: EventFilter,
    first: int,
    after_id: int | None,
) -> tuple[list[BehaviouralEventView], bool]:
    """A customer's events, newest first, filtered (days in the org's time zone, inclusive),
    keyset-paginated; whether another page follows."""
    start, end = rules.time_range(event_filter, org.time_zone)
    found = await repository.customer_events(
        connection,
        org_id=org.id,
        customer_id=customer_id,
        event_name=event_filter.event_name,
        source=event_filter.source,
        start=start,
        end=end,
        limit=page_limit(first),
        after_id=after_id,
    )
    return split_page(found, first)
