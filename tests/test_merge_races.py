"""Writes that race a merge: a lead, a segment membership change, an interaction or a behavioural
event written for the merge's victim (by a mutation, a batch or a CSV import, naming the victim by
mobile or by user id) while the merge runs ends on the survivor, as everything the merge moved:
the victim keeps none of them. Every such writer locks the customers it names as merges lock them
(customers by id) and follows a merged one to its survivor, so a write naming the victim's user id
after the merge lands on the survivor too.

Each victim starts in the segment LEFT; the writers add it to BY_MOBILE, BY_ID and IMPORTED (an
import) and remove it from LEFT."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.imports import service as imports
from app.imports.models import ImportProfile, JobStatus
from tests.client import Api, customer_with_points, merge
from tests.conftest import POSTGRES_URL, org_config
from tests.factories import by_mobile, by_user_id
from tests.ledger_checks import assert_reconciled
from tests.test_behavioural_events import event, events_of
from tests.test_behavioural_events import record as record_events
from tests.test_interactions import interactions_of, record, sms
from tests.test_leads import create as create_lead
from tests.test_leads import leads_of
from tests.test_products import waiting_backends
from tests.test_segments import CUSTOMER_SEGMENTS, add, create, history, remove

SEGMENTS = ("LEFT", "BY_MOBILE", "BY_ID", "IMPORTED")  # created in this order: the lists' order
STATUS_AT = "2026-11-24T10:00:00+00:00"
OCCURRED_AT = "2026-11-24T19:00:00+00:00"


@dataclass(frozen=True)
class Person:
    mobile: str
    user_id: str

    @property
    def tag(self) -> str:
        """What the writes for this person carry (lead-for, message and tracking ids)."""
        return f"u{self.user_id}"


async def people(api: Api, count: int) -> list[tuple[Person, Person]]:
    """`count` pairs (survivor, victim) of customers with points, each victim in the segment LEFT."""
    for code in SEGMENTS:
        assert (await create(api, code))["__typename"] == "SegmentCreated"
    pairs = []
    for _ in range(count):
        survivor, victim = Person(*await customer_with_points(api)), Person(*await customer_with_points(api))
        assert (await add(api, "LEFT", [by_user_id(victim.user_id)]))["membersChanged"] == 1
        pairs.append((survivor, victim))
    return pairs


def writes_for(api: Api, victim: Person) -> list[Any]:
    """What the API writes for the victim: each kind by mobile and by user id, one lead each,
    a batch each of messages and events, two segment adds and a removal."""
    tag, mobile, user_id = victim.tag, by_mobile(victim.mobile), by_user_id(victim.user_id)
    return [
        create_lead(api, mobile, leadFor=f"{tag}-mobile"),
        create_lead(api, user_id, leadFor=f"{tag}-id"),
        add(api, "BY_MOBILE", [mobile]),
        add(api, "BY_ID", [user_id]),
        remove(api, "LEFT", [user_id]),
        record(api, [sms(victim.mobile, f"{tag}-mobile"), {**sms(victim.mobile, f"{tag}-id"), "customer": user_id}]),
        record_events(
            api, [event(victim.mobile, f"{tag}-mobile"), {**event(victim.mobile, f"{tag}-id"), "customer": user_id}]
        ),
    ]


def written_for(results: list[Any]) -> list[tuple]:
    """Whom each of `writes_for`'s answers says it wrote for: (what, user id or error) in order."""
    lead_mobile, lead_id, by_mobile_added, by_id_added, left_removed, messages, events = results
    return [
        ("lead", lead_mobile["lead"]["ownerUserId"]),
        ("lead", lead_id["lead"]["ownerUserId"]),
        *[
            ("segment", item["userId"], item["changed"])
            for change in (by_mobile_added, by_id_added, left_removed)
            for item in change["results"]
        ],
        *[("message", item["interaction"]["userId"]) for item in messages],
        *[("event", item["event"]["userId"]) for item in events],
    ]


def expected_writes(survivor: Person) -> list[tuple]:
    return [
        ("lead", survivor.user_id),
        ("lead", survivor.user_id),
        ("segment", survivor.user_id, True),
        ("segment", survivor.user_id, True),
        ("segment", survivor.user_id, True),
        ("message", survivor.user_id),
        ("message", survivor.user_id),
        ("event", survivor.user_id),
        ("event", survivor.user_id),
    ]


