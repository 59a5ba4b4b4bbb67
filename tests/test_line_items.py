"""Add-on, combo and split items (seed 001's addon_items, combo_items, split_items) through the API:
what each earns, what a return of their line takes back, and what is stored and read back.

The test org's main program earns 1 point per 100 at bronze, rounded down (FLOOR).
"""

from __future__ import annotations

from tests.client import add, add_transaction, purchase_day
from tests.factories import bill, by_mobile, new_mobile
from tests.snapshots import table_counts

SUB_ITEM_FIELDS = "itemCode quantity rate value description outlierStatus"
LINE_FIELDS = (
    f"serial itemCode qty amount lineType returnsSerial returnedQty addonItems {{ {SUB_ITEM_FIELDS} }} "
    f"comboItems {{ {SUB_ITEM_FIELDS} }} splitItems {{ {SUB_ITEM_FIELDS} }}"
)

ADD_WITH_SUB_ITEMS = f"""
mutation Add($input: TransactionAddInput!) {{
  addTransaction(input: $input) {{
    __typename
    ... on TransactionAdded {{
      transaction {{
        id number tillCode billingTime amount eligibleAmount pointsEarned
        lineItems {{ {LINE_FIELDS} }}
        customer {{ loyaltyPoints lifetimePurchases }}
      }}
    }}
    ... on Error {{ code message field }}
  }}
}}
"""

RETURN_WITH_SUB_ITEMS = f"""
mutation Return($input: TransactionReturnInput!) {{
  returnTransaction(input: $input) {{
    __typename
    ... on TransactionReturned {{
      pointsReturned
      transaction {{ amount eligibleAmount returnedPoints lineItems {{ {LINE_FIELDS} }} customer {{ loyaltyPoints }} }}
      returnedTransaction {{ returnedAmount returnedPoints lineItems {{ serial returnedQty }} }}
    }}
    ... on Error {{ code message field }}
  }}
}}
"""

CUSTOMER_BILLS = f"""
query Bills($lookup: CustomerLookupInput!) {{
  customer(lookup: $lookup) {{
    ... on Customer {{ transactions(first: 10) {{ nodes {{ number lineItems {{ {LINE_FIELDS} }} }} }} }}
  }}
}}
"""


def sub_item(item_code, quantity, value=None, rate=None, description=None, outlier_status="NORMAL"):
    """A sub-item as the API reads it back."""
    return {
        "itemCode": item_code,
        "quantity": quantity,
        "rate": rate,
        "value": value,
        "description": description,
        "outlierStatus": outlier_status,
    }


async def posted(api, line, amount):
    """A bill of one line for a new customer: the added transaction (with its customer's mobile)."""
    mobile = new_mobile()
    document = bill(customer={"mobile": mobile}, amount=amount, grossAmount=None, discount=None, lineItems=[line])
    result = await add_transaction(api, document, query=ADD_WITH_SUB_ITEMS)
    assert result["__typename"] == "TransactionAdded", result
    return {**result["transaction"], "mobile": mobile}


async def return_lines(api, bought, *lines, return_type="LINE_ITEM"):
    document = {
        "type": "RETURN",
        "returnType": return_type,
        "number": bought["number"],
        "purchaseTime": purchase_day(bought),
        "tillCode": bought["tillCode"],
        "customer": {"mobile": bought["mobile"]},
        "lineItems": [{"serial": serial, "qty": qty} for serial, qty in lines],
    }
    return (await api.data(RETURN_WITH_SUB_ITEMS, {"input": document}))["returnTransaction"]


def sub_items_of(line):
    return {name: line[name] for name in ("addonItems", "comboItems", "splitItems")}


# --- Add-ons --------------------------------------------------------------------------------

PIZZAS = {
    "serial": 1,
    "itemCode": "PIZZA-01",
    "qty": "2",
    "rate": "500",
    "amount": "1000",
    "addonItems": [
        {"itemCode": "CHEESE", "quantity": "2", "value": "200", "description": "extra cheese"},
        {"itemCode": "TOPPING", "quantity": "1", "rate": "100"},
        {"itemCode": "GIFT-WRAP", "quantity": "1", "value": "300", "outlierStatus": "INTERNAL"},
    ],
}


async def test_add_ons_are_charged_on_top_of_their_line_and_earn_unless_their_status_does_not(api):
    bought = await posted(api, PIZZAS, amount="1600")

    # 1000 for the pizzas + 200 cheese + 100 topping (rate x quantity); the INTERNAL gift wrap does not earn.
    assert (bought["eligibleAmount"], bought["pointsEarned"], bought["customer"]["loyaltyPoints"]) == (
        "1300",
        "13",
        "13",
    )
    assert sub_items_of(bought["lineItems"][0]) == {
        "addonItems": [
            sub_item("CHEESE", "2", value="200", description="extra cheese"),
            sub_item("TOPPING", "1", rate="100"),
            sub_item("GIFT-WRAP", "1", value="300", outlier_status="INTERNAL"),
        ],
        "comboItems": [],
        "splitItems": [],
    }


