"""Seed 001's bill fields that were only stored (issue 16): extended fields, custom fields and
payment details checked against what the organisation declares ([[extended_fields]],
[[custom_fields]], [[payment_modes]]), returned by addTransaction and the transaction queries,
and read by the programs' earning rules and the promotions' bill conditions."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from app.kernel.enums import IdentifierType
from app.organizations.spec import OrganizationSpec
from app.transactions.inputs import CustomerInput, LineItemInput, TransactionInput
from app.transactions.models import DeliveryStatus, LineItemType, ReturnType, TransactionType
from app.transactions.return_rules import ReturnInput, ReturnLineInput
from app.transactions.return_rules import payload_hash as return_payload_hash
from app.transactions.rules import payload_hash
from tests.client import add_transaction
from tests.conftest import TEST_NOW
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile, org_spec
from tests.snapshots import table_counts

FIELDS_OUT = "extendedFields { name value } customFields { name value } paymentDetails { mode value notes }"
ADD = f"""
mutation Add($input: TransactionAddInput!) {{
  addTransaction(input: $input) {{
    __typename
    ... on TransactionAdded {{
      transaction {{
        number promoDiscount {FIELDS_OUT}
        sideEffects {{
          __typename
          ... on PointsSideEffect {{ awardedPoints }}
          ... on PromoCodeSideEffect {{ code discount }}
        }}
      }}
    }}
    ... on Error {{ code message field }}
  }}
}}
"""
CUSTOMER_BILLS = f"""
query Bills($lookup: CustomerLookupInput!) {{
  customer(lookup: $lookup) {{
    ... on Customer {{ transactions(first: 10) {{ nodes {{ number {FIELDS_OUT} }} }} }}
  }}
}}
"""
CREATE_PROMOTION = """
mutation Create($input: CartPromotionInput!) {
  createPromotion(input: $input) {
    __typename
    ... on CartPromotionCreated { promotion { name billConditions { kind name value } } }
    ... on Error { code message field }
  }
}
"""

EXTENDED_FIELDS = [
    {"name": "channel", "type": "ENUM", "values": ["APP", "WEB", "POS"], "required": True},
    {"name": "gift_wrap", "type": "BOOLEAN"},
    {"name": "order_weight", "type": "NUMBER"},
    {"name": "delivery_date", "type": "DATE"},
]
CUSTOM_FIELDS = [{"name": "campaign", "type": "STRING"}]
PAYMENT_MODES = [{"code": "CASH", "name": "Cash"}, {"code": "CARD"}, {"code": "UPI"}]
EARNING_RULES = [
    {"name": "card double", "conditions": [{"payment_mode": "CARD"}], "earn_rate_multiplier": "2"},
    {
        "name": "app Diwali triple",
        "conditions": [{"extended_field": "channel", "value": "APP"}, {"custom_field": "campaign", "value": "DIWALI"}],
        "earn_rate_multiplier": "3",
    },
]


def shop_spec(code: str = "shop") -> dict:
    spec = org_spec(code)
    spec["extended_fields"] = EXTENDED_FIELDS
    spec["custom_fields"] = CUSTOM_FIELDS
    spec["payment_modes"] = PAYMENT_MODES
    spec["programs"][0]["earning_rules"] = EARNING_RULES
    return spec


@pytest.fixture
async def shop(org_api):
    """An organisation declaring bill fields, payment modes and earning rules on them."""
    return await org_api(shop_spec())


def shop_bill(extended=None, custom=None, payments=None, **overrides):
    """A 1,800 bill at till-1 (bronze earns 18 main points on it), channel POS unless told."""
    return bill(
        extendedFields=[{"name": "channel", "value": "POS"}] if extended is None else extended,
        customFields=custom or [],
        paymentDetails=payments or [],
        **overrides,
    )


add = functools.partial(add_transaction, query=ADD)


def awarded_points(result):
    assert result["__typename"] == "TransactionAdded", result
    return [effect["awardedPoints"] for effect in result["transaction"]["sideEffects"] if "awardedPoints" in effect]


# --- Declared fields: stored, returned ------------------------------------------------------


async def test_declared_fields_and_payments_come_back_from_the_bill_and_the_customers_transactions(shop):
    mobile = new_mobile()
    extended = [
        {"name": "channel", "value": "WEB"},
        {"name": "gift_wrap", "value": "true"},
        {"name": "order_weight", "value": "2.750"},
        {"name": "delivery_date", "value": "2026-12-24"},
    ]
    custom = [{"name": "campaign", "value": "Winter sale"}]
    payments = [{"mode": "CARD", "value": "1000", "notes": "visa"}, {"mode": "UPI", "value": "800"}]
    document = shop_bill(extended, custom, payments, number="FIELDS-1", customer={"mobile": mobile})

    result = await add(shop, document)

    expected = {
        "extendedFields": extended,
        "customFields": custom,
        "paymentDetails": [
            {"mode": "CARD", "value": "1000", "notes": "visa"},
            {"mode": "UPI", "value": "800", "notes": None},
        ],
    }
    assert result["__typename"] == "TransactionAdded", result
    assert {name: result["transaction"][name] for name in expected} == expected
    listed = (await shop.data(CUSTOMER_BILLS, {"lookup": by_mobile(mobile)}))["customer"]["transactions"]["nodes"]
    assert listed == [{"number": "FIELDS-1", **expected}]


async def test_an_organisation_declaring_no_bill_fields_stores_any_pairs_and_modes_as_sent(api):
    extended = [{"name": "anything", "value": "at all"}]
    payments = [{"mode": "VOUCHER", "value": "1800", "notes": None}]

    result = await add(api, bill(extendedFields=extended, customFields=extended, paymentDetails=payments))

    assert result["__typename"] == "TransactionAdded", result
    assert result["transaction"]["extendedFields"] == extended
    assert result["transaction"]["customFields"] == extended
    assert result["transaction"]["paymentDetails"] == [{"mode": "VOUCHER", "value": "1800", "notes": None}]


@pytest.mark.parametrize(
    ("extended", "custom", "payments", "field", "message"),
    [
        (
            [{"name": "channel", "value": "POS"}, {"name": "colour", "value": "red"}],
            [],
            [],
            "input.extendedFields[1].name",
            "'colour' is not declared in the organisation's extendedFields",
        ),
        (
            [{"name": "channel", "value": "POS"}, {"name": "order_weight", "value": "heavy"}],
            [],
            [],
            "input.extendedFields[1].value",
            "must be a decimal number: ASCII digits, an optional leading minus and an optional fraction, such as 12.50",
        ),
        (
            [{"name": "channel", "value": "SHOP"}],
            [],
            [],
            "input.extendedFields[0].value",
            "must be one of APP, WEB, POS",
        ),
        (
            [{"name": "channel", "value": "POS"}, {"name": "gift_wrap", "value": "yes"}],
            [],
            [],
            "input.extendedFields[1].value",
            "must be true or false",
        ),
        (
            [{"name": "channel", "value": "POS"}, {"name": "delivery_date", "value": "2026-02-30"}],
            [],
            [],
            "input.extendedFields[1].value",
            "must be a date, YYYY-MM-DD",
        ),
        (
            [{"name": "channel", "value": "POS"}, {"name": "channel", "value": "APP"}],
            [],
            [],
            "input.extendedFields[1].name",
            "'channel' is given twice",
        ),
        ([], [], [], "input.extendedFields", "the required channel missing"),
        (
            None,
            [{"name": "coupon_batch", "value": "7"}],
            [],
            "input.customFields[0].name",
            "'coupon_batch' is not declared in the organisation's customFields",
        ),
        (
            None,
            [],
            [{"mode": "CASH", "value": "800"}, {"mode": "CHEQUE", "value": "1000"}],
            "input.paymentDetails[1].mode",
            "'CHEQUE' is not a payment mode the organisation declares (CASH, CARD, UPI)",
        ),
    ],
    ids=[
        "undeclared",
        "not a number",
        "not an enum value",
        "not a boolean",
        "not a date",
        "twice",
        "required missing",
        "undeclared custom",
        "undeclared payment mode",
    ],
)
async def test_a_bill_field_undeclared_or_of_the_wrong_type_is_refused_naming_it_and_nothing_is_written(
    shop, database, extended, custom, payments, field, message
):
    before = await table_counts(database)

    result = await add(shop, shop_bill(extended, custom, payments))

    assert result == {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "message": message, "field": field}
    assert await table_counts(database) == before


async def test_a_return_carrying_an_undeclared_field_is_refused_and_takes_nothing_back(shop, database):
    mobile = new_mobile()
    purchase = await add(shop, shop_bill(customer={"mobile": mobile}))
    assert awarded_points(purchase) == ["18"]
    before = await table_counts(database)

    result = (
        await shop.data(
            RETURN_TRANSACTION,
            {
                "input": {
                    "type": "RETURN",
                    "returnType": "FULL",
                    "number": purchase["transaction"]["number"],
                    "purchaseTime": TEST_NOW.date().isoformat(),
                    "tillCode": "till-1",
                    "customer": {"mobile": mobile},
                    "extendedFields": [{"name": "channel", "value": "POS"}, {"name": "reason", "value": "size"}],
                }
            },
        )
    )["returnTransaction"]

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "'reason' is not declared in the organisation's extendedFields",
        "field": "input.extendedFields[1].name",
    }
    assert await table_counts(database) == before


# --- Earning rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extended", "custom", "payments", "points"),
    [
        ([{"name": "channel", "value": "POS"}], [], [{"mode": "CASH", "value": "1800"}], "18"),
        ([{"name": "channel", "value": "POS"}], [], [{"mode": "CARD", "value": "1800"}], "36"),
        (
            [{"name": "channel", "value": "POS"}],
            [],
            [{"mode": "CASH", "value": "800"}, {"mode": "CARD", "value": "1000"}],
            "36",
        ),
        ([{"name": "channel", "value": "APP"}], [{"name": "campaign", "value": "DIWALI"}], [], "54"),
        ([{"name": "channel", "value": "APP"}], [{"name": "campaign", "value": "diwali"}], [], "18"),
        ([{"name": "channel", "value": "WEB"}], [{"name": "campaign", "value": "DIWALI"}], [], "18"),
        (
            [{"name": "channel", "value": "APP"}],
            [{"name": "campaign", "value": "DIWALI"}],
            [{"mode": "CARD", "value": "1800"}],
            "54",
        ),
    ],
    ids=["cash", "card", "part card", "app Diwali", "campaign case differs", "web Diwali", "both rules: the larger"],
)
async def test_a_bill_meeting_an_earning_rule_earns_its_multiple_and_one_that_does_not_earns_the_tier_rate(
    shop, extended, custom, payments, points
):
    result = await add(shop, shop_bill(extended, custom, payments))

    assert awarded_points(result) == [points]


def test_an_earning_rule_must_name_declared_fields_and_modes_with_allowed_values():
    for condition in (
        {"payment_mode": "CHEQUE"},
        {"extended_field": "colour", "value": "red"},
        {"custom_field": "channel", "value": "APP"},
        {"extended_field": "channel", "value": "SHOP"},
        {"extended_field": "channel"},
        {"payment_mode": "CARD", "value": "x"},
        {"payment_mode": "CARD", "extended_field": "channel", "value": "APP"},
    ):
        spec = shop_spec()
        spec["programs"][0]["earning_rules"] = [
            {"name": "rule", "conditions": [condition], "earn_rate_multiplier": "2"}
        ]
        with pytest.raises(ValidationError):
            OrganizationSpec.model_validate(spec)
    assert OrganizationSpec.model_validate(shop_spec()).programs[0].earning_rules[1].earn_rate_multiplier == 3


# --- Promotions' bill conditions ------------------------------------------------------------


async def create_card_app_promotion(api):
    result = (
        await api.data(
            CREATE_PROMOTION,
            {
                "input": {
                    "name": "10% for app orders paid by card",
                    "validFrom": (TEST_NOW - timedelta(days=1)).isoformat(),
                    "validUntil": (TEST_NOW + timedelta(days=30)).isoformat(),
                    "action": "PERCENT_OFF",
                    "percent": "10",
                    "commonCode": "APPCARD10",
                    "billConditions": [
                        {"kind": "PAYMENT_MODE", "name": "CARD"},
                        {"kind": "EXTENDED_FIELD", "name": "channel", "value": "APP"},
                    ],
                }
            },
        )
    )["createPromotion"]
    assert result["__typename"] == "CartPromotionCreated", result
    return result["promotion"]


async def test_a_promotion_keeps_its_bill_conditions(shop):
    promotion = await create_card_app_promotion(shop)

    assert promotion == {
        "name": "10% for app orders paid by card",
        "billConditions": [
            {"kind": "PAYMENT_MODE", "name": "CARD", "value": None},
            {"kind": "EXTENDED_FIELD", "name": "channel", "value": "APP"},
        ],
    }


async def test_a_bill_meeting_the_promotions_bill_conditions_gets_its_discount(shop):
    await create_card_app_promotion(shop)

    result = await add(
        shop,
        shop_bill(
            [{"name": "channel", "value": "APP"}], [], [{"mode": "CARD", "value": "1800"}], promoCodes=["APPCARD10"]
        ),
    )

    assert result["__typename"] == "TransactionAdded", result
    assert result["transaction"]["promoDiscount"] == "180"
    assert [effect for effect in result["transaction"]["sideEffects"] if "code" in effect] == [
        {"__typename": "PromoCodeSideEffect", "code": "APPCARD10", "discount": "180"}
    ]


@pytest.mark.parametrize(
    ("extended", "payments", "message"),
    [
        (
            [{"name": "channel", "value": "APP"}],
            [{"mode": "CASH", "value": "1800"}],
            "the bill does not meet the condition paid by CARD",
        ),
        (
            [{"name": "channel", "value": "WEB"}],
            [{"mode": "CARD", "value": "1800"}],
            "the bill does not meet the condition EXTENDED_FIELD channel = 'APP'",
        ),
    ],
    ids=["paid in cash", "web order"],
)
async def test_a_bill_not_meeting_the_promotions_bill_conditions_is_refused_and_nothing_is_written(
    shop, database, extended, payments, message
):
    await create_card_app_promotion(shop)
    before = await table_counts(database)

    result = await add(shop, shop_bill(extended, [], payments, promoCodes=["APPCARD10"]))

    assert result == {
        "__typename": "PromoConditionsNotMetError",
        "code": "PROMO_CONDITIONS_NOT_MET",
        "message": message,
        "field": "input.promoCodes[0]",
    }
    assert await table_counts(database) == before


async def test_a_promotion_condition_on_a_payment_mode_takes_no_value(shop):
    result = (
        await shop.data(
            CREATE_PROMOTION,
            {
                "input": {
                    "name": "card",
                    "validFrom": (TEST_NOW - timedelta(days=1)).isoformat(),
                    "validUntil": (TEST_NOW + timedelta(days=30)).isoformat(),
                    "action": "PERCENT_OFF",
                    "percent": "10",
                    "billConditions": [{"kind": "PAYMENT_MODE", "name": "CARD", "value": "1800"}],
                }
            },
        )
    )["createPromotion"]

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "a field condition has a value, a payment mode condition none",
        "field": "input.billConditions[0].value",
    }


# --- Delivery status, shipping till, returns' associate and names ---------------------------

DELIVERY = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded { transaction { number deliveryStatus shippingSourceTillCode } }
    ... on Error { code message field }
  }
}
"""
CUSTOMER_DELIVERIES = """
query Bills($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) {
    ... on Customer { transactions(first: 10) { nodes { number deliveryStatus shippingSourceTillCode } } }
  }
}
"""
RETURN = """
mutation Return($input: TransactionReturnInput!) {
  returnTransaction(input: $input) {
    __typename
    ... on TransactionReturned {
      transaction { type associateDetails { code name } deliveryStatus customer { firstname lastname } }
    }
    ... on Error { code message field }
  }
}
"""
CUSTOMER_NAMES = """
query Names($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) { ... on Customer { firstname lastname } }
}
"""