def import_files(tmp_path: Path, victims: list[Person]) -> dict[ImportProfile, tuple[dict[str, Any], Path]]:
    """One file per profile with a row for each victim: leads and segments by user id, messages
    and events by mobile."""
    rows: dict[ImportProfile, tuple[dict[str, Any], str, list[str]]] = {
        ImportProfile.LEADS: (
            {"unique_identifier_type": "USER_ID"},
            "user_id,lead_type,lead_for",
            [f"{victim.user_id},PRODUCT,{victim.tag}-import" for victim in victims],
        ),
        ImportProfile.SEGMENT_MEMBERS: (
            {"unique_identifier_type": "USER_ID"},
            "user_id,segment_code",
            [f"{victim.user_id},IMPORTED" for victim in victims],
        ),
        ImportProfile.INTERACTIONS: (
            {"unique_identifier_type": "MOBILE"},
            "mobile,message_id,channel,direction,status,status_at",
            [f"{victim.mobile},{victim.tag}-import,SMS,OUTBOUND,SENT,{STATUS_AT}" for victim in victims],
        ),
        ImportProfile.BEHAVIOURAL_EVENTS: (
            {"unique_identifier_type": "MOBILE"},
            "mobile,tracking_id,event_name,occurred_at,source",
            [f"{victim.mobile},{victim.tag}-import,product_viewed,{OCCURRED_AT},WEBENGAGE" for victim in victims],
        ),
    }
    files = {}
    for profile, (configuration, header, lines) in rows.items():
        path = tmp_path / f"{profile.value.lower()}.csv"
        path.write_text("\n".join([header, *lines]) + "\n")
        files[profile] = (configuration, path)
    return files


async def submit_imports(api: Api, files: dict[ImportProfile, tuple[dict[str, Any], Path]]) -> list[int]:
    org = await org_config(api.database, api.credentials.org_id)
    submitted = []
    for profile, (configuration, path) in files.items():
        request = imports.ImportRequest(profile, configuration=configuration)
        job = await imports.submit(api.database, org, request, imports.local_file(path, 10**6), now=api.clock.now())
        submitted.append(job.job.id)
    return submitted


async def run_import(api: Api, job_id: int) -> tuple:
    """Run a submitted job to its end: (status, rows imported, rows rejected)."""
    job = await imports.run_job(api.database, job_id, clock=api.clock)
    return job.status, job.rows_imported, job.rows_rejected


async def records_of(api: Api, person: Person) -> dict[str, list[str]]:
    """What the person holds now: leads (lead-for), segments, message and tracking ids, sorted."""
    lookup = by_user_id(person.user_id)
    segments = (await api.data(CUSTOMER_SEGMENTS, {"lookup": lookup, "first": 20}))["customerSegments"]
    messages = (await interactions_of(api, lookup, first=20))["interactions"]
    return {
        "leads": sorted(lead["leadFor"] for lead in (await leads_of(api, lookup, first=20))["leads"]),
        "segments": [membership["segment"]["code"] for membership in segments["memberships"]],
        "messages": sorted(item["messageId"] for item in messages),
        "events": sorted(item["trackingId"] for item in (await events_of(api, lookup, first=20))["events"]),
    }


def survivor_records(victim: Person) -> dict[str, list[str]]:
    """Everything written for the victim, on the survivor (which held nothing of its own)."""
    ids = sorted(f"{victim.tag}-{how}" for how in ("id", "import", "mobile"))
    return {"leads": ids, "segments": ["BY_MOBILE", "BY_ID", "IMPORTED"], "messages": ids, "events": ids}


NOTHING: dict[str, list[str]] = {"leads": [], "segments": [], "messages": [], "events": []}


async def segment_history(api: Api, person: Person) -> list[tuple[str, str, str]]:
    page = await history(api, by_user_id(person.user_id), first=20)
    return [(change["segment"]["code"], change["action"], change["source"]) for change in page["changes"]]


async def test_writes_naming_a_merged_customer_by_user_id_land_on_the_survivor(api, database, tmp_path):
    # Given a victim merged into its survivor: its mobile is the survivor's now, its user id still
    # finds the victim.
    [(survivor, victim)] = await people(api, 1)
    assert (await merge(api, by_user_id(survivor.user_id), by_user_id(victim.user_id)))[
        "__typename"
    ] == "CustomersMerged"
    job_ids = await submit_imports(api, import_files(tmp_path, [victim]))

    # When every writer names the victim, by its (old) mobile and by its user id.
    written = await asyncio.gather(*writes_for(api, victim))
    imported = [await run_import(api, job_id) for job_id in job_ids]

    # Then each answer names the survivor, and the survivor holds all of it (LEFT came with the
    # merge and went with the removal).
    assert written_for(written) == expected_writes(survivor)
    assert imported == [(JobStatus.DONE, 1, 0)] * 4
    assert await records_of(api, survivor) == survivor_records(victim)
    assert await records_of(api, victim) == NOTHING
    assert sorted(await segment_history(api, survivor)) == [
        ("BY_ID", "ADDED", "API"),
        ("BY_MOBILE", "ADDED", "API"),
        ("IMPORTED", "ADDED", "IMPORT"),
        ("LEFT", "ADDED", "MERGE"),
        ("LEFT", "REMOVED", "API"),
    ]
    assert await segment_history(api, victim) == [("LEFT", "REMOVED", "MERGE"), ("LEFT", "ADDED", "API")]
    await assert_reconciled(database)


