"""demo/org.toml shows the settings of issue 16 (bill and line-item fields, payment modes, an
earning rule, a referral program, an alternate currency, the strict check and the `*_from`
settings) and still serves the README's example bill: loaded and applied as `pointledger demo`
applies it, then used through the API."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.organizations.models import FieldLevel
from app.organizations.roles import ALL_ROLES
from app.organizations.service import apply_spec, create_api_key
from app.organizations.spec import load_spec_file
from tests.client import Api, Credentials
from tests.conftest import TEST_NOW

DEMO_ORG_FILE = Path(__file__).resolve().parents[1] / "demo" / "org.toml"

ADD = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      transaction {
        customer { userId referralCode }
        sideEffects {
          __typename
          ... on PointsSideEffect { awardedPoints }
          ... on AlternateCurrencySideEffect { alternateCurrencyIdentifier awardedValue }
          ... on ReferralSideEffect { awardedPoints isReferrer }
        }
      }
    }
    ... on Error { code message field }
  }
}
"""


@pytest.fixture
async def demo(app_client, database, clock) -> Api:
    """The demo organisation, applied from the file as `pointledger demo` applies it."""
    spec = load_spec_file(DEMO_ORG_FILE)

    async def work(connection: Any) -> Credentials:
        report = await apply_spec(connection, spec, now=TEST_NOW)
        key = await create_api_key(connection, report.org_id, "tests", now=TEST_NOW, roles=ALL_ROLES)
        return Credentials(report.org_id, key.key_id, key.secret)

    return Api(app_client, await database.run_write(work), database, clock)


def readme_bill(mobile: str, **overrides: Any) -> dict[str, Any]:
    """The README's example variables (Using the API)."""
    return {
        "number": f"BILL-{mobile}",
        "tillCode": "mumbai-01-till-1",
        "amount": "1800",
        "customer": {"mobile": mobile, "firstname": "Tom", "lastname": "Sawyer"},
        "lineItems": [{"itemCode": "SHIRT-01", "qty": "2", "rate": "900"}],
        **overrides,
    }


async def add(api: Api, document: dict[str, Any]) -> dict[str, Any]:
    return (await api.data(ADD, {"input": document}))["addTransaction"]


def points_awarded(answer: dict[str, Any]) -> list[str]:
    assert answer["__typename"] == "TransactionAdded", answer
    return [
        effect["awardedPoints"]
        for effect in answer["transaction"]["sideEffects"]
        if effect["__typename"] == "PointsSideEffect"
    ]


def test_the_demo_file_shows_the_settings_of_issue_16():
    spec = load_spec_file(DEMO_ORG_FILE)
    rewards, cafe = spec.programs

    assert spec.organization.primary_identifier_strict_check is False
    assert (rewards.hold_from, rewards.expiry_from, rewards.group_points) == ("BILLING_TIME", "BILLING_TIME", "MEMBER")
    assert [(rule.name, rule.earn_rate_multiplier) for rule in rewards.earning_rules] == [("card double", 2)]
    assert [(field.name, field.type, field.level, field.required) for field in spec.extended_fields] == [
        ("channel", "ENUM", FieldLevel.BILL, False),
        ("gift_wrap", "BOOLEAN", FieldLevel.LINE_ITEM, False),
    ]
    assert [field.name for field in spec.custom_fields] == ["campaign"]
    assert [mode.code for mode in spec.payment_modes] == ["CASH", "CARD", "UPI"]
    assert cafe.referral is not None
    assert (cafe.referral.referrer_points, cafe.referral.referee_points, cafe.referral.minimum_amount) == (50, 20, 200)
    assert [(currency.identifier, currency.earn_rate) for currency in cafe.alternate_currencies] == [
        ("stamps", Decimal("0.01"))
    ]
    assert [
        (rule.name, rule.item_codes, [(pair.name, pair.value) for pair in rule.attributes], rule.units_per_quantity)
        for rule in cafe.alternate_currencies[0].line_rules
    ] == [("a stamp per coffee", ["COFFEE"], [("category", "coffee")], 1)]
    assert spec.webhooks.allow_private_addresses is False


async def test_the_readmes_example_bill_posts_and_a_card_payment_earns_double(demo):
    plain = await add(demo, readme_bill("9999000001"))
    by_card = await add(demo, readme_bill("9999000002", paymentDetails=[{"mode": "CARD", "value": "1800"}]))

    assert points_awarded(plain) == ["18"]
    assert points_awarded(by_card) == ["36"]


async def test_the_demo_refuses_undeclared_fields_and_modes_naming_them(demo):
    line = {
        "itemCode": "SHIRT-01",
        "qty": "2",
        "rate": "900",
        "extendedFields": [{"name": "gift_wrap", "value": "yes"}],
    }

    answers = [
        await add(demo, readme_bill("9999000003", extendedFields=[{"name": "colour", "value": "red"}])),
        await add(demo, readme_bill("9999000004", lineItems=[line])),
        await add(demo, readme_bill("9999000005", paymentDetails=[{"mode": "CHEQUE", "value": "1800"}])),
    ]

    assert [(answer["code"], answer["field"]) for answer in answers] == [
        ("INVALID_INPUT", "input.extendedFields[0].name"),
        ("INVALID_INPUT", "input.lineItems[0].extendedFields[0].value"),
        ("INVALID_INPUT", "input.paymentDetails[0].mode"),
    ]


async def test_a_friend_referred_to_the_cafe_earns_stamps_and_both_are_awarded(demo):
    referrer = await add(demo, readme_bill("9999000006", tillCode="mumbai-01-cafe", amount="300", lineItems=[]))
    code = referrer["transaction"]["customer"]["referralCode"]

    friend = await add(
        demo,
        readme_bill(
            "9999000007",
            tillCode="mumbai-01-cafe",
            amount="300",
            lineItems=[],
            customer={"mobile": "9999000007", "referralCode": code},
        ),
    )

    assert friend["__typename"] == "TransactionAdded", friend
    effects = friend["transaction"]["sideEffects"]
    assert [effect for effect in effects if effect["__typename"] == "AlternateCurrencySideEffect"] == [
        {"__typename": "AlternateCurrencySideEffect", "alternateCurrencyIdentifier": "stamps", "awardedValue": "3"}
    ]
    assert [
        (effect["awardedPoints"], effect["isReferrer"])
        for effect in effects
        if effect["__typename"] == "ReferralSideEffect"
    ] == [("20", False), ("50", True)]


async def test_a_cafe_bill_earns_a_stamp_per_coffee_beside_one_per_100(demo):
    coffees = [
        {"itemCode": "COFFEE", "qty": "2", "rate": "120"},
        {"itemCode": "MOCHA", "qty": "1", "rate": "160", "attributes": [{"name": "category", "value": "coffee"}]},
        {"itemCode": "CAKE", "qty": "1", "rate": "120"},
    ]

    answer = await add(demo, readme_bill("9999000008", tillCode="mumbai-01-cafe", amount="520", lineItems=coffees))

    assert answer["__typename"] == "TransactionAdded", answer
    # floor(520 / 100) = 5 by the bill, and 3 coffees (the cake earns none by line): 8.
    assert [
        (effect["alternateCurrencyIdentifier"], effect["awardedValue"])
        for effect in answer["transaction"]["sideEffects"]
        if effect["__typename"] == "AlternateCurrencySideEffect"
    ] == [("stamps", "8")]
