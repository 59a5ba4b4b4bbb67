"""Line items' extended and custom fields checked against what the organisation declares for
line items (issue 16): `level = "LINE_ITEM"` entries of [[extended_fields]] / [[custom_fields]],
strict per kind and level as the bill's own fields are (a kind with no line-item declaration
stays free), refused with the field's path on the line and nothing written."""

from __future__ import annotations

import functools

import pytest
from pydantic import ValidationError

from app.organizations.spec import OrganizationSpec
from tests.client import add_transaction
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile, org_spec
from tests.snapshots import table_counts
from tests.test_returns import purchase, return_of

PAIRS = "{ name value }"
ADD = f"""
mutation Add($input: TransactionAddInput!) {{
  addTransaction(input: $input) {{
    __typename
    ... on TransactionAdded {{
      transaction {{ number extendedFields {PAIRS} lineItems {{ serial extendedFields {PAIRS} customFields {PAIRS} }} }}
    }}
    ... on Error {{ code message field }}
  }}
}}
"""
CUSTOMER_LINES = f"""
query Lines($lookup: CustomerLookupInput!) {{
  customer(lookup: $lookup) {{
    ... on Customer {{
      transactions(first: 10) {{ nodes {{ lineItems {{ serial extendedFields {PAIRS} customFields {PAIRS} }} }} }}
    }}
  }}
}}
"""

# The bill declares its channel; line items their size (required), gift wrap and an engraving.
EXTENDED_FIELDS = [
    {"name": "channel", "type": "ENUM", "values": ["APP", "POS"]},
    {"name": "size", "type": "ENUM", "values": ["S", "M", "L"], "required": True, "level": "LINE_ITEM"},
    {"name": "gift_wrap", "type": "BOOLEAN", "level": "LINE_ITEM"},
]
CUSTOM_FIELDS = [{"name": "engraving", "type": "STRING", "level": "LINE_ITEM"}]

add = functools.partial(add_transaction, query=ADD)


@pytest.fixture
async def shop(org_api):
    spec = org_spec("shop")
    spec["extended_fields"] = EXTENDED_FIELDS
    spec["custom_fields"] = CUSTOM_FIELDS
    return await org_api(spec)


def sized(*sizes: str, **overrides) -> dict:
    """The test bill (3 lines) with each line's size."""
    document = bill(**overrides)
    for line, size in zip(document["lineItems"], sizes, strict=True):
        line["extendedFields"] = [{"name": "size", "value": size}]
    return document


def pairs(*items: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in items]


async def test_declared_line_item_fields_are_stored_and_returned_per_line(shop):
    mobile = new_mobile()
    document = sized("M", "L", "S", customer={"mobile": mobile}, extendedFields=pairs(("channel", "POS")))
    document["lineItems"][0]["extendedFields"].append({"name": "gift_wrap", "value": "true"})
    document["lineItems"][1]["customFields"] = pairs(("engraving", "T.S."))

    result = await add(shop, document)

    expected = [
        {"serial": 1, "extendedFields": pairs(("size", "M"), ("gift_wrap", "true")), "customFields": []},
        {"serial": 2, "extendedFields": pairs(("size", "L")), "customFields": pairs(("engraving", "T.S."))},
        {"serial": 3, "extendedFields": pairs(("size", "S")), "customFields": []},
    ]
    assert result["__typename"] == "TransactionAdded", result
    assert result["transaction"]["extendedFields"] == pairs(("channel", "POS"))
    assert result["transaction"]["lineItems"] == expected
    listed = (await shop.data(CUSTOMER_LINES, {"lookup": by_mobile(mobile)}))["customer"]["transactions"]["nodes"]
    assert listed == [{"lineItems": expected}]


