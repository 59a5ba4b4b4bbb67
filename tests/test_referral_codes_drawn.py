"""`pointledger referrals draw-codes` (issue 16): a referral code drawn ahead for every customer of
an organisation who has none (imported in bulk, or registered before referrals), in batches, the
codes already given kept, once: a second run and a first ask beside it draw no second code."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from typer.testing import CliRunner

from app.referrals import rules
from app.referrals import service as referrals_service
from app.referrals.models import REFERRAL_CODE_LENGTH
from app.referrals.service import referrals_of
from tests.client import merge
from tests.conftest import make_org
from tests.factories import by_user_id, new_mobile
from tests.test_referral_codes_later import ask, imported, rows_of, stored_codes
from tests.test_referrals import customer, purchase, referral_spec


@pytest.fixture
async def org(database):
    return await make_org(database, referral_spec())


@pytest.fixture
def draw_codes(database, monkeypatch, clock):
    """Run `pointledger referrals draw-codes --org ARGUMENTS...` on the test database (in a thread:
    the command runs its own event loop)."""
    from app.cli.main import cli
    from app.kernel.settings import get_settings

    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", database.url)
    get_settings.cache_clear()

    async def run(*arguments: str) -> Any:
        command = ["referrals", "draw-codes", "--org", *arguments]
        return await asyncio.to_thread(CliRunner().invoke, cli, command, obj=clock)

    yield run
    get_settings.cache_clear()


async def test_every_customer_without_a_code_gets_one_in_batches_and_a_second_run_draws_none(api, database, draw_codes):
    user_ids = await imported(api, "DRAW-1", "DRAW-2", "DRAW-3", "DRAW-4", "DRAW-5")
    registered = (await purchase(api, new_mobile(), "1000"))["transaction"]["customer"]
    # DRAW-5 merged into DRAW-4: it was never shown a code and never will be.
    merged = await merge(api, by_user_id(user_ids[3]), by_user_id(user_ids[4]), idempotencyKey="draw-merge")
    assert merged["__typename"] == "CustomersMerged", merged

    first = await draw_codes("acme", "--batch-size", "2")
    again = await draw_codes("acme")

    assert first.exit_code == 0, first.output
    assert first.output.strip() == "drew 4 referral codes for 5 customers (the others had one)"
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "drew 0 referral codes for 5 customers (the others had one)"
    drawn = await stored_codes(database, user_ids[:4])
    assert sorted(drawn) == sorted(user_ids[:4])
    assert all(len(code) == REFERRAL_CODE_LENGTH and set(code) <= set(rules.CODE_ALPHABET) for code in drawn.values())
    assert len(set(drawn.values()) | {registered["referralCode"]}) == 5
    assert await stored_codes(database, [user_ids[4]]) == {}
    # The code registration gave stays; the ones drawn are what the API shows.
    assert (await customer(api, registered["userId"]))["referralCode"] == registered["referralCode"]
    assert [(await customer(api, user_id))["referralCode"] for user_id in user_ids[:4]] == [
        drawn[user_id] for user_id in user_ids[:4]
    ]


async def test_first_asks_beside_the_command_give_each_customer_one_code(api, database, draw_codes):
    user_ids = await imported(api, *(f"LIVE-{number}" for number in range(40)))

    result, *answers = await asyncio.gather(
        draw_codes("acme", "--batch-size", "3"), *(ask(api, user_id) for user_id in user_ids)
    )

    assert result.exit_code == 0, result.output
    assert await stored_codes(database, user_ids) == dict(zip(user_ids, answers, strict=True))
    assert await rows_of(database, user_ids) == 40
    again = await draw_codes("acme")
    assert again.output.strip() == "drew 0 referral codes for 40 customers (the others had one)"


async def test_an_unknown_organisation_is_refused(draw_codes):
    result = await draw_codes("nowhere")

    assert result.exit_code == 2
    assert "NOT_FOUND" in result.output


async def test_a_code_an_ask_gave_between_the_commands_read_and_write_stays_and_is_not_counted(
    api, database, draw_codes, monkeypatch
):
    user_ids = await imported(api, *(f"RACE-{number}" for number in range(6)))
    given = {user_id: await ask(api, user_id) for user_id in (user_ids[1], user_ids[4])}
    # The command's first read of each batch misses the two codes, as if the asks wrote them just
    # after it read: its inserts for them meet the asks' rows and are skipped.
    unseen = {int(user_id) for user_id in given}

    async def stale(connection, org_id, customer_ids):
        found = await referrals_of(connection, org_id, customer_ids)
        missed = unseen & set(found)
        unseen.difference_update(missed)
        return {customer_id: view for customer_id, view in found.items() if customer_id not in missed}

    monkeypatch.setattr(referrals_service, "referrals_of", stale)

    result = await draw_codes("acme", "--batch-size", "4")

    assert unseen == set()
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "drew 4 referral codes for 6 customers (the others had one)"
    stored = await stored_codes(database, user_ids)
    assert {user_id: stored[user_id] for user_id in given} == given
    assert await rows_of(database, user_ids) == 6
