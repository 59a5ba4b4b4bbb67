"""Interactions: the messages brands' messaging systems report (the product sends none), and
member care's list of a customer's messages per channel.

`recordInteractions` is idempotent by the sender's message id, per organisation and channel:
- a message id not seen before is recorded with its first status (RECORDED);
- a repeat whose status (at its time) is in the message's history already, and whose other
  details are as stored, writes nothing (UNCHANGED);
- a repeat with a status change not in the history yet appends it to the history (and sets a
  delivery time the message lacked): STATUS_CHANGED. The current status is the latest in time,
  so a late-arriving SENT does not hide a DELIVERED;
- a repeat that changes anything else (customer, direction, account, template, subject, body
  preview, sent time, a delivery time already set) is INTERACTION_CONFLICT and writes nothing.

A message for a customer merged into another (named by its user id, or found just before the
merge committed) is the survivor's, who holds the victim's other messages since the merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.service import BatchCustomers
from app.interactions import repository, rules
from app.interactions.views import (
    Channel,
    CheckedInteraction,
    InteractionInput,
    InteractionRecorded,
    InteractionView,
    Outcome,
)
from app.kernel.errors import DomainError
from app.kernel.pages import page_limit, split_page
from app.organizations.config import OrgConfig
from app.storage.batches import record_batch
from app.storage.database import Database, lock_keys
from app.transactions.errors import BatchTooLargeError

BATCH_SIZE_MAX = rules.BATCH_SIZE_MAX


async def record_interactions(
    database: Database, org: OrgConfig, batch: Sequence[InteractionInput], *, now: datetime
) -> list[InteractionRecorded | DomainError]:
    """Each item's result in the batch's order (see the module doc), all written in one write
    transaction: an item that fails (INVALID_INPUT, CUSTOMER_NOT_FOUND, INTERACTION_CONFLICT)
    writes nothing and the others are kept. BATCH_TOO_LARGE past 1,000 items."""
    if len(batch) > BATCH_SIZE_MAX:
        raise BatchTooLargeError(f"at most {BATCH_SIZE_MAX} interactions per batch", field="input")

    def check(data: InteractionInput, path: str) -> CheckedInteraction:
        return rules.check_interaction(data, path, now)

    async def record(
        connection: AsyncConnection, checked: list[CheckedInteraction]
    ) -> dict[str, InteractionRecorded | DomainError]:
        return await record_checked(connection, org, checked, now, write=True)

    return await record_batch(database, batch, check, record)


def _key(checked: CheckedInteraction) -> tuple[Channel, str]:
    return checked.source.channel, checked.source.message_id


async def record_checked(
    connection: AsyncConnection, org: OrgConfig, batch: Sequence[CheckedInteraction], now: datetime, *, write: bool
) -> dict[str, InteractionRecorded | DomainError]:
    """Checked reports recorded on the caller's write transaction, each result by its path; with
    `write` false, what recording them would do, writing nothing (an import's dry run: a new
    message's id is then 0)."""
    # Concurrent reports of one message wait for each other (PostgreSQL; SQLite has one writer).
    if write:
        await lock_keys(
            connection, {f"interaction:{org.id}:{channel}:{message_id}" for channel, message_id in map(_key, batch)}
        )
    # The customers before the messages are read: a merge of them moves their messages, so it
    # has committed (or waits for us) by then. A merged one is its survivor.
    customers = await BatchCustomers(connection, org).find_survivors(
        [(item.source.customer, f"{item.path}.customer") for item in batch], lock=write
    )
    known = await repository.interactions_by_message(connection, org_id=org.id, keys=[_key(item) for item in batch])
    results: dict[str, InteractionRecorded | DomainError] = {}
    for item, customer_id in zip(batch, customers, strict=True):
        if isinstance(customer_id, DomainError):
            results[item.path] = customer_id
            continue
        try:
            stored = known.get(_key(item))
            if stored is None:
                view = (
                    await repository.insert_interaction(
                        connection, org_id=org.id, customer_id=customer_id, checked=item, now=now
                    )
                    if write
                    else rules.new_view(0, customer_id, item, now)
                )
                results[item.path] = InteractionRecorded(Outcome.RECORDED, view)
            else:
                view, outcome = await _repeat(connection, org, stored, item, customer_id, now, write)
                results[item.path] = InteractionRecorded(outcome, view)
            known[_key(item)] = view  # a later item of the batch repeats what this one wrote
        except DomainError as error:
            results[item.path] = error
    return results


async def _repeat(
    connection: AsyncConnection,
    org: OrgConfig,
    stored: InteractionView,
    item: CheckedInteraction,
    customer_id: int,
    now: datetime,
    write: bool,
) -> tuple[InteractionView, Outcome]:
    update = rules.status_update(stored, item, customer_id)
    if not update.changes_anything:
        return stored, Outcome.UNCHANGED
    view = rules.updated_view(stored, update)
    if not write:
        return view, Outcome.STATUS_CHANGED
    if update.new_change is not None:
        await repository.insert_status_change(
            connection, org_id=org.id, interaction_id=stored.id, change=update.new_change, now=now
        )
    await repository.set_current_status(
        connection,
        org_id=org.id,
        interaction_id=stored.id,
        current=update.current,
        delivered_at=view.delivered_at,
    )
    return view, Outcome.STATUS_CHANGED


async def customer_interactions(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    channel: Channel | None,
    first: int,
    after_id: int | None,
) -> tuple[list[InteractionView], bool]:
    """A customer's messages (of one channel, or all), newest first by the time they were sent
    (else first reported), keyset-paginated; whether another page follows."""
    found = await repository.customer_interactions(
        connection, org_id=org_id, customer_id=customer_id, channel=channel, limit=page_limit(first), after_id=after_id
    )
    return split_page(found, first)
