"""A merge running beside the tier expiry run: both lock the customers first, in id order (then
their standings), so neither waits for the other in a cycle (no deadlock for PostgreSQL to break
and retry), and whichever comes first, every tier change is written once: a merge victim's tier
validity ends with the merge (its standing is closed), so the run never expires it afterwards.

The org's main program: bronze (0), silver (20,000), gold (100,000); a tier reached lasts 12
months (tests.test_tier_history).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from app.customers.tiers import expire_tiers
from tests.client import merge
from tests.conftest import make_org
from tests.factories import by_mobile
from tests.ledger_checks import assert_reconciled
from tests.test_tier_history import (
    AFTER_EXPIRY,
    EXPIRES_AT,
    changes,
    customer_tier,
    silver_customer,
    tier_history,
    validity_spec,
)

PURCHASE = ("main", "UPGRADE", "PURCHASE", "bronze", "silver", EXPIRES_AT)
EXPIRY = ("main", "EXPIRY", "TIER_EXPIRY", "silver", "bronze", None, None)
# The survivor taken by the run before the merge: the victim's purchases lift it to silver again.
MERGE_AFTER_EXPIRY = ("main", "UPGRADE", "MERGE", "bronze", "silver", "2028-11-25T18:29:59+00:00", None)


@pytest.fixture
async def org(database):
    return await make_org(database, validity_spec())


def without_bill(history: list[tuple]) -> list[tuple]:
    """The history with the first purchase's bill id left out (it differs per customer)."""
    return [row[:6] if row[:3] == PURCHASE[:3] else row for row in history]


async def test_merges_beside_tier_expiry_runs_neither_deadlock_nor_write_a_tier_change_twice(
    api, database, clock, caplog
):
    pairs = [((await silver_customer(api))[0], (await silver_customer(api))[0]) for _ in range(6)]
    clock.set(AFTER_EXPIRY + timedelta(hours=1))
    caplog.set_level(logging.INFO, logger="app.storage.database")

    outcomes = await asyncio.gather(
        *(merge(api, by_mobile(survivor), by_mobile(victim)) for survivor, victim in pairs),
        *(expire_tiers(database, AFTER_EXPIRY, now=clock.now(), batch_standings=2) for _ in range(3)),
    )

    assert [outcome["__typename"] for outcome in outcomes[: len(pairs)]] == ["CustomersMerged"] * len(pairs)
    retries = [record.getMessage() for record in caplog.records if "retrying write" in record.getMessage()]
    assert retries == []
    for survivor, victim in pairs:
        victim_id = outcomes[pairs.index((survivor, victim))]["victimUserId"]
        survivor_history = without_bill(changes(await tier_history(api, by_mobile(survivor))))
        victim_history = without_bill(changes(await tier_history(api, {"type": "USER_ID", "value": victim_id})))
        # Each order the two can take, and nothing else: the run before the merge (both expired,
        # or the survivor first and the merge lifting it again), or the merge first (the victim closed).
        assert (survivor_history, victim_history) in [
            ([EXPIRY, PURCHASE], [EXPIRY, PURCHASE]),
            ([MERGE_AFTER_EXPIRY, EXPIRY, PURCHASE], [PURCHASE]),
            ([EXPIRY, PURCHASE], [PURCHASE]),
        ], (survivor_history, victim_history)
        tier = await customer_tier(api, by_mobile(survivor))
        assert tier["currentSlab"] == survivor_history[0][4]
    # Nothing is left for a later run: every tier that ended was expired exactly once.
    assert await expire_tiers(database, AFTER_EXPIRY, now=clock.now()) == 0
    await assert_reconciled(database)


async def test_a_merge_victims_tier_does_not_run_out_after_the_merge(api, database, clock):
    survivor, _ = await silver_customer(api)
    victim, _ = await silver_customer(api)
    merged = await merge(api, by_mobile(survivor), by_mobile(victim))
    victim_lookup = {"type": "USER_ID", "value": merged["victimUserId"]}
    clock.set(AFTER_EXPIRY + timedelta(hours=1))

    expired = await expire_tiers(database, AFTER_EXPIRY, now=clock.now())

    assert expired == 1  # the survivor's silver only
    assert without_bill(changes(await tier_history(api, by_mobile(survivor)))) == [EXPIRY, PURCHASE]
    assert without_bill(changes(await tier_history(api, victim_lookup))) == [PURCHASE]
    closed = await customer_tier(api, victim_lookup)
    assert (closed["currentSlab"], closed["tierExpiryDate"]) == ("silver", None)
