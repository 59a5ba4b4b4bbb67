"""NON_LOYALTY customers (seed 001: "registered mobile number or email id with the org" but not
enrolled): a bill naming `customer.type: NON_LOYALTY` registers them by their identifier, links the
bill to them and earns nothing; a LOYALTY bill or registerCustomer for the same identifier enrols
them with their bills, which do not earn retroactively.

The test bill (tests.factories.bill) is 1,800 net: 18 points at bronze (1 per 100).
"""

from __future__ import annotations

from tests.client import add, add_transaction, ledger_entries, purchase_day
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile
from tests.snapshots import table_counts

ADD_FOR_CUSTOMER = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      replayed
      transaction {
        id number eligibleAmount pointsEarned
        sideEffects {
          __typename
          ... on CustomerSideEffect { registered loyaltyType }
          ... on PointsSideEffect { awardedPoints }
        }
        customer {
          userId type firstname loyaltyPoints lifetimePoints lifetimePurchases currentSlab
          pointsSummaries { programCode loyaltyPoints cumulativePurchases }
        }
      }
    }
    ... on Error { code message field }
  }
}
"""

CUSTOMER_WITH_BILLS = """
query Customer($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) {
    __typename
    ... on Customer {
      userId type firstname lastname email loyaltyPoints lifetimePurchases
      identifiers { type value }
      transactions(first: 10) { nodes { number eligibleAmount pointsEarned } }
    }
  }
}
"""

REGISTER = """
mutation Register($input: RegisterCustomerInput!) {
  registerCustomer(input: $input) {
    __typename
    ... on CustomerRegistered { replayed customer { userId type firstname } }
    ... on Error { code field }
  }
}
"""


async def post(api, mobile, customer_type=None, **overrides):
    customer = {"mobile": mobile, "firstname": "Tom"}
    if customer_type is not None:
        customer["type"] = customer_type
    result = await add_transaction(api, bill(customer=customer, **overrides), query=ADD_FOR_CUSTOMER)
    assert result["__typename"] == "TransactionAdded", result
    return result["transaction"]


async def customer_of(api, mobile):
    return (await api.data(CUSTOMER_WITH_BILLS, {"lookup": by_mobile(mobile)}))["customer"]


def summary(customer):
    return (
        customer["type"],
        customer["loyaltyPoints"],
        customer["lifetimePoints"],
        customer["lifetimePurchases"],
        customer["currentSlab"],
        [(row["programCode"], row["loyaltyPoints"], row["cumulativePurchases"]) for row in customer["pointsSummaries"]],
    )


async def test_a_non_loyalty_bill_registers_the_customer_known_but_not_enrolled_and_earns_nothing(api):
    mobile = new_mobile()

    bought = await post(api, mobile, "NON_LOYALTY")

    assert (bought["eligibleAmount"], bought["pointsEarned"]) == ("0", "0")
    assert bought["sideEffects"] == [
        {"__typename": "CustomerSideEffect", "registered": True, "loyaltyType": "NON_LOYALTY"}
    ]
    assert summary(bought["customer"]) == (
        "NON_LOYALTY",
        "0",
        "0",
        "1800",
        "bronze",
        [("main", "0", "0"), ("cafe", "0", "0")],
    )
    entries = await ledger_entries(api, by_mobile(mobile))
    assert {(entry["eventType"], entry["points"]) for entry in entries} == {("CUSTOMER_REGISTRATION", "0")}


async def test_a_second_non_loyalty_bill_keeps_them_known_and_adds_to_their_lifetime_purchases(api):
    mobile = new_mobile()
    first = await post(api, mobile, "NON_LOYALTY")

    second = await post(api, mobile, "NON_LOYALTY", amount="700", lineItems=[])

    assert second["sideEffects"] == [
        {"__typename": "CustomerSideEffect", "registered": False, "loyaltyType": "NON_LOYALTY"}
    ]
    assert second["customer"]["userId"] == first["customer"]["userId"]
    assert summary(second["customer"])[:4] == ("NON_LOYALTY", "0", "0", "2500")


async def test_a_loyalty_bill_enrols_them_with_their_history_and_earns_from_then_on_only(api):
    mobile = new_mobile()
    first = await post(api, mobile, "NON_LOYALTY")

    enrolled = await post(api, mobile)

    # The earlier bill does not earn retroactively: only this one's 18 points.
    assert enrolled["sideEffects"] == [
        {"__typename": "CustomerSideEffect", "registered": False, "loyaltyType": "LOYALTY"},
        {"__typename": "PointsSideEffect", "awardedPoints": "18"},
    ]
    assert enrolled["customer"]["userId"] == first["customer"]["userId"]
    assert summary(enrolled["customer"]) == (
        "LOYALTY",
        "18",
        "18",
        "3600",
        "bronze",
        [("main", "18", "1800"), ("cafe", "0", "0")],
    )
    customer = await customer_of(api, mobile)
    assert [
        (node["number"], node["eligibleAmount"], node["pointsEarned"]) for node in customer["transactions"]["nodes"]
    ] == [
        (enrolled["number"], "1800", "18"),
        (first["number"], "0", "0"),
    ]


async def test_register_customer_enrols_a_known_customer_with_their_bills_and_profile(api):
    mobile = new_mobile()
    first = await post(api, mobile, "NON_LOYALTY")

    result = (
        await api.data(
            REGISTER, {"input": {"firstname": "Asha", "lastname": "Rao", "mobile": mobile, "email": "asha@example.com"}}
        )
    )["registerCustomer"]

    assert result == {
        "__typename": "CustomerRegistered",
        "replayed": False,
        "customer": {"userId": first["customer"]["userId"], "type": "LOYALTY", "firstname": "Asha"},
    }
    customer = await customer_of(api, mobile)
    assert (customer["type"], customer["firstname"], customer["lastname"], customer["email"]) == (
        "LOYALTY",
        "Asha",
        "Rao",
        "asha@example.com",
    )
    assert [(node["number"], node["pointsEarned"]) for node in customer["transactions"]["nodes"]] == [
        (first["number"], "0")
    ]
    later = await post(api, mobile)
    assert (later["pointsEarned"], later["customer"]["loyaltyPoints"]) == ("18", "18")


async def test_register_customer_still_refuses_an_identifier_of_an_enrolled_customer(api, database):
    mobile = new_mobile()
    await post(api, mobile)
    before = await table_counts(database)

    result = (await api.data(REGISTER, {"input": {"firstname": "Asha", "mobile": mobile}}))["registerCustomer"]

    assert result == {"__typename": "ConflictError", "code": "IDENTIFIER_TAKEN", "field": "input.mobile"}
    assert await table_counts(database) == before


async def test_a_non_loyalty_bill_of_an_enrolled_customer_earns_and_leaves_them_enrolled(api):
    mobile = new_mobile()
    await post(api, mobile)

    again = await post(api, mobile, "NON_LOYALTY")

    assert again["sideEffects"] == [
        {"__typename": "CustomerSideEffect", "registered": False, "loyaltyType": "LOYALTY"},
        {"__typename": "PointsSideEffect", "awardedPoints": "18"},
    ]
    assert summary(again["customer"])[:4] == ("LOYALTY", "36", "36", "3600")


async def test_a_return_of_a_non_loyalty_bill_takes_back_its_purchases_and_no_points(api):
    mobile = new_mobile()
    bought = await post(api, mobile, "NON_LOYALTY")
    await post(api, mobile)  # enrolled since: the return must not touch what the later bill earned
    document = {
        "type": "RETURN",
        "returnType": "FULL",
        "number": bought["number"],
        "purchaseTime": purchase_day({"billingTime": (await _billing_time(api, mobile, bought["number"]))}),
        "tillCode": "till-1",
        "customer": {"mobile": mobile},
    }

    result = (await api.data(RETURN_TRANSACTION, {"input": document}))["returnTransaction"]

    assert (result["__typename"], result["pointsReturned"], result["transaction"]["eligibleAmount"]) == (
        "TransactionReturned",
        "0",
        "0",
    )
    customer = result["transaction"]["customer"]
    assert (customer["loyaltyPoints"], customer["lifetimePurchases"], customer["currentSlab"]) == (
        "18",
        "1800",
        "bronze",
    )
    assert [(row["programCode"], row["cumulativePurchases"]) for row in customer["pointsSummaries"]] == [
        ("main", "1800"),
        ("cafe", "0"),
    ]


async def _billing_time(api, mobile, number):
    query = """
    query Bills($lookup: CustomerLookupInput!) {
      customer(lookup: $lookup) { ... on Customer { transactions(first: 10) { nodes { number billingTime } } } }
    }
    """
    nodes = (await api.data(query, {"lookup": by_mobile(mobile)}))["customer"]["transactions"]["nodes"]
    return next(node["billingTime"] for node in nodes if node["number"] == number)


async def test_a_non_loyalty_bill_posted_again_replays_and_writes_nothing(api, database):
    mobile = new_mobile()
    document = bill(customer={"mobile": mobile, "type": "NON_LOYALTY"})
    first = await add(api, document)
    before = await table_counts(database)

    again = await add(api, document)

    assert (again["replayed"], again["transaction"]["id"]) == (True, first["transaction"]["id"])
    assert await table_counts(database) == before
