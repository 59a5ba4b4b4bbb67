"""Merges under concurrency, and customers who registered before a program existed.

The invariants after any mix of concurrent merges and purchases: following "merged into" always
ends at a customer that is not merged (no cycles), a merged customer owns no identifier and holds
no points; purchases and points are neither lost nor counted twice; every balance is the sum of
its entries.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import func, select

from app.customers.models import Customer, CustomerIdentifier
from app.ledger.models import PointAccount
from app.ledger.service import reconcile
from tests.client import add, buy, find_customer
from tests.conftest import make_org
from tests.factories import bill, by_mobile, new_mobile, org_spec

customers = Customer.__table__
identifiers = CustomerIdentifier.__table__
accounts = PointAccount.__table__


async def assert_merges_are_consistent(database, *, total_purchases: Decimal, total_points: Decimal) -> None:
    async with database.read() as connection:
        merged_into = dict(
            (await connection.execute(select(customers.c.id, customers.c.merged_into_customer_id))).all()
        )
        owners = set((await connection.execute(select(identifiers.c.customer_id))).scalars())
        balances = dict(
            (
                await connection.execute(
                    select(accounts.c.customer_id, func.sum(accounts.c.balance)).group_by(accounts.c.customer_id)
                )
            ).all()
        )
        purchases = sum((await connection.execute(select(customers.c.lifetime_purchases))).scalars(), Decimal(0))
        discrepancies = await reconcile(connection)
    merged = {customer_id for customer_id, survivor in merged_into.items() if survivor is not None}
    for victim in merged:  # a chain (Y into X, later X into Z) is history; a cycle is a defect
        seen = [victim]
        while merged_into[seen[-1]] is not None:
            seen.append(merged_into[seen[-1]])
            assert len(seen) == len(set(seen)), f"merge cycle {seen}"
    assert owners.isdisjoint(merged)
    assert all(balances[victim] == 0 for victim in merged)
    assert sum(balances.values(), Decimal(0)) == total_points
    assert purchases == total_purchases
    assert discrepancies == []


async def test_two_merges_in_opposite_directions_at_once_make_one_survivor(api, database):
    rounds = 5
    for round_number in range(rounds):
        mobile_x, mobile_y = new_mobile(), new_mobile()
        email_x, email_y = f"x{round_number}@example.com", f"y{round_number}@example.com"
        await buy(api, mobile_x, "1000", email=email_x)
        await buy(api, mobile_y, "1000", email=email_y)

        first, second = await asyncio.gather(
            buy(api, mobile_x, "100", email=email_y),
            buy(api, mobile_y, "100", email=email_x),
        )

        survivors = {first["transaction"]["customer"]["userId"], second["transaction"]["customer"]["userId"]}
        assert len(survivors) == 1
    # 10 + 10 + 1 + 1 points and 2,200 of purchases a round, whoever won.
    await assert_merges_are_consistent(
        database, total_purchases=Decimal(2200 * rounds), total_points=Decimal(22 * rounds)
    )


async def test_a_purchase_by_the_victims_other_identifier_during_a_merge_lands_on_the_survivor(api, database):
    rounds = 5
    for round_number in range(rounds):
        mobile_x, mobile_y = new_mobile(), new_mobile()
        card, email = f"CARD-{round_number}", f"v{round_number}@example.com"
        external_id = f"EXT-{round_number}"
        await buy(api, mobile_x, "1000")
        victim = await buy(api, mobile_y, "1000", email=email, cardNumber=card)

        merge, purchase = await asyncio.gather(
            buy(api, mobile_x, "100", email=email),
            add(api, bill(amount="5000", lineItems=[], customer={"cardNumber": card, "externalId": external_id})),
        )

        survivor = merge["transaction"]["customer"]["userId"]
        found = await find_customer(api, {"type": "EXTERNAL_ID", "value": external_id})
        assert found["userId"] == survivor
        # Posted before the merge, the purchase landed on the victim and moved with it; after, on the survivor.
        assert purchase["transaction"]["customer"]["userId"] in {survivor, victim["transaction"]["customer"]["userId"]}
    await assert_merges_are_consistent(
        database, total_purchases=Decimal(7100 * rounds), total_points=Decimal(71 * rounds)
    )


async def test_one_victim_claimed_by_two_survivors_at_once_moves_once(api, database):
    mobile_x, mobile_y, mobile_z = new_mobile(), new_mobile(), new_mobile()
    await buy(api, mobile_x, "10")
    await buy(api, mobile_y, "15000", email="y@example.com", cardNumber="CARD-Y")
    await buy(api, mobile_z, "10")

    await asyncio.gather(
        buy(api, mobile_x, "0", email="y@example.com"),
        buy(api, mobile_z, "0", cardNumber="CARD-Y"),
    )

    # Whichever runs second finds CARD-Y (or y@) already moved to the first survivor and merges
    # that one too: all three end as one customer, with each purchase counted once.
    x = await find_customer(api, by_mobile(mobile_x))
    z = await find_customer(api, by_mobile(mobile_z))
    assert x["userId"] == z["userId"]
    assert x["lifetimePurchases"] == "15020"
    await assert_merges_are_consistent(database, total_purchases=Decimal(15020), total_points=Decimal(150))


NEW_PROGRAM = {
    "code": "books",
    "name": "Book Club",
    "points_rounding": "FLOOR",
    "points_decimal_places": 0,
    "tiers": [{"serial_number": 1, "name": "reader", "upgrade_threshold": "0", "earn_rate": "0.1"}],
}


async def test_a_program_added_later_opens_for_existing_customers_on_first_use(org_api, database):
    spec = org_spec("growing")
    api = await org_api(spec)
    mobile = new_mobile()
    await buy(api, mobile, "1000")
    # The org adds a program and a till that earns in it, and makes it the default.
    spec["programs"][0]["default"] = False
    spec["programs"].append({**NEW_PROGRAM, "default": True})
    spec["stores"][0]["tills"].append({"code": "till-books", "program": "books"})
    await make_org(database, spec)
    api.client._transport.app.state.services.org_cache.invalidate()

    before = await find_customer(api, by_mobile(mobile))
    result = await buy(api, mobile, "500", till="till-books")

    assert before["currentSlab"] == "reader"
    assert [(s["programCode"], s["loyaltyPoints"]) for s in before["pointsSummaries"]] == [
        ("main", "10"),
        ("cafe", "0"),
        ("books", "0"),
    ]
    summaries = result["transaction"]["customer"]["pointsSummaries"]
    assert [(s["programCode"], s["loyaltyPoints"], s["cumulativePurchases"]) for s in summaries] == [
        ("main", "10", "1000"),
        ("cafe", "0", "0"),
        ("books", "50", "500"),
    ]
    async with database.read() as connection:
        assert await reconcile(connection) == []
