"""Live streams for GraphQL subscriptions, fed from the outbox (app/outbox/feed.py): a customer's
events, and an import job's progress until it finishes.

Each stream is opened in two steps: `open_...` checks what the caller names (a typed error, and no
stream, when it is not the caller's organisation's), then the stream runs until the subscriber
leaves. No stream holds a database connection between its reads: a subscription lives for hours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from app.customers.service import CustomerLookup, find_customer
from app.imports import service as imports
from app.imports.errors import ImportJobNotFoundError
from app.imports.models import JobStatus
from app.organizations.config import OrgConfig
from app.outbox.feed import FeedEvent, OutboxFeed, customer_events_between
from app.storage.database import Database

CATCH_UP_PAGE_SIZE = 200  # events read back from the database at once (a resume, a slow subscriber)
PROGRESS_INTERVAL_SECONDS = 1.0  # an import job's progress is read again at most this often
FINISHED = (JobStatus.DONE, JobStatus.FAILED)


@dataclass(frozen=True)
class Streams:
    """What streams read from: the database (one short read at a time) and the process's feed."""

    database: Database
    feed: OutboxFeed


async def open_customer_ledger(
    streams: Streams, org: OrgConfig, lookup: CustomerLookup, after_id: int | None
) -> AsyncIterator[FeedEvent]:
    """The customer's events in id order: those after `after_id` already committed, then each as
    it commits; with no `after_id`, from now on. CustomerNotFoundError when the lookup names no
    customer of the organisation."""
    async with streams.database.read() as connection:
        customer_id = await find_customer(connection, org, lookup, "customer")
    return _customer_events(streams, org.id, customer_id, after_id)


async def _customer_events(
    streams: Streams, org_id: int, customer_id: int, after_id: int | None
) -> AsyncIterator[FeedEvent]:
    async with streams.feed.subscribe(org_id, lambda event: event.customer_id == customer_id) as subscription:
        last_id = subscription.start_id if after_id is None else after_id
        while True:
            received = await subscription.receive()
            if received.missed_until is not None:  # read back from the database, a page at a time
                while last_id < received.missed_until:
                    async with streams.database.read() as connection:
                        page = await customer_events_between(
                            connection,
                            org_id=org_id,
                            customer_id=customer_id,
                            after_id=last_id,
                            until_id=received.missed_until,
                            limit=CATCH_UP_PAGE_SIZE,
                        )
                    for event in page:
                        yield event
                        last_id = event.id
                    if len(page) < CATCH_UP_PAGE_SIZE:
                        break
            for event in received.events:
                if event.id > last_id:
                    yield event
                    last_id = event.id


async def open_import_job(streams: Streams, org_id: int, job_id: int) -> AsyncIterator[imports.JobView]:
    """The job as it is now, then again each time it moves on, until it is DONE or FAILED (its
    import_job.finished event ends the wait at once; progress is read every
    PROGRESS_INTERVAL_SECONDS). ImportJobNotFoundError when the organisation has no such job."""
    async with streams.database.read() as connection:
        job = await imports.get_job(connection, org_id, job_id)
    if job is None:
        raise ImportJobNotFoundError(f"no import job {job_id}", field="id")
    return _job_updates(streams, org_id, job_id)


async def _job_updates(streams: Streams, org_id: int, job_id: int) -> AsyncIterator[imports.JobView]:
    def finished(event: FeedEvent) -> bool:
        return event.type == imports.IMPORT_JOB_FINISHED and event.payload.get("jobId") == str(job_id)

    async with streams.feed.subscribe(org_id, finished) as subscription:
        shown = None
        while True:
            async with streams.database.read() as connection:  # after subscribing: no finish is missed
                job = await imports.get_job(connection, org_id, job_id)
            assert job is not None  # jobs are never deleted
            if job != shown:  # any field (a frozen clock leaves updated_at as it was)
                yield job
                shown = job
            if job.status in FINISHED:
                return
            await subscription.receive(timeout_seconds=PROGRESS_INTERVAL_SECONDS)