async def test_a_bill_keeps_its_delivery_status_and_shipping_till_and_says_delivered_when_it_gives_none(api):
    mobile = new_mobile()

    shipped = await add_transaction(
        api,
        bill(
            number="SHIP-1",
            customer={"mobile": mobile},
            deliveryStatus="SHIPPED",
            shippingSourceTillCode="till-2",
        ),
        query=DELIVERY,
    )
    in_store = await add_transaction(api, bill(number="SHIP-2", customer={"mobile": mobile}), query=DELIVERY)

    assert shipped == {
        "__typename": "TransactionAdded",
        "transaction": {"number": "SHIP-1", "deliveryStatus": "SHIPPED", "shippingSourceTillCode": "till-2"},
    }
    assert in_store == {
        "__typename": "TransactionAdded",
        "transaction": {"number": "SHIP-2", "deliveryStatus": "DELIVERED", "shippingSourceTillCode": None},
    }
    listed = (await api.data(CUSTOMER_DELIVERIES, {"lookup": by_mobile(mobile)}))["customer"]["transactions"]["nodes"]
    assert listed == [in_store["transaction"], shipped["transaction"]]


async def test_a_shipping_till_the_organisation_does_not_have_is_refused_and_nothing_is_written(api, database):
    before = await table_counts(database)

    results = [
        await add_transaction(api, bill(shippingSourceTillCode=code), query=DELIVERY)
        for code in ("warehouse-9", "TILL-1")
    ]

    assert results == [
        {
            "__typename": "NotFoundError",
            "code": "TILL_NOT_FOUND",
            "message": f"no till with code {code!r}",
            "field": "input.shippingSourceTillCode",
        }
        for code in ("warehouse-9", "TILL-1")
    ]
    assert await table_counts(database) == before