async def test_returning_part_of_a_line_returns_its_add_ons_in_proportion_and_the_rest_returns_the_remainder(api):
    bought = await posted(api, PIZZAS, amount="1600")

    half = await return_lines(api, bought, (1, "1"))
    rest = await return_lines(api, bought, (1, "1"))

    # Half of 1600 is worth 800, of which 650 had earned: floor(13 x 650 / 1300) = 6 points; the rest 7.
    assert (half["__typename"], half["pointsReturned"], half["transaction"]["amount"]) == (
        "TransactionReturned",
        "6",
        "800",
    )
    assert (half["transaction"]["eligibleAmount"], half["transaction"]["customer"]["loyaltyPoints"]) == ("650", "7")
    assert sub_items_of(half["transaction"]["lineItems"][0]) == {
        "addonItems": [
            sub_item("CHEESE", "1", value="100", description="extra cheese"),
            sub_item("TOPPING", "0.5", rate="100"),
            sub_item("GIFT-WRAP", "0.5", value="150", outlier_status="INTERNAL"),
        ],
        "comboItems": [],
        "splitItems": [],
    }
    assert (rest["pointsReturned"], rest["transaction"]["amount"], rest["transaction"]["eligibleAmount"]) == (
        "7",
        "800",
        "650",
    )
    assert rest["transaction"]["customer"]["loyaltyPoints"] == "0"
    assert (rest["returnedTransaction"]["returnedAmount"], rest["returnedTransaction"]["returnedPoints"]) == (
        "1600",
        "13",
    )


# --- Combos ---------------------------------------------------------------------------------

COMBOS = {
    "serial": 1,
    "itemCode": "COMBO-22",
    "qty": "2",
    "rate": "1500",
    "amount": "3000",
    "comboItems": [
        {"itemCode": "SHIRT-01", "quantity": "2", "value": "1800"},
        {"itemCode": "PANT-01", "quantity": "2", "value": "1200"},
    ],
}


async def test_a_combo_earns_once_on_its_amount_and_keeps_its_parts_readable_on_the_customers_bills(api):
    bought = await posted(api, COMBOS, amount="3000")

    bills = (await api.data(CUSTOMER_BILLS, {"lookup": by_mobile(bought["mobile"])}))["customer"]["transactions"]

    assert (bought["eligibleAmount"], bought["pointsEarned"], bought["customer"]["loyaltyPoints"]) == (
        "3000",
        "30",
        "30",
    )
    parts = [sub_item("SHIRT-01", "2", value="1800"), sub_item("PANT-01", "2", value="1200")]
    assert bought["lineItems"][0]["comboItems"] == parts
    assert [(node["number"], node["lineItems"][0]["comboItems"]) for node in bills["nodes"]] == [
        (bought["number"], parts)
    ]


async def test_a_return_of_a_combo_returns_its_parts_and_a_full_return_the_rest(api):
    bought = await posted(api, COMBOS, amount="3000")

    one = await return_lines(api, bought, (1, "1"))
    rest = await return_lines(api, bought, return_type="FULL")

    assert (one["pointsReturned"], one["transaction"]["amount"], one["transaction"]["customer"]["loyaltyPoints"]) == (
        "15",
        "1500",
        "15",
    )
    assert one["transaction"]["lineItems"][0]["comboItems"] == [
        sub_item("SHIRT-01", "1", value="900"),
        sub_item("PANT-01", "1", value="600"),
    ]
    remainder = rest["transaction"]
    assert (rest["pointsReturned"], remainder["amount"], remainder["customer"]["loyaltyPoints"]) == ("15", "1500", "0")
    assert [(line["returnsSerial"], line["qty"], line["comboItems"]) for line in rest["transaction"]["lineItems"]] == [
        (1, "1", [sub_item("SHIRT-01", "1", value="900"), sub_item("PANT-01", "1", value="600")])
    ]
    assert rest["returnedTransaction"]["lineItems"] == [{"serial": 1, "returnedQty": "2"}]


async def test_a_part_of_a_combo_is_not_returned_alone(api, database):
    bought = await posted(api, COMBOS, amount="3000")
    before = await table_counts(database)

    document = {
        "type": "RETURN",
        "returnType": "LINE_ITEM",
        "number": bought["number"],
        "purchaseTime": purchase_day(bought),
        "tillCode": bought["tillCode"],
        "customer": {"mobile": bought["mobile"]},
        "lineItems": [{"itemCode": "SHIRT-01", "qty": "1"}],
    }
    result = (await api.data(RETURN_WITH_SUB_ITEMS, {"input": document}))["returnTransaction"]

    assert (result["__typename"], result["code"], result["field"]) == (
        "NotFoundError",
        "LINE_ITEM_NOT_FOUND",
        "input.lineItems[0].itemCode",
    )
    assert await table_counts(database) == before


