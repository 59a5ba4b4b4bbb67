"""Alternate currencies earned by line rules (issue 16): a stamp per coffee, a rate on a brand's
lines, and returns taking back each line's share exactly.

The main program declares two currencies. `stamps` (whole units, rounded down) has no bill-level
rate: a line naming COFFEE or carrying category = coffee earns 1 stamp per unit of quantity, a
line whose declared LINE_ITEM extended field size is L earns 2 (a line matching both earns by the
one giving most). `miles` earns 0.01 per unit of the bill's eligible amount (whole, rounded down)
plus 0.05 per unit of the amount of each line carrying brand = acme.

The test bill, 1,410 (14 points at bronze):
  1 COFFEE      3 x 120 = 360    3 stamps (coffee rule)
  2 MOCHA-01    1 x 150 = 150    category = coffee and size L: 2 stamps (the large rule beats 1)
  3 MUG-01      3 x 300 = 900    brand = acme: 45 miles by its line
  4 COFFEE      1, free          nothing: a line earns only on what it cost
so 5 stamps, and 59 miles: 14 by the bill (1% of 1,410, rounded down) and 45 by the mugs.
A currency with both a rate and line rules earns both: they add up.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.organizations.spec import OrganizationSpec
from tests.conftest import make_org
from tests.factories import bill, new_mobile, org_spec
from tests.ledger_checks import assert_reconciled
from tests.test_alternate_currencies import (
    ADD,
    balance,
    currency_effects,
    currency_entries,
    main_currencies,
    post_return,
    return_of,
)

STAMPS = {
    "identifier": "stamps",
    "name": "Coffee stamps",
    "line_rules": [
        {
            "name": "a stamp per coffee",
            "item_codes": ["COFFEE"],
            "attributes": [{"name": "category", "value": "coffee"}],
            "units_per_quantity": "1",
        },
        {"name": "large drinks", "conditions": [{"extended_field": "size", "value": "L"}], "units_per_quantity": 2},
    ],
}
MILES = {
    "identifier": "miles",
    "name": "Miles",
    "earn_rate": "0.01",
    "line_rules": [{"name": "acme brand", "attributes": [{"name": "brand", "value": "acme"}], "earn_rate": "0.05"}],
}
LINE_FIELDS = [{"name": "size", "type": "ENUM", "values": ["S", "M", "L"], "level": "LINE_ITEM"}]


def line_rules_spec(currencies: list[dict] | None = None) -> dict:
    spec = org_spec("acme")
    spec["programs"][0]["alternate_currencies"] = currencies if currencies is not None else [STAMPS, MILES]
    spec["extended_fields"] = LINE_FIELDS
    return spec


@pytest.fixture
async def org(database):
    return await make_org(database, line_rules_spec())


def cafe_bill(mobile: str, **overrides) -> dict:
    return bill(
        customer={"mobile": mobile},
        amount="1410",
        grossAmount=None,
        discount=None,
        lineItems=[
            {"serial": 1, "itemCode": "COFFEE", "qty": "3", "rate": "120", "value": "360", "amount": "360"},
            {
                "serial": 2,
                "itemCode": "MOCHA-01",
                "qty": "1",
                "rate": "150",
                "value": "150",
                "amount": "150",
                "attributes": [{"name": "category", "value": "coffee"}],
                "extendedFields": [{"name": "size", "value": "L"}],
            },
            {
                "serial": 3,
                "itemCode": "MUG-01",
                "qty": "3",
                "rate": "300",
                "value": "900",
                "amount": "900",
                "attributes": [{"name": "brand", "value": "acme"}],
            },
            {"serial": 4, "itemCode": "COFFEE", "qty": "1", "rate": "0", "value": "0", "amount": "0"},
        ],
        **overrides,
    )


async def purchase(api, mobile: str, **overrides) -> dict:
    result = (await api.data(ADD, {"input": cafe_bill(mobile, **overrides)}))["addTransaction"]
    assert result["__typename"] == "TransactionAdded", result
    return result["transaction"]


def awarded(transaction: dict) -> list[tuple[str, str]]:
    return [
        (effect["alternateCurrencyIdentifier"], effect["awardedValue"])
        for effect in transaction["sideEffects"]
        if effect["__typename"] == "AlternateCurrencySideEffect"
    ]


def returned(result: dict) -> list[tuple[str, str, str]]:
    assert result.get("__typename") == "TransactionReturned", result
    return [
        (effect["alternateCurrencyIdentifier"], effect["returnedValue"], effect["valueNotRecovered"])
        for effect in currency_effects(result)
    ]


# --- Earning ----------------------------------------------------------------------------------


async def test_lines_earn_by_the_rule_giving_most_and_the_side_effect_reports_each_currencys_total(api, database):
    mobile = new_mobile()

    transaction = await purchase(api, mobile)

    # stamps: 3 coffees + the large mocha's 2 (its coffee rule would give 1); the free coffee none.
    # miles: 1% of 1,410 = 14.1 -> 14, plus 5% of the acme mugs' 900 = 45: 59.
    assert awarded(transaction) == [("stamps", "5"), ("miles", "59")]
    assert [effect["__typename"] for effect in transaction["sideEffects"]] == [
        "CustomerSideEffect",
        "AlternateCurrencySideEffect",
        "AlternateCurrencySideEffect",
        "PointsSideEffect",
    ]
    assert await main_currencies(api, mobile) == [
        balance("miles", "Miles", "59", "59"),
        balance("stamps", "Coffee stamps", "5", "5"),
    ]
    # One award event per currency, as for the bill-level rate.
    assert await currency_entries(api, mobile, "stamps") == [
        ("ALTERNATE_CURRENCY_AWARD", "POINTS_ALLOCATION", "CREDIT", "stamps", "5", "5"),
        ("ALTERNATE_CURRENCY_AWARD", "OPENING_BALANCE", "CREDIT", "stamps", "0", "0"),
    ]
    await assert_reconciled(database)


async def test_a_bill_without_matching_lines_earns_no_stamps_and_an_outlier_bill_earns_no_line_units(api, database):
    mobile = new_mobile()
    plain = bill(customer={"mobile": mobile}, amount="1800")  # shirts, jeans, socks: no rule matches
    plain_result = (await api.data(ADD, {"input": plain}))["addTransaction"]["transaction"]
    outlier = await purchase(api, mobile, outlierStatus="INTERNAL")

    assert awarded(plain_result) == [("miles", "18")]
    assert awarded(outlier) == []
    assert await main_currencies(api, mobile) == [balance("miles", "Miles", "18", "18")]
    await assert_reconciled(database)


# --- Returns ----------------------------------------------------------------------------------


async def test_line_returns_take_back_each_lines_share_cumulatively_and_a_full_return_the_rest(api, database):
    mobile = new_mobile()
    bought = await purchase(api, mobile)  # 5 stamps, 59 miles (14 by the bill, 45 by the mugs)

    def lines(*pairs: tuple[int, str]) -> dict:
        return {"lineItems": [{"serial": serial, "qty": qty} for serial, qty in pairs]}

    one_coffee = await post_return(api, return_of(bought, mobile, "LINE_ITEM", **lines((1, "1"))))
    one_mug = await post_return(api, return_of(bought, mobile, "LINE_ITEM", **lines((3, "1"))))
    second_coffee_and_mug = await post_return(api, return_of(bought, mobile, "LINE_ITEM", **lines((1, "1"), (3, "1"))))
    rest = await post_return(api, return_of(bought, mobile, "FULL"))

    # 1 of 3 coffees: 1 stamp. Miles by the bill: floor(14 x 120 / 1,410) = 1.
    assert returned(one_coffee) == [("stamps", "1", "0"), ("miles", "1", "0")]
    # 1 of 3 mugs: floor(45 / 3) = 15 by the line; by the bill floor(14 x 420 / 1,410) = 4, 3 more.
    assert returned(one_mug) == [("miles", "18", "0")]  # no stamp due: no currency side effect
    # 2 of 3 coffees: 2 stamps, 1 more. 2 of 3 mugs: 30 by the line (15 more); by the bill
    # floor(14 x 840 / 1,410) = 8 (4 more).
    assert returned(second_coffee_and_mug) == [("stamps", "1", "0"), ("miles", "19", "0")]
    # The bill is back: the rest of each award (3 stamps: the last coffee's 1 and the mocha's 2).
    assert returned(rest) == [("stamps", "3", "0"), ("miles", "21", "0")]
    assert await main_currencies(api, mobile) == [
        balance("miles", "Miles", "0", "59", returned="59"),
        balance("stamps", "Coffee stamps", "0", "5", returned="5"),
    ]
    await assert_reconciled(database)


async def test_returning_a_whole_line_at_once_takes_back_what_it_earned_and_no_more(api, database):
    mobile = new_mobile()
    bought = await purchase(api, mobile)

    mocha = await post_return(api, return_of(bought, mobile, "LINE_ITEM", lineItems=[{"serial": 2, "qty": "1"}]))
    coffees = await post_return(api, return_of(bought, mobile, "LINE_ITEM", lineItems=[{"serial": 1, "qty": "3"}]))

    # The mocha's 2 stamps; miles by the bill floor(14 x 150 / 1,410) = 1.
    assert returned(mocha) == [("stamps", "2", "0"), ("miles", "1", "0")]
    # The 3 coffees' 3 stamps; miles floor(14 x 510 / 1,410) = 5, 4 more.
    assert returned(coffees) == [("stamps", "3", "0"), ("miles", "4", "0")]
    assert (await main_currencies(api, mobile))[1] == balance("stamps", "Coffee stamps", "0", "5", returned="5")
    await assert_reconciled(database)


async def test_an_amount_return_takes_back_the_bill_level_part_only_until_the_bill_is_all_back(api, database):
    mobile = new_mobile()
    bought = await purchase(api, mobile)

    part = await post_return(api, return_of(bought, mobile, "AMOUNT", amount="705"))
    rest = await post_return(api, return_of(bought, mobile, "AMOUNT", amount="705"))

    # Half the amount, naming no line: half the bill-level 14 miles, no line's units.
    assert returned(part) == [("miles", "7", "0")]
    assert returned(rest) == [("stamps", "5", "0"), ("miles", "52", "0")]
    await assert_reconciled(database)


# --- The organisation file ----------------------------------------------------------------------


def refusal(currencies: list[dict], **spec_changes) -> str:
    spec = {**line_rules_spec(currencies), **spec_changes}
    with pytest.raises(ValidationError) as raised:
        OrganizationSpec.model_validate(spec)
    return str(raised.value)


def stamps_with(**rule) -> list[dict]:
    return [{**STAMPS, "line_rules": [{"name": "r", "item_codes": ["COFFEE"], "units_per_quantity": "1", **rule}]}]


@pytest.mark.parametrize(
    ("currencies", "location", "message"),
    [
        (
            stamps_with(earn_rate="0.1"),
            "programs.0.alternate_currencies.0.line_rules.0",
            "line rule 'r': give one of units_per_quantity or earn_rate",
        ),
        (
            stamps_with(units_per_quantity=None),
            "programs.0.alternate_currencies.0.line_rules.0",
            "line rule 'r': give one of units_per_quantity or earn_rate",
        ),
        (
            stamps_with(item_codes=[]),
            "programs.0.alternate_currencies.0.line_rules.0",
            "line rule 'r': name the lines it rewards by item_codes, attributes or conditions",
        ),
        (
            stamps_with(units_per_quantity="0"),
            "programs.0.alternate_currencies.0.line_rules.0.units_per_quantity",
            "Input should be greater than 0",
        ),
        (
            stamps_with(colour="red"),
            "programs.0.alternate_currencies.0.line_rules.0.colour",
            "Extra inputs are not permitted",
        ),
        (
            stamps_with(conditions=[{"extended_field": "flavour", "value": "x"}]),
            None,  # the file as a whole: the message names the key
            "program main, currency stamps, line rule 'r': line item extended_field 'flavour' is not declared",
        ),
        (
            stamps_with(conditions=[{"extended_field": "size", "value": "XL"}]),
            None,  # the file as a whole: the message names the key
            "program main, currency stamps, line rule 'r': size must be one of S, M, L",
        ),
        (
            stamps_with(conditions=[{"payment_mode": "CASH"}]),
            None,  # the file as a whole: the message names the key
            "program main, currency stamps, line rule 'r': payment_mode is a bill's condition, not a line's",
        ),
        (
            [{**STAMPS, "line_rules": STAMPS["line_rules"] * 2}],
            "programs.0.alternate_currencies.0",
            "duplicate alternate currency stamps line rule 'a stamp per coffee'",
        ),
    ],
)
def test_a_bad_line_rule_is_refused_when_the_file_loads_naming_its_key(currencies, location, message):
    text = refusal(currencies)

    assert location is None or location in text
    assert message in text


def test_a_line_rule_reads_only_line_item_fields_not_the_bills_own():
    bill_level = [{"name": "size", "type": "ENUM", "values": ["S", "M", "L"]}]

    text = refusal(stamps_with(conditions=[{"extended_field": "size", "value": "L"}]), extended_fields=bill_level)

    assert "line item extended_field 'size' is not declared" in text