async def test_a_return_keeps_its_associate_and_the_names_it_gives_update_the_customer(api):
    mobile = new_mobile()
    purchase = await add_transaction(
        api, bill(customer={"mobile": mobile, "firstname": "Tom", "lastname": "Sawyer"}), query=DELIVERY
    )
    assert purchase["__typename"] == "TransactionAdded"

    result = (
        await api.data(
            RETURN,
            {
                "input": {
                    "type": "RETURN",
                    "returnType": "FULL",
                    "number": purchase["transaction"]["number"],
                    "purchaseTime": TEST_NOW.date().isoformat(),
                    "tillCode": "till-1",
                    "customer": {"mobile": mobile, "firstname": "Thomas"},
                    "associateDetails": {"code": "EMP-7", "name": "Becky Thatcher"},
                }
            },
        )
    )["returnTransaction"]

    assert result == {
        "__typename": "TransactionReturned",
        "transaction": {
            "type": "RETURN",
            "associateDetails": {"code": "EMP-7", "name": "Becky Thatcher"},
            "deliveryStatus": None,
            "customer": {"firstname": "Thomas", "lastname": "Sawyer"},
        },
    }
    names = (await api.data(CUSTOMER_NAMES, {"lookup": by_mobile(mobile)}))["customer"]
    assert names == {"firstname": "Thomas", "lastname": "Sawyer"}