async def test_writes_racing_merges_end_on_the_survivors_whichever_comes_first(api, database, tmp_path):
    # Given three pairs and the victims' imports submitted.
    pairs = await people(api, 3)
    victims = [victim for _, victim in pairs]
    job_ids = await submit_imports(api, import_files(tmp_path, victims))

    # When the merges, every writer naming the victims, and the imports run all at once.
    merges = [merge(api, by_user_id(survivor.user_id), by_user_id(victim.user_id)) for survivor, victim in pairs]
    writes = [write for victim in victims for write in writes_for(api, victim)]
    outcomes = await asyncio.gather(*merges, *writes, *(run_import(api, job_id) for job_id in job_ids))

    # Then every merge and write succeeded, and whichever came first, each survivor holds all that
    # was written for its victim and the victim holds nothing.
    assert [outcome["__typename"] for outcome in outcomes[: len(pairs)]] == ["CustomersMerged"] * len(pairs)
    assert outcomes[-len(job_ids) :] == [(JobStatus.DONE, len(pairs), 0)] * len(job_ids)
    for survivor, victim in pairs:
        assert await records_of(api, survivor) == survivor_records(victim)
        assert await records_of(api, victim) == NOTHING
        # The victim's last changes are the merge's: nothing was written for it after the merge.
        sources = [source for _, _, source in await segment_history(api, victim)]
        merge_rows = sources.count("MERGE")
        assert sources[:merge_rows] == ["MERGE"] * merge_rows, sources
    await assert_reconciled(database)


@pytest.mark.skipif(not POSTGRES_URL, reason="a merge held open mid-transaction needs PostgreSQL's sessions")
async def test_writes_that_found_the_victim_while_its_merge_was_open_land_on_the_survivor(api, database, tmp_path):
    # Given a merge held open after it moved the victim's records: another session holds the
    # survivor's standings, which the merge updates once the records have moved.
    [(survivor, victim)] = await people(api, 1)
    job_ids = await submit_imports(api, import_files(tmp_path, [victim]))
    async with database.write_engine.connect() as holder:
        await holder.begin()
        await holder.execute(
            text("SELECT id FROM customer_programs WHERE customer_id = :customer_id FOR UPDATE"),
            {"customer_id": int(survivor.user_id)},
        )
        merged = asyncio.create_task(merge(api, by_user_id(survivor.user_id), by_user_id(victim.user_id)))
        for _ in range(3000):  # until the merge waits on the standings (each turn a few ms)
            if await waiting_backends(holder) == 1:
                break
            await asyncio.sleep(0.01)
        assert await waiting_backends(holder) == 1

        # When every writer finds the victim (its mobile is still its own for them), then waits:
        # the merge holds the victim.
        writers = [asyncio.ensure_future(write) for write in writes_for(api, victim)]
        writers += [asyncio.create_task(run_import(api, job_id)) for job_id in job_ids]
        for _ in range(3000):
            if await waiting_backends(holder) == 1 + len(writers) or all(writer.done() for writer in writers):
                break
            await asyncio.sleep(0.01)
        assert await waiting_backends(holder) == 1 + len(writers)
        await holder.rollback()  # the merge goes on and commits
    assert (await merged)["__typename"] == "CustomersMerged"
    outcomes = await asyncio.gather(*writers)

    # Then each writer wrote for the survivor, and the victim keeps nothing.
    assert written_for(outcomes[:-4]) == expected_writes(survivor)
    assert outcomes[-4:] == [(JobStatus.DONE, 1, 0)] * 4
    assert await records_of(api, survivor) == survivor_records(victim)
    assert await records_of(api, victim) == NOTHING
    assert await segment_history(api, victim) == [("LEFT", "REMOVED", "MERGE"), ("LEFT", "ADDED", "API")]
    await assert_reconciled(database)


async def test_a_batch_naming_a_merged_victim_and_its_survivor_changes_the_survivor_once(api):
    [(survivor, victim)] = await people(api, 1)
    assert (await merge(api, by_user_id(survivor.user_id), by_user_id(victim.user_id)))[
        "__typename"
    ] == "CustomersMerged"

    added = await add(api, "BY_ID", [by_user_id(survivor.user_id), by_user_id(victim.user_id)])
    messages = await record(
        api, [sms(survivor.mobile, "same"), {**sms(survivor.mobile, "same"), "customer": by_user_id(victim.user_id)}]
    )

    # One membership and one message: the victim's user id names the survivor, so the second
    # item repeats the first (not a conflict over another customer).
    assert (added["membersChanged"], [(item["userId"], item["changed"]) for item in added["results"]]) == (
        1,
        [(survivor.user_id, True), (survivor.user_id, False)],
    )
    assert [(item["outcome"], item["interaction"]["userId"]) for item in messages] == [
        ("RECORDED", survivor.user_id),
        ("UNCHANGED", survivor.user_id),
    ]
    assert await records_of(api, survivor) == {
        "leads": [],
        "segments": ["LEFT", "BY_ID"],
        "messages": ["same"],
        "events": [],
    }
    assert await records_of(api, victim) == NOTHING