async def test_combo_parts_whose_values_do_not_add_up_to_the_line_are_refused_and_nothing_is_written(api, database):
    await posted(api, COMBOS, amount="3000")
    before = await table_counts(database)
    line = {**COMBOS, "comboItems": [{**COMBOS["comboItems"][0]}, {**COMBOS["comboItems"][1], "value": "1000"}]}

    result = await add_transaction(api, bill(amount="3000", lineItems=[line]), query=ADD_WITH_SUB_ITEMS)

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "the combo's parts are worth 2800 but the line's value is 3000: they must add up to it",
        "field": "input.lineItems[0].comboItems",
    }
    assert await table_counts(database) == before


async def test_combo_parts_without_values_only_list_what_the_bundle_holds(api):
    line = {**COMBOS, "comboItems": [{"itemCode": "SOAP-01", "quantity": "5"}]}

    bought = await posted(api, line, amount="3000")

    assert (bought["pointsEarned"], bought["lineItems"][0]["comboItems"]) == ("30", [sub_item("SOAP-01", "5")])


# --- Split items ----------------------------------------------------------------------------

NECKLACES = {
    "serial": 1,
    "itemCode": "NECKLACE-01",
    "qty": "2",
    "rate": "5000",
    "discount": "1000",
    "splitItems": [
        {"itemCode": "GOLD-RATE", "quantity": "2", "value": "8000", "outlierStatus": "INTERNAL"},
        {"itemCode": "MAKING-CHARGE", "quantity": "2", "value": "1500"},
        {"itemCode": "WASTAGE", "quantity": "2", "rate": "250"},
    ],
}


async def test_a_split_item_earns_on_its_share_of_the_line_amount(api):
    bought = await posted(api, NECKLACES, amount="9000")

    # 9000 after the discount; the making charge and wastage are 2000 of the 10000 value: 1800 earns.
    assert (bought["eligibleAmount"], bought["pointsEarned"]) == ("1800", "18")
    assert bought["customer"]["lifetimePurchases"] == "9000"
    assert bought["lineItems"][0]["splitItems"] == [
        sub_item("GOLD-RATE", "2", value="8000", outlier_status="INTERNAL"),
        sub_item("MAKING-CHARGE", "2", value="1500"),
        sub_item("WASTAGE", "2", rate="250"),
    ]


async def test_a_partial_return_of_a_split_line_takes_back_its_share_of_the_points(api):
    bought = await posted(api, NECKLACES, amount="9000")

    one = await return_lines(api, bought, (1, "1"))
    other = await return_lines(api, bought, (1, "1"))

    assert (one["pointsReturned"], one["transaction"]["amount"], one["transaction"]["eligibleAmount"]) == (
        "9",
        "4500",
        "900",
    )
    assert one["transaction"]["lineItems"][0]["splitItems"] == [
        sub_item("GOLD-RATE", "1", value="4000", outlier_status="INTERNAL"),
        sub_item("MAKING-CHARGE", "1", value="750"),
        sub_item("WASTAGE", "1", rate="250"),
    ]
    assert (other["pointsReturned"], other["transaction"]["customer"]["loyaltyPoints"]) == ("9", "0")


async def test_split_items_that_do_not_add_up_to_the_line_are_refused_and_nothing_is_written(api, database):
    await posted(api, NECKLACES, amount="9000")
    before = await table_counts(database)
    line = {**NECKLACES, "splitItems": NECKLACES["splitItems"][:2]}

    result = await add_transaction(api, bill(amount="9000", lineItems=[line]), query=ADD_WITH_SUB_ITEMS)

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "the split items are worth 9500 but the line's value is 10000: they must add up to it",
        "field": "input.lineItems[0].splitItems",
    }
    assert await table_counts(database) == before


async def test_a_sub_item_without_an_item_code_is_refused_naming_it(api, database):
    before = await table_counts(database)
    line = {**PIZZAS, "addonItems": [{"itemCode": " ", "quantity": "1"}]}

    result = await add_transaction(api, bill(amount="1000", lineItems=[line]), query=ADD_WITH_SUB_ITEMS)

    assert (result["__typename"], result["code"], result["field"]) == (
        "InvalidInputError",
        "INVALID_INPUT",
        "input.lineItems[0].addonItems[0].itemCode",
    )
    assert await table_counts(database) == before


async def test_a_bill_with_sub_items_posted_again_replays(api):
    document = bill(customer={"mobile": new_mobile()}, amount="3000", lineItems=[COMBOS])
    first = await add(api, document)

    again = await add(api, document)

    assert (again["replayed"], again["transaction"]["id"]) == (True, first["transaction"]["id"])