# --- CONF_PRIMARY_IDENTIFIER_STRICT_CHECK and the skip switch -------------------------------

RESOLVE = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      transaction {
        customer { userId }
        sideEffects {
          __typename
          ... on CustomerSideEffect { registered mergedCustomerIds skippedIdentifiers { type value } }
        }
      }
    }
    ... on Error { code message field }
  }
}
"""


def _outcome(result, names):
    """A bill's customer resolution, read with the customers' names: the customer the bill went
    to, whether it was registered, who was merged into it, which identifiers were skipped; or the
    refusal's code and field."""
    if result["__typename"] != "TransactionAdded":
        return ("refused", result["__typename"], result["code"], result["field"])
    transaction = result["transaction"]
    resolved = next(effect for effect in transaction["sideEffects"] if effect["__typename"] == "CustomerSideEffect")
    user_id = transaction["customer"]["userId"]
    return (
        names.get(user_id, "new"),
        resolved["registered"],
        [names[merged] for merged in resolved["mergedCustomerIds"]],
        [identifier["type"] for identifier in resolved["skippedIdentifiers"]],
    )


MERGED_OR_ATTACHED = {"new primary": ("A", False, [], []), "primary of B": ("B", False, ["A"], [])}
REFUSED = ("refused", "ConflictError", "PRIMARY_IDENTIFIER_MISMATCH", "input.customer.mobile")
SKIPPED = {"new primary": ("new", True, [], ["EMAIL"]), "primary of B": ("B", False, [], ["EMAIL"])}


