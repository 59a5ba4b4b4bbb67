"""The customer query: lookups by any identifier, bills newest first, and no N+1 on lists."""

from __future__ import annotations

import base64

import pytest

from tests.client import add, find_customer
from tests.factories import bill, by_mobile, new_mobile

CUSTOMER_WITH_BILLS = """
query CustomerBills($lookup: CustomerLookupInput!, $first: Int!, $after: String) {
  customer(lookup: $lookup) {
    __typename
    ... on Customer {
      userId loyaltyPoints
      pointsSummaries { programCode loyaltyPoints }
      transactions(first: $first, after: $after) {
        nodes {
          id number amount billingTime storeCode tillCode
          lineItems { serial itemCode variant qty rate value discount amount }
          customer { userId mobile loyaltyPoints }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
    ... on Error { code message field }
  }
}
"""

LINE_ITEMS = [  # tests.factories.bill's line items, as the API returns them
    {
        "serial": 1,
        "itemCode": "SHIRT-01",
        "variant": None,
        "qty": "2",
        "rate": "500",
        "value": "1000",
        "discount": "100",
        "amount": "900",
    },
    {
        "serial": 2,
        "itemCode": "JEANS-01",
        "variant": "32-BLUE",
        "qty": "1",
        "rate": "800",
        "value": "800",
        "discount": "100",
        "amount": "700",
    },
    {
        "serial": 3,
        "itemCode": "SOCKS-01",
        "variant": None,
        "qty": "1",
        "rate": "200",
        "value": "200",
        "discount": "0",
        "amount": "200",
    },
]


# --- Lookups --------------------------------------------------------------------------------


async def test_a_customer_is_found_by_mobile_with_or_without_the_country_code(api):
    mobile = new_mobile()
    added = await add(api, bill(customer={"mobile": mobile, "firstname": "Tom", "lastname": "Sawyer"}))
    user_id = added["transaction"]["customer"]["userId"]

    found = [
        await find_customer(api, {"type": "MOBILE", "value": value})
        for value in (mobile, "91" + mobile, "+91" + mobile, f" {mobile} ")
    ]

    assert [customer["userId"] for customer in found] == [user_id] * 4
    customer = found[0]
    assert {
        key: customer[key]
        for key in (
            "__typename",
            "mobile",
            "email",
            "externalId",
            "cardNumber",
            "firstname",
            "lastname",
            "loyaltyPoints",
            "lifetimePoints",
            "lifetimePurchases",
            "currentSlab",
            "identifiers",
        )
    } == {
        "__typename": "Customer",
        "mobile": "91" + mobile,
        "email": None,
        "externalId": None,
        "cardNumber": None,
        "firstname": "Tom",
        "lastname": "Sawyer",
        "loyaltyPoints": "18",
        "lifetimePoints": "18",
        "lifetimePurchases": "1800",
        "currentSlab": "bronze",
        "identifiers": [{"type": "MOBILE", "value": "91" + mobile}],
    }
    assert customer["pointsSummaries"] == [
        {
            "programCode": "main",
            "loyaltyPoints": "18",
            "lifetimePoints": "18",
            "cumulativePurchases": "1800",
            "currentSlab": "bronze",
        },
        {
            "programCode": "cafe",
            "loyaltyPoints": "0",
            "lifetimePoints": "0",
            "cumulativePurchases": "0",
            "currentSlab": "member",
        },
    ]


async def test_the_seeds_mobile_9800000001_and_919800000001_are_the_same_customer(api):
    added = await add(api, bill(customer={"mobile": "9800000001"}))

    short = await find_customer(api, {"type": "MOBILE", "value": "9800000001"})
    full = await find_customer(api, {"type": "MOBILE", "value": "919800000001"})

    assert short["userId"] == full["userId"] == added["transaction"]["customer"]["userId"]
    assert short["mobile"] == "919800000001"


