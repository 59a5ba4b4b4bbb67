"""One read snapshot per request: every resolver and loader of one response reads the database as
it was at the request's first read, and a mutation's payload reads after the mutation's write."""

from __future__ import annotations

from app.ledger import expiry
from tests.client import add, points_summary
from tests.factories import bill, by_mobile, new_mobile

POINTS = """
query Points($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) {
    ... on Customer { loyaltyPoints pointsSummaries { programCode loyaltyPoints spendablePoints } }
  }
}
"""

TWO_BILLS = """
mutation TwoBills($first: TransactionAddInput!, $second: TransactionAddInput!) {
  first: addTransaction(input: $first) { ... on TransactionAdded { transaction { customer { loyaltyPoints } } } }
  second: addTransaction(input: $second) { ... on TransactionAdded { transaction { customer { loyaltyPoints } } } }
}
"""


def main_balances(customer: dict) -> tuple[str, str, str]:
    main = points_summary(customer)
    return customer["loyaltyPoints"], main["loyaltyPoints"], main["spendablePoints"]


async def test_a_bill_landing_between_two_loaders_of_one_query_is_seen_by_neither(api, monkeypatch):
    mobile = new_mobile()
    lookup = by_mobile(mobile)
    await add(api, bill(customer={"mobile": mobile}))  # 18 points
    holdings = expiry.holdings
    landed = []

    async def holdings_after_another_bill(connection, org_id, customer_ids, now):
        # The customer was read (balances) and the spendable points are next: another client's
        # bill commits in between.
        if not landed:
            landed.append(await add(api, bill(customer={"mobile": mobile})))
        return await holdings(connection, org_id, customer_ids, now)

    monkeypatch.setattr(expiry, "holdings", holdings_after_another_bill)
    during = (await api.data(POINTS, {"lookup": lookup}))["customer"]
    after = (await api.data(POINTS, {"lookup": lookup}))["customer"]

    assert landed[0]["transaction"]["customer"]["loyaltyPoints"] == "36"
    assert main_balances(during) == ("18", "18", "18")
    assert main_balances(after) == ("36", "36", "36")


async def test_each_mutation_of_a_document_reads_after_its_own_write(api):
    mobile = new_mobile()

    result = await api.data(
        TWO_BILLS, {"first": bill(customer={"mobile": mobile}), "second": bill(customer={"mobile": mobile})}
    )

    assert (
        result["first"]["transaction"]["customer"]["loyaltyPoints"],
        result["second"]["transaction"]["customer"]["loyaltyPoints"],
    ) == ("18", "36")