@pytest.mark.parametrize("scenario", ["new primary", "primary of B"])
@pytest.mark.parametrize(
    ("skip", "strict", "expected"),
    [
        (False, False, MERGED_OR_ATTACHED),
        (False, True, {"new primary": REFUSED, "primary of B": REFUSED}),
        (True, False, SKIPPED),
        (True, True, SKIPPED),  # the seed: the skip switch overrides the strict check
    ],
    ids=["neither", "strict", "skip", "both: skip wins"],
)
async def test_a_primary_identifier_not_matching_the_secondarys_owner_as_the_two_switches_say(
    org_api, database, skip, strict, expected, scenario
):
    shop = await org_api(
        org_spec(
            f"id-{int(skip)}{int(strict)}-{scenario[0]}",
            skip_secondary_id_on_primary_mismatch=skip,
            primary_identifier_strict_check=strict,
        )
    )
    email, mobile_of_a, mobile_of_b = f"{new_mobile()}@example.com", new_mobile(), new_mobile()
    owner_a = await add_transaction(shop, bill(customer={"mobile": mobile_of_a, "email": email}), query=RESOLVE)
    names = {owner_a["transaction"]["customer"]["userId"]: "A"}
    primary = new_mobile()
    if scenario == "primary of B":
        owner_b = await add_transaction(shop, bill(customer={"mobile": mobile_of_b}), query=RESOLVE)
        names[owner_b["transaction"]["customer"]["userId"]] = "B"
        primary = mobile_of_b
    before = await table_counts(database)

    result = await add_transaction(shop, bill(customer={"mobile": primary, "email": email}), query=RESOLVE)

    assert _outcome(result, names) == expected[scenario]
    if expected[scenario] == REFUSED:
        assert result["message"] == "the MOBILE given is not the customer the other identifiers belong to"
        assert await table_counts(database) == before