@pytest.mark.parametrize(
    ("line", "extended", "custom", "field", "message"),
    [
        (
            1,
            pairs(("size", "M"), ("colour", "red")),
            [],
            "input.lineItems[1].extendedFields[1].name",
            "'colour' is not declared in the organisation's line items' extendedFields",
        ),
        (2, pairs(("size", "XL")), [], "input.lineItems[2].extendedFields[0].value", "must be one of S, M, L"),
        (
            0,
            pairs(("size", "M"), ("gift_wrap", "yes")),
            [],
            "input.lineItems[0].extendedFields[1].value",
            "must be true or false",
        ),
        (1, pairs(("gift_wrap", "true")), [], "input.lineItems[1].extendedFields", "the required size missing"),
        (
            0,
            pairs(("size", "M")),
            pairs(("engraving", "A"), ("engraving", "B")),
            "input.lineItems[0].customFields[1].name",
            "'engraving' is given twice",
        ),
        (
            2,
            pairs(("size", "M"), ("channel", "APP")),
            [],
            "input.lineItems[2].extendedFields[1].name",
            "'channel' is not declared in the organisation's line items' extendedFields",
        ),
    ],
    ids=["undeclared", "not an enum value", "not a boolean", "required missing", "twice", "a bill-level field"],
)
async def test_a_line_item_field_undeclared_of_the_wrong_type_or_missing_is_refused_naming_it_and_nothing_is_written(
    shop, database, line, extended, custom, field, message
):
    document = sized("S", "M", "L")
    document["lineItems"][line]["extendedFields"] = extended
    document["lineItems"][line]["customFields"] = custom
    before = await table_counts(database)

    result = await add(shop, document)

    assert result == {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "message": message, "field": field}
    assert await table_counts(database) == before


async def test_a_line_items_field_is_not_a_bill_field(shop, database):
    before = await table_counts(database)

    result = await add(shop, sized("S", "M", "L", extendedFields=pairs(("size", "M"))))

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "'size' is not declared in the organisation's extendedFields",
        "field": "input.extendedFields[0].name",
    }
    assert await table_counts(database) == before


async def test_an_organisation_declaring_only_bill_fields_keeps_line_items_free(org_api):
    spec = org_spec("billonly")
    spec["extended_fields"] = [EXTENDED_FIELDS[0]]
    billonly = await org_api(spec)
    document = bill(extendedFields=pairs(("channel", "APP")))
    document["lineItems"][0]["extendedFields"] = pairs(("anything", "at all"))
    document["lineItems"][0]["customFields"] = pairs(("free", "text"))

    result = await add(billonly, document)

    assert result["__typename"] == "TransactionAdded", result
    assert result["transaction"]["lineItems"][0] == {
        "serial": 1,
        "extendedFields": pairs(("anything", "at all")),
        "customFields": pairs(("free", "text")),
    }


async def test_an_exchanges_new_lines_are_checked_and_the_return_writes_nothing(shop, database):
    bought = await purchase(shop, **{key: value for key, value in sized("S", "M", "L").items() if key != "customer"})
    before = await table_counts(database)

    result = (
        await shop.data(
            RETURN_TRANSACTION,
            {
                "input": return_of(
                    bought,
                    "LINE_ITEM",
                    type="MIXED",
                    parentBillNumber="EX-1",
                    lineItems=[
                        {"type": "RETURN", "serial": 3, "qty": "1"},
                        {"type": "REGULAR", "itemCode": "SOCKS-02", "qty": "2", "rate": "250"},
                    ],
                )
            },
        )
    )["returnTransaction"]

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "the required size missing",
        "field": "input.lineItems[1].extendedFields",
    }
    assert await table_counts(database) == before


def test_an_earning_rule_cannot_name_a_line_item_field_and_a_name_is_declared_once_per_level():
    spec = org_spec("rules")
    spec["extended_fields"] = EXTENDED_FIELDS
    spec["programs"][0]["earning_rules"] = [
        {"name": "large", "conditions": [{"extended_field": "size", "value": "L"}], "earn_rate_multiplier": "2"}
    ]
    with pytest.raises(ValidationError, match="extended_field 'size' is not declared"):
        OrganizationSpec.model_validate(spec)
    twice = org_spec("twice")
    twice["extended_fields"] = [*EXTENDED_FIELDS, {"name": "size", "type": "STRING", "level": "LINE_ITEM"}]
    with pytest.raises(ValidationError, match="size"):
        OrganizationSpec.model_validate(twice)
    both_levels = org_spec("both")
    both_levels["extended_fields"] = [*EXTENDED_FIELDS, {"name": "size", "type": "STRING"}]
    assert [declared.level for declared in OrganizationSpec.model_validate(both_levels).extended_fields] == [
        "BILL",
        "LINE_ITEM",
        "LINE_ITEM",
        "BILL",
    ]