async def test_a_customer_is_found_by_email_whatever_its_case(api):
    added = await add(api, bill(customer={"email": "Ann.Lee@Example.COM"}))
    user_id = added["transaction"]["customer"]["userId"]

    found = [
        await find_customer(api, {"type": "EMAIL", "value": value})
        for value in ("ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", "Ann.Lee@Example.COM")
    ]

    assert [customer["userId"] for customer in found] == [user_id] * 3
    assert found[0]["email"] == "ann.lee@example.com"


async def test_a_customer_is_found_by_external_id_card_number_and_user_id(api):
    added = await add(api, bill(customer={"mobile": new_mobile(), "externalId": "EXT-42", "cardNumber": "CARD-0042"}))
    user_id = added["transaction"]["customer"]["userId"]

    by_external_id = await find_customer(api, {"type": "EXTERNAL_ID", "value": "EXT-42"})
    by_card = await find_customer(api, {"type": "CARD_NUMBER", "value": "CARD-0042"})
    by_user_id = await find_customer(api, {"type": "USER_ID", "value": user_id})

    assert by_external_id["userId"] == by_card["userId"] == by_user_id["userId"] == user_id
    assert (by_user_id["externalId"], by_user_id["cardNumber"]) == ("EXT-42", "CARD-0042")


@pytest.mark.parametrize(
    "lookup",
    [
        {"type": "MOBILE", "value": "9811111111"},
        {"type": "EMAIL", "value": "nobody@example.com"},
        {"type": "EXTERNAL_ID", "value": "EXT-0"},
        {"type": "CARD_NUMBER", "value": "CARD-0"},
        {"type": "USER_ID", "value": "999999"},
        {"type": "USER_ID", "value": "not-a-number"},
        {"type": "USER_ID", "value": "-1"},
        {"type": "USER_ID", "value": "2147483648"},
        {"type": "USER_ID", "value": "9223372036854775808"},
        {"type": "USER_ID", "value": "\u00b2"},
        {"type": "USER_ID", "value": "\u0661"},
    ],
    ids=[
        "mobile",
        "email",
        "external-id",
        "card-number",
        "user-id",
        "user-id-not-a-number",
        "user-id-negative",
        "user-id-past-32-bit",
        "user-id-past-64-bit",
        "user-id-superscript-digit",
        "user-id-arabic-indic-one",
    ],
)
async def test_an_unknown_customer_is_not_found(api, lookup):
    await add(api, bill())

    result = await find_customer(api, lookup)

    assert result == {
        "__typename": "NotFoundError",
        "code": "CUSTOMER_NOT_FOUND",
        "field": "lookup",
        "message": f"no customer with {lookup['type']} {lookup['value']!r}",
    }


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        ({"type": "MOBILE", "value": "12345"}, "'12345' is not a valid mobile number"),
        ({"type": "MOBILE", "value": "not a phone"}, "'not a phone' is not a mobile number"),
        ({"type": "EXTERNAL_ID", "value": "   "}, "must not be empty"),
    ],
)
async def test_a_malformed_identifier_is_an_invalid_identifier_error_on_the_lookup_value(api, lookup, message):
    result = await find_customer(api, lookup)

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_IDENTIFIER",
        "field": "lookup.value",
        "message": message,
    }


async def test_a_malformed_email_is_an_invalid_identifier_error_on_the_lookup_value(api):
    result = await find_customer(api, {"type": "EMAIL", "value": "not-an-email"})

    assert (result["__typename"], result["code"], result["field"]) == (
        "InvalidInputError",
        "INVALID_IDENTIFIER",
        "lookup.value",
    )
    assert result["message"].startswith("'not-an-email' is not an email address")


# --- Transactions of a customer ---------------------------------------------------------------