async def test_the_strict_check_lets_a_bill_through_whose_identifiers_all_name_one_customer(org_api):
    shop = await org_api(org_spec("strict-one", primary_identifier_strict_check=True))
    mobile, email = new_mobile(), f"{new_mobile()}@example.com"
    first = await add_transaction(shop, bill(customer={"mobile": mobile, "email": email}), query=RESOLVE)
    names = {first["transaction"]["customer"]["userId"]: "A"}

    again = await add_transaction(shop, bill(customer={"mobile": mobile, "email": email}), query=RESOLVE)
    only_secondary = await add_transaction(shop, bill(customer={"email": email}), query=RESOLVE)

    assert _outcome(again, names) == ("A", False, [], [])
    assert _outcome(only_secondary, names) == ("A", False, [], [])


# --- Replays across the upgrade -------------------------------------------------------------


def test_a_bill_and_a_return_that_leave_the_new_fields_out_hash_as_before_they_existed():
    """Digests computed by the code before delivery status, shipping till and a return's
    associate existed: a bill posted then and retried now replays instead of conflicting."""
    identifiers = {IdentifierType.MOBILE: "919800000001"}
    purchase = TransactionInput(
        type=TransactionType.REGULAR,
        number="B1",
        amount=Decimal("1800"),
        till_code="till-1",
        billing_time=datetime(2026, 12, 1, 10, tzinfo=UTC),
        customer=CustomerInput(mobile="9800000001", first_name="Tom"),
        line_items=[LineItemInput(item_code="SHIRT", qty=Decimal("2"), rate=Decimal("900"))],
        extended_fields=[{"name": "channel", "value": "POS"}],
        payment_details=[{"mode": "CASH", "value": Decimal("1800"), "notes": None}],
    )
    return_ = ReturnInput(
        type=TransactionType.RETURN,
        return_type=ReturnType.LINE_ITEM,
        number="B1",
        purchase_date=date(2026, 12, 1),
        till_code="till-1",
        customer=CustomerInput(mobile="9800000001"),
        line_items=[
            ReturnLineInput(type=LineItemType.RETURN, line=LineItemInput(item_code="", qty=Decimal("1"), serial=1))
        ],
    )

    assert payload_hash(purchase, identifiers) == "2fb7e2664c8517ff54f2924680afe62288431c5f02514d7547b90e0d01918db7"
    assert return_payload_hash(return_, identifiers) == (
        "8573e74e09327fc2b9fd0c21fbf8ba5a464ab480d97e81a6b581614683b6561f"
    )
    assert payload_hash(replace(purchase, delivery_status=DeliveryStatus.SHIPPED), identifiers) != payload_hash(
        purchase, identifiers
    )
    assert return_payload_hash(replace(return_, associate_code="EMP-7"), identifiers) != return_payload_hash(
        return_, identifiers
    )


