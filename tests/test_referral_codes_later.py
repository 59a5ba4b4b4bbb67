"""Referral codes for customers who were not registered one by one (issue 16): customers an
import registered and customers registered before referrals existed get their code when it is
first asked for (the customer's `referralCode`), the same on every later ask and under two first
asks at once, and usable by the customers they refer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from app.graphql.core import context as context_module
from app.referrals import rules
from app.referrals import service as referrals_service
from app.referrals.models import REFERRAL_CODE_LENGTH, ReferralCode
from app.referrals.service import referrals_of
from tests.conftest import make_org
from tests.factories import by_user_id, new_mobile
from tests.import_checks import finished, post_csv
from tests.ledger_checks import assert_reconciled
from tests.test_referrals import CUSTOMER, customer, purchase, referral_spec

codes = ReferralCode.__table__

SEARCH = """
query Search($search: CustomerSearchInput!, $first: Int!) {
  customers(search: $search, first: $first) {
    ... on CustomerSearchPage { customers { userId referralCode } }
  }
}
"""
FIND = """
query Find($search: CustomerSearchInput!) {
  customers(search: $search, first: 1) { ... on CustomerSearchPage { customers { userId } } }
}
"""


@pytest.fixture
async def org(database):
    return await make_org(database, referral_spec())


async def imported(api, *keys: str) -> list[str]:
    """Customers the points import registers (one point each): their user ids, in file order."""
    body = "customerprofileid,amount\n" + "".join(f"{key},1\n" for key in keys)
    job = await finished(api, str((await post_csv(api, body.encode())).json()["job"]["id"]))
    assert (job["status"], job["customersCreated"]) == ("DONE", len(keys)), job
    user_ids = []
    for key in keys:
        found = await api.data(FIND, {"search": {"externalId": key}})
        user_ids.append(found["customers"]["customers"][0]["userId"])
    return user_ids


async def stored_codes(database, user_ids: list[str]) -> dict[str, str]:
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(codes.c.customer_id, codes.c.code).where(codes.c.customer_id.in_([int(id) for id in user_ids]))
            )
        ).all()
    return {str(row.customer_id): row.code for row in rows}


async def test_an_imported_customer_gets_a_code_when_first_asked_and_keeps_it(api, database):
    (user_id,) = await imported(api, "IMP-1")
    assert await stored_codes(database, [user_id]) == {}

    first = await customer(api, user_id)
    again = await customer(api, user_id)

    code = first["referralCode"]
    assert len(code) == REFERRAL_CODE_LENGTH
    assert set(code) <= set(rules.CODE_ALPHABET)
    assert again["referralCode"] == code
    assert await stored_codes(database, [user_id]) == {user_id: code}


async def test_the_code_given_later_refers_new_customers_like_any_other(api, database):
    (user_id,) = await imported(api, "IMP-2")
    code = (await customer(api, user_id))["referralCode"]

    added = await purchase(api, new_mobile(), "1000", customer={"referralCode": code.lower()})

    assert added["__typename"] == "TransactionAdded", added
    assert added["transaction"]["customer"]["referrer"] == {"userId": user_id}
    referrer = await customer(api, user_id)
    assert (referrer["loyaltyPoints"], [node["customer"]["userId"] for node in referrer["referees"]["nodes"]]) == (
        "101",
        [added["transaction"]["customer"]["userId"]],
    )
    await assert_reconciled(database)


async def test_a_customer_registered_before_referrals_existed_gets_one_when_first_asked(api, database):
    added = await purchase(api, new_mobile(), "1000")
    user_id = added["transaction"]["customer"]["userId"]

    async def forget(connection) -> None:  # as before the referrals migration: no row
        await connection.execute(delete(codes).where(codes.c.customer_id == int(user_id)))

    await database.run_write(forget)

    code = (await customer(api, user_id))["referralCode"]

    assert code is not None
    assert code != added["transaction"]["customer"]["referralCode"]
    assert await stored_codes(database, [user_id]) == {user_id: code}


async def ask(api, user_id: str) -> str:
    """The customer's referralCode, asked by its own HTTP request."""
    response = await api.client.post(
        "/graphql",
        json={"query": CUSTOMER, "variables": {"lookup": by_user_id(user_id)}},
        headers={"Authorization": api.credentials.header},
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response.json()["data"]["customer"]["referralCode"]


async def rows_of(database, user_ids: list[str]) -> int:
    async with database.read() as connection:
        return await connection.scalar(
            select(func.count()).select_from(codes).where(codes.c.customer_id.in_([int(id) for id in user_ids]))
        )


async def test_two_first_asks_at_once_give_the_same_code(api, database, monkeypatch):
    user_ids = await imported(api, "IMP-3", "IMP-4")
    # Each request reads the codes before any of them writes: all four see none.
    readers = 4
    all_read = asyncio.Event()
    arrived = []

    async def read_then_wait(connection, org_id, customer_ids):
        found = await referrals_of(connection, org_id, customer_ids)
        arrived.append(customer_ids)
        if len(arrived) == readers:
            all_read.set()
        await asyncio.wait_for(all_read.wait(), timeout=30)
        return found

    monkeypatch.setattr(context_module, "referrals_of", read_then_wait)

    answers = await asyncio.gather(*(ask(api, user_id) for user_id in user_ids for _ in range(2)))

    # (A request may read again once the barrier is passed: the first reads are one per request.)
    assert sorted(arrived[:readers]) == [[int(user_ids[0])], [int(user_ids[0])], [int(user_ids[1])], [int(user_ids[1])]]
    assert answers == [answers[0], answers[0], answers[2], answers[2]]
    assert answers[0] != answers[2]
    assert await stored_codes(database, user_ids) == {user_ids[0]: answers[0], user_ids[1]: answers[2]}
    assert await rows_of(database, user_ids) == 2


async def test_an_ask_that_lost_the_race_to_write_the_code_reads_the_winners(api, database, monkeypatch):
    (user_id,) = await imported(api, "IMP-5")
    winner = await ask(api, user_id)
    # The loser read before the winner wrote (both its reads are stale): its insert meets the
    # winner's row and is skipped, and it answers the winner's code.
    stale_reads = {"context": 1, "service": 1}

    def stale(where, real):
        async def read(connection, org_id, customer_ids):
            if stale_reads[where]:
                stale_reads[where] -= 1
                return {}
            return await real(connection, org_id, customer_ids)

        return read

    monkeypatch.setattr(context_module, "referrals_of", stale("context", referrals_of))
    monkeypatch.setattr(referrals_service, "referrals_of", stale("service", referrals_of))

    loser = await ask(api, user_id)

    assert stale_reads == {"context": 0, "service": 0}
    assert loser == winner
    assert await stored_codes(database, [user_id]) == {user_id: winner}
    assert await rows_of(database, [user_id]) == 1


async def test_a_list_asking_many_codes_for_the_first_time_sends_as_many_statements_as_for_few(
    api, database, clock, count_statements
):
    few_since = clock.now()
    few = await imported(api, *(f"FEW-{number}" for number in range(2)))
    clock.set(clock.now() + timedelta(hours=1))
    many_since = clock.now()
    many = await imported(api, *(f"MANY-{number}" for number in range(12)))

    async def listed(window: dict[str, str]) -> tuple[list[str], int]:
        counter = count_statements()
        found = await api.data(SEARCH, {"search": {"createdBetween": window}, "first": 50})
        return [row["referralCode"] for row in found["customers"]["customers"]], counter.count

    few_codes, few_statements = await listed(
        {"from": (few_since - timedelta(minutes=1)).isoformat(), "to": (few_since + timedelta(minutes=30)).isoformat()}
    )
    many_codes, many_statements = await listed({"from": (many_since - timedelta(minutes=1)).isoformat()})

    assert many_statements == few_statements
    assert await stored_codes(database, few) == dict(zip(few, few_codes, strict=True))
    assert await stored_codes(database, many) == dict(zip(many, many_codes, strict=True))
    assert len(set(few_codes + many_codes)) == 14
