"""Customer.transactions: a page of each customer's bills through the request's loader (one query
for a whole list of customers, tested by counting statements on a user group's members), and the
type filter behind the seed's Returns sub-tab."""

from __future__ import annotations

from tests.client import add
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile

CREATE_GROUP = """
mutation Create($input: CreateUserGroupInput!) {
  createUserGroup(input: $input) { __typename }
}
"""

GROUP_MEMBER_BILLS = """
query Members($lookup: UserGroupLookupInput!) {
  userGroup(lookup: $lookup) {
    ... on UserGroup {
      members(first: 20) {
        nodes {
          mobile
          transactions(first: 5) {
            nodes { number type amount lineItems { serial } customer { userId } }
            pageInfo { hasNextPage }
          }
          cards { number }
        }
      }
    }
  }
}
"""

CUSTOMER_BILLS = """
query Bills($lookup: CustomerLookupInput!, $types: [TransactionType!], $first: Int = 10, $after: String) {
  customer(lookup: $lookup) {
    ... on Customer {
      transactions(first: $first, after: $after, types: $types) {
        nodes { number type amount }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""


async def group_with_members(api, external_id: str, size: int, bills_each: int) -> list[tuple[str, list[str]]]:
    """A user group of `size` new customers, each with `bills_each` bills: (mobile, bill numbers newest first)."""
    members = []
    for _ in range(size):
        mobile = new_mobile()
        numbers = [
            (await add(api, bill(customer={"mobile": mobile})))["transaction"]["number"] for _ in range(bills_each)
        ]
        members.append((mobile, numbers[::-1]))
    lookups = [by_mobile(mobile) for mobile, _ in members]
    created = await api.data(CREATE_GROUP, {"input": {"externalId": external_id, "members": lookups}})
    assert created["createUserGroup"]["__typename"] == "UserGroupChanged"
    return members


async def statements_for_members(api, count_statements, external_id: str, size: int) -> tuple[int, list]:
    members = await group_with_members(api, external_id, size, bills_each=2)
    variables = {"lookup": {"type": "EXTERNAL_ID", "value": external_id}}
    await api.data(GROUP_MEMBER_BILLS, variables)  # the API key and the org are cached from here on

    counter = count_statements()
    nodes = (await api.data(GROUP_MEMBER_BILLS, variables))["userGroup"]["members"]["nodes"]

    assert sorted(
        (node["mobile"], [bill_node["number"] for bill_node in node["transactions"]["nodes"]]) for node in nodes
    ) == sorted((f"91{mobile}", numbers) for mobile, numbers in members)
    assert all(len(bill_node["lineItems"]) == 3 for node in nodes for bill_node in node["transactions"]["nodes"])
    assert all(node["transactions"]["pageInfo"]["hasNextPage"] is False and node["cards"] == [] for node in nodes)
    return counter.count, nodes


async def test_the_bills_of_a_groups_members_cost_the_same_statements_for_1_or_12_members(
    api, database, count_statements
):
    with_one, _ = await statements_for_members(api, count_statements, "FAMILY-1", 1)
    with_twelve, nodes = await statements_for_members(api, count_statements, "FLEET-12", 12)

    assert len(nodes) == 12
    assert with_one == with_twelve
    # The group, its member ids, their count, the members with points summaries, their
    # identifiers, their bills, the bills' line items, their cards; each bill's customer comes
    # from the loader the members primed. SQLite's read transaction also sends its BEGIN.
    assert with_twelve == (9 if database.is_sqlite else 8)


async def test_the_type_filter_lists_returns_or_purchases_and_pages_within_it(api):
    mobile = new_mobile()
    first_bill = (await add(api, bill(customer={"mobile": mobile})))["transaction"]
    second_bill = (await add(api, bill(customer={"mobile": mobile})))["transaction"]
    returned = await api.data(
        RETURN_TRANSACTION,
        {
            "input": {
                "type": "RETURN",
                "returnType": "FULL",
                "number": first_bill["number"],
                "purchaseTime": first_bill["billingTime"][:10],
                "tillCode": first_bill["tillCode"],
                "customer": {"mobile": mobile},
            }
        },
    )
    assert returned["returnTransaction"]["__typename"] == "TransactionReturned"
    return_number = returned["returnTransaction"]["transaction"]["number"]

    async def bills(**variables):
        customer = (await api.data(CUSTOMER_BILLS, {"lookup": by_mobile(mobile), **variables}))["customer"]
        return customer["transactions"]

    everything = await bills()
    returns = await bills(types=["RETURN", "NOT_INTERESTED_RETURN", "MIXED"])
    purchases_page = await bills(types=["REGULAR"], first=1)
    purchases_next = await bills(types=["REGULAR"], first=1, after=purchases_page["pageInfo"]["endCursor"])

    assert [(node["number"], node["type"]) for node in everything["nodes"]] == [
        (return_number, "RETURN"),
        (second_bill["number"], "REGULAR"),
        (first_bill["number"], "REGULAR"),
    ]
    assert [(node["number"], node["type"], node["amount"]) for node in returns["nodes"]] == [
        (return_number, "RETURN", "1800")
    ]
    assert returns["pageInfo"]["hasNextPage"] is False
    assert ([node["number"] for node in purchases_page["nodes"]], purchases_page["pageInfo"]["hasNextPage"]) == (
        [second_bill["number"]],
        True,
    )
    assert ([node["number"] for node in purchases_next["nodes"]], purchases_next["pageInfo"]["hasNextPage"]) == (
        [first_bill["number"]],
        False,
    )