async def test_a_bill_posted_again_with_another_delivery_status_is_a_duplicate_not_a_replay(api):
    document = bill(deliveryStatus="PLACED")
    first = await add_transaction(api, document, query=DELIVERY)

    again = await add_transaction(api, {**document, "deliveryStatus": "SHIPPED"}, query=DELIVERY)
    same = await add_transaction(api, document, query=DELIVERY)

    assert first["__typename"] == "TransactionAdded"
    assert (again["__typename"], again["code"], again["field"]) == (
        "DuplicateBillNumberError",
        "DUPLICATE_BILL_NUMBER",
        "input.number",
    )
    assert same == first


VALIDATE = """
query Validate($input: ValidatePromoCodeInput!) {
  validatePromoCode(input: $input) {
    __typename
    ... on PromoCodeValidated { code discount }
    ... on Error { code message field }
  }
}
"""


async def test_validating_a_code_judges_the_carts_fields_and_payment_modes_as_a_bill_would(shop):
    await create_card_app_promotion(shop)
    cart = {"amount": "1000", "extendedFields": [{"name": "channel", "value": "APP"}]}

    meeting = await shop.data(VALIDATE, {"input": {"code": "APPCARD10", "cart": {**cart, "paymentModes": ["CARD"]}}})
    not_meeting = await shop.data(VALIDATE, {"input": {"code": "APPCARD10", "cart": {**cart, "paymentModes": ["UPI"]}}})

    assert meeting["validatePromoCode"] == {"__typename": "PromoCodeValidated", "code": "APPCARD10", "discount": "100"}
    assert not_meeting["validatePromoCode"] == {
        "__typename": "PromoConditionsNotMetError",
        "code": "PROMO_CONDITIONS_NOT_MET",
        "message": "the bill does not meet the condition paid by CARD",
        "field": "input.code",
    }