async def test_a_customers_bills_come_newest_first_in_pages_with_their_line_items(api):
    mobile = new_mobile()
    added = [await add(api, bill(customer={"mobile": mobile}, number=f"P-{n}")) for n in range(1, 6)]
    lookup = by_mobile(mobile)

    pages = []
    after = None
    for _ in range(3):
        customer = (await api.data(CUSTOMER_WITH_BILLS, {"lookup": lookup, "first": 2, "after": after}))["customer"]
        pages.append(customer["transactions"])
        after = customer["transactions"]["pageInfo"]["endCursor"]

    assert [[node["number"] for node in page["nodes"]] for page in pages] == [["P-5", "P-4"], ["P-3", "P-2"], ["P-1"]]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True, True, False]
    assert [node["id"] for page in pages for node in page["nodes"]] == [
        result["transaction"]["id"] for result in reversed(added)
    ]
    user_id = added[0]["transaction"]["customer"]["userId"]
    for page in pages:
        for node in page["nodes"]:
            assert node["lineItems"] == LINE_ITEMS
            assert (node["amount"], node["storeCode"], node["tillCode"]) == ("1800", "store-1", "till-1")
            assert node["customer"] == {"userId": user_id, "mobile": "91" + mobile, "loyaltyPoints": "90"}
    beyond = (
        await api.data(CUSTOMER_WITH_BILLS, {"lookup": lookup, "first": 2, "after": pages[-1]["pageInfo"]["endCursor"]})
    )["customer"]
    assert beyond["transactions"] == {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


async def test_a_customer_sees_only_their_own_bills(api):
    mine, theirs = new_mobile(), new_mobile()
    await add(api, bill(customer={"mobile": mine}, number="MINE-1"))
    await add(api, bill(customer={"mobile": theirs}, number="THEIRS-1"))
    await add(api, bill(type="NOT_INTERESTED", customer=None, number="ANON-1"))

    customer = await find_customer(api, by_mobile(mine))

    assert [node["number"] for node in customer["transactions"]["nodes"]] == ["MINE-1"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 0}, "must be between 1 and 100"),
        ({"first": 101}, "must be between 1 and 100"),
        ({"first": 2, "after": "garbage"}, "is not a cursor this API returned"),
        ({"first": 2, "after": base64.urlsafe_b64encode(b"ledger:1").decode()}, "is not a cursor this API returned"),
        (
            {"first": 2, "after": base64.urlsafe_b64encode(b"transaction:9223372036854775808").decode()},
            "is not a cursor this API returned",
        ),
    ],
    ids=["first-0", "first-101", "garbage", "another-kind-of-cursor", "id-past-64-bit"],
)
async def test_bad_page_arguments_on_a_customers_bills_are_reported_without_masking(api, variables, message):
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}))

    body = await api.post(CUSTOMER_WITH_BILLS, {"lookup": by_mobile(mobile), **variables})

    # `transactions` is not a result union: the typed error surfaces as a GraphQL error on its path.
    assert [(error["message"], error["path"]) for error in body["errors"]] == [(message, ["customer", "transactions"])]


# --- N+1 ------------------------------------------------------------------------------------


async def statements_for_customer_with_bills(api, count_statements, bills):
    mobile = new_mobile()
    for _ in range(bills):
        await add(api, bill(customer={"mobile": mobile}))
    variables = {"lookup": by_mobile(mobile), "first": 20}
    await api.data(CUSTOMER_WITH_BILLS, variables)  # the API key and the org are cached from here on

    counter = count_statements()
    customer = (await api.data(CUSTOMER_WITH_BILLS, variables))["customer"]

    nodes = customer["transactions"]["nodes"]
    assert len(nodes) == bills
    assert all(len(node["lineItems"]) == 3 for node in nodes)
    assert {node["customer"]["userId"] for node in nodes} == {customer["userId"]}
    return counter.count


async def test_listing_bills_with_line_items_and_customer_costs_the_same_statements_for_2_or_12_bills(
    api, database, count_statements
):
    with_two = await statements_for_customer_with_bills(api, count_statements, 2)
    with_twelve = await statements_for_customer_with_bills(api, count_statements, 12)

    assert with_two == with_twelve
    # Five queries: the lookup, the customer with points summaries, its identifiers, the bills,
    # the line items of all bills; each bill's customer comes from the loader, primed by the
    # customer query. On SQLite the request's one read transaction also sends its BEGIN
    # (asyncpg's BEGIN is not a cursor statement).
    assert with_twelve == (6 if database.is_sqlite else 5)
