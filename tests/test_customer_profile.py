"""Member care's profile changes (issue 13, "Customers"): registerCustomer and updateCustomer,
with the customer fields the organisation declares in its file ([[customer_fields]])."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.organizations.spec import OrganizationSpec
from tests.client import earn, merge, post_at_once
from tests.factories import by_mobile, by_user_id, new_mobile, org_spec

CUSTOMER_FIELDS = [
    {"name": "birthday", "type": "DATE"},
    {"name": "shoe_size", "type": "NUMBER"},
    {"name": "newsletter", "type": "BOOLEAN", "required": True},
    {"name": "favourite_store", "type": "STRING"},
    {"name": "segment", "type": "ENUM", "values": ["GOLD", "SILVER"]},
]

CUSTOMER_FIELDS_OUT = "userId firstname lastname mobile email externalId cardNumber extendedFields"
REGISTER = f"""
mutation Register($input: RegisterCustomerInput!) {{
  registerCustomer(input: $input) {{
    __typename
    ... on CustomerRegistered {{ customer {{ {CUSTOMER_FIELDS_OUT} }} }}
    ... on Error {{ code message field }}
  }}
}}
"""
UPDATE = f"""
mutation Update($input: UpdateCustomerInput!) {{
  updateCustomer(input: $input) {{
    __typename
    ... on CustomerUpdated {{ changed customer {{ {CUSTOMER_FIELDS_OUT} }} }}
    ... on Error {{ code message field }}
  }}
}}
"""
PROFILE = f"""
query Profile($lookup: CustomerLookupInput!) {{
  customer(lookup: $lookup) {{ __typename ... on Customer {{ {CUSTOMER_FIELDS_OUT} }} }}
  customerHistory(customer: $lookup, first: 50) {{
    ... on CustomerHistoryPage {{ records {{ action details source account }} }}
  }}
}}
"""


@pytest.fixture
async def shop(org_api):
    """An organisation declaring customer fields."""
    spec = org_spec("shop")
    spec["customer_fields"] = CUSTOMER_FIELDS
    return await org_api(spec)


async def register(api, **input):
    return (await api.data(REGISTER, {"input": input}))["registerCustomer"]


async def update(api, customer, **input):
    return (await api.data(UPDATE, {"input": {"customer": customer, **input}}))["updateCustomer"]


async def profile(api, lookup):
    """The customer and its history (newest first) as member care reads them."""
    return await api.data(PROFILE, {"lookup": lookup})


async def test_register_creates_the_profile_with_identifiers_fields_and_history(shop):
    mobile = new_mobile()

    result = await register(
        shop,
        firstname="José",
        lastname="Álvarez",
        mobile=mobile,
        email="Jose@Example.com",
        externalId="EXT-9",
        extendedFields={"birthday": "1990-02-28", "shoe_size": 42.5, "newsletter": True, "segment": "GOLD"},
        source={"source": "WECHAT", "account": "wx-acme"},
    )

    customer = result["customer"]
    assert result["__typename"] == "CustomerRegistered"
    assert customer == {
        "userId": customer["userId"],
        "firstname": "José",
        "lastname": "Álvarez",
        "mobile": f"91{mobile}",
        "email": "jose@example.com",
        "externalId": "EXT-9",
        "cardNumber": None,
        "extendedFields": {"birthday": "1990-02-28", "shoe_size": "42.5", "newsletter": True, "segment": "GOLD"},
    }
    read = await profile(shop, by_mobile(mobile))
    assert read["customer"] == {"__typename": "Customer", **customer}
    assert read["customerHistory"]["records"] == [
        {
            "action": "REGISTERED",
            "details": {
                "MOBILE": f"91{mobile}",
                "EMAIL": "jose@example.com",
                "EXTERNAL_ID": "EXT-9",
                "extended_fields": customer["extendedFields"],
            },
            "source": "WECHAT",
            "account": "wx-acme",
        }
    ]
    assert (
        await shop.data('{ customers(search: {name: "alv"}) { ... on CustomerSearchPage { customers { userId } } } }')
    )["customers"]["customers"] == [{"userId": customer["userId"]}]


async def test_register_refuses_an_identifier_another_customer_holds_and_writes_nothing(shop):
    mobile = new_mobile()
    owner = await register(shop, mobile=mobile, extendedFields={"newsletter": False})
    email = "fresh@example.com"

    result = await register(shop, firstname="Other", email=email, mobile=mobile, extendedFields={"newsletter": True})

    assert (result["__typename"], result["code"], result["field"]) == (
        "ConflictError",
        "IDENTIFIER_TAKEN",
        "input.mobile",
    )
    assert (await profile(shop, {"type": "EMAIL", "value": email}))["customer"] == {"__typename": "NotFoundError"}
    everyone = await shop.data("{ customers(search: {}) { ... on CustomerSearchPage { customers { userId } } } }")
    assert everyone["customers"]["customers"] == [{"userId": owner["customer"]["userId"]}]


async def test_register_refuses_bad_input_naming_the_field_and_writes_nothing(shop):
    fine = {"newsletter": True}
    refusals = {
        "no identifier": ({"firstname": "Ann", "extendedFields": fine}, "INVALID_INPUT", "input"),
        "mobile": ({"mobile": "12", "extendedFields": fine}, "INVALID_IDENTIFIER", "input.mobile"),
        "name": (
            {"mobile": new_mobile(), "firstname": "x" * 101, "extendedFields": fine},
            "INVALID_INPUT",
            "input.firstname",
        ),
        "undeclared": (
            {"mobile": new_mobile(), "extendedFields": {**fine, "pet": "cat"}},
            "INVALID_INPUT",
            "input.extendedFields.pet",
        ),
        "required": (
            {"mobile": new_mobile(), "extendedFields": {}},
            "INVALID_INPUT",
            "input.extendedFields.newsletter",
        ),
        "boolean": (
            {"mobile": new_mobile(), "extendedFields": {"newsletter": "yes"}},
            "INVALID_INPUT",
            "input.extendedFields.newsletter",
        ),
        "date": (
            {"mobile": new_mobile(), "extendedFields": {**fine, "birthday": "1990-02-30"}},
            "INVALID_INPUT",
            "input.extendedFields.birthday",
        ),
        "number": (
            {"mobile": new_mobile(), "extendedFields": {**fine, "shoe_size": "big"}},
            "INVALID_INPUT",
            "input.extendedFields.shoe_size",
        ),
        "enum": (
            {"mobile": new_mobile(), "extendedFields": {**fine, "segment": "BRONZE"}},
            "INVALID_INPUT",
            "input.extendedFields.segment",
        ),
        "not an object": ({"mobile": new_mobile(), "extendedFields": [1]}, "INVALID_INPUT", "input.extendedFields"),
        "source": (
            {"mobile": new_mobile(), "extendedFields": fine, "source": {"source": "x" * 21}},
            "INVALID_INPUT",
            "input.source",
        ),
    }

    answers = {name: await register(shop, **input) for name, (input, _, _) in refusals.items()}

    assert {name: (answer["__typename"], answer["code"], answer["field"]) for name, answer in answers.items()} == {
        name: ("InvalidInputError", code, field) for name, (_, code, field) in refusals.items()
    }
    everyone = await shop.data("{ customers(search: {}) { ... on CustomerSearchPage { customers { userId } } } }")
    assert everyone["customers"]["customers"] == []


async def test_update_changes_only_what_is_given_and_records_it_with_source_and_account(shop):
    mobile = new_mobile()
    registered = await register(
        shop,
        firstname="Tom",
        lastname="Sawyer",
        mobile=mobile,
        extendedFields={"newsletter": True, "shoe_size": "42", "favourite_store": "Mumbai"},
    )

    result = await update(
        shop,
        by_mobile(mobile),
        lastname="Straßer",
        extendedFields={"shoe_size": 43, "favourite_store": None, "segment": "SILVER"},
        source={"source": "MARTJACK", "account": "mj-1"},
    )

    assert result == {
        "__typename": "CustomerUpdated",
        "changed": True,
        "customer": {
            **registered["customer"],
            "lastname": "Straßer",
            "extendedFields": {"newsletter": True, "shoe_size": "43", "segment": "SILVER"},
        },
    }
    history = (await profile(shop, by_mobile(mobile)))["customerHistory"]["records"]
    assert history[0] == {
        "action": "DETAILS_UPDATED",
        "details": {
            "last_name": {"from": "Sawyer", "to": "Straßer"},
            "extended_fields": {
                "favourite_store": {"from": "Mumbai", "to": None},
                "segment": {"from": None, "to": "SILVER"},
                "shoe_size": {"from": "42", "to": "43"},
            },
        },
        "source": "MARTJACK",
        "account": "mj-1",
    }
    found = await shop.data(
        '{ customers(search: {name: "STRASS"}) { ... on CustomerSearchPage { customers { userId } } } }'
    )
    assert found["customers"]["customers"] == [{"userId": registered["customer"]["userId"]}]


async def test_an_update_that_changes_nothing_writes_nothing(shop):
    mobile = new_mobile()
    await register(shop, firstname="Tom", mobile=mobile, extendedFields={"newsletter": True})

    result = await update(shop, by_mobile(mobile), firstname="Tom", extendedFields={"newsletter": True})
    nothing = await update(shop, by_mobile(mobile), extendedFields=None)

    assert (result["__typename"], result["changed"]) == ("CustomerUpdated", False)
    assert (nothing["__typename"], nothing["changed"]) == ("CustomerUpdated", False)
    assert [record["action"] for record in (await profile(shop, by_mobile(mobile)))["customerHistory"]["records"]] == [
        "REGISTERED"
    ]


async def test_update_refusals_name_the_field_and_change_nothing(shop, org_api):
    mobile = new_mobile()
    registered = (await register(shop, firstname="Tom", mobile=mobile, extendedFields={"newsletter": True}))["customer"]
    survivor, victim = new_mobile(), new_mobile()
    await register(shop, mobile=survivor, extendedFields={"newsletter": True})
    victim_id = (await register(shop, mobile=victim, extendedFields={"newsletter": True}))["customer"]["userId"]
    await merge(shop, by_mobile(survivor), by_mobile(victim))
    other = await org_api(org_spec("other"))
    theirs = await earn(other, new_mobile(), "100")

    refusals = {
        "required removed": (
            (by_mobile(mobile), {"firstname": "Thomas", "extendedFields": {"newsletter": None}}),
            "InvalidInputError",
            "INVALID_INPUT",
            "input.extendedFields.newsletter",
        ),
        "undeclared": (
            (by_mobile(mobile), {"extendedFields": {"pet": "cat"}}),
            "InvalidInputError",
            "INVALID_INPUT",
            "input.extendedFields.pet",
        ),
        "long name": (
            (by_mobile(mobile), {"lastname": "x" * 101}),
            "InvalidInputError",
            "INVALID_INPUT",
            "input.lastname",
        ),
        "null name": (
            (by_mobile(mobile), {"firstname": None}),
            "InvalidInputError",
            "INVALID_INPUT",
            "input.firstname",
        ),
        "unknown": (
            (by_mobile(new_mobile()), {"firstname": "X"}),
            "NotFoundError",
            "CUSTOMER_NOT_FOUND",
            "input.customer",
        ),
        "other org": (
            (by_user_id(theirs), {"firstname": "X"}),
            "NotFoundError",
            "CUSTOMER_NOT_FOUND",
            "input.customer",
        ),
        "merged": ((by_user_id(victim_id), {"firstname": "X"}), "ConflictError", "CUSTOMER_MERGED", "input.customer"),
    }

    answers = {name: await update(shop, lookup, **input) for name, ((lookup, input), *_) in refusals.items()}

    assert {name: (answer["__typename"], answer["code"], answer["field"]) for name, answer in answers.items()} == {
        name: tuple(expected) for name, (_, *expected) in refusals.items()
    }
    read = await profile(shop, by_mobile(mobile))
    assert read["customer"] == {"__typename": "Customer", **registered}
    assert [record["action"] for record in read["customerHistory"]["records"]] == ["REGISTERED"]


async def test_an_organisation_without_declared_fields_takes_none(api):
    mobile = new_mobile()

    refused = await register(api, mobile=mobile, extendedFields={"newsletter": True})
    plain = await register(api, mobile=mobile, firstname="Ann")

    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "input.extendedFields.newsletter")
    assert plain["customer"]["extendedFields"] == {}


def test_the_organisation_file_refuses_a_bad_field_declaration():
    for fields in (
        [{"name": "tier", "type": "ENUM"}],  # an ENUM lists its values
        [{"name": "size", "type": "NUMBER", "values": ["1"]}],  # only an ENUM does
        [{"name": "a", "type": "STRING"}, {"name": "a", "type": "DATE"}],  # names are unique
        [{"name": "a", "type": "COLOUR"}],
    ):
        spec = org_spec("bad")
        spec["customer_fields"] = fields
        with pytest.raises(ValidationError):
            OrganizationSpec.model_validate(spec)


async def test_registrations_racing_for_one_mobile_register_one_customer(shop):
    mobile = new_mobile()
    inputs = [
        {"firstname": f"Racer {index}", "mobile": mobile, "extendedFields": {"newsletter": True}} for index in range(6)
    ]

    answers = await post_at_once(shop, REGISTER, inputs)

    assert sorted(answer["__typename"] for answer in answers) == ["ConflictError"] * 5 + ["CustomerRegistered"]
    assert {answer["code"] for answer in answers if answer["__typename"] == "ConflictError"} == {"IDENTIFIER_TAKEN"}
    everyone = await shop.data("{ customers(search: {}) { ... on CustomerSearchPage { customers { userId } } } }")
    winner = next(answer for answer in answers if answer["__typename"] == "CustomerRegistered")
    assert everyone["customers"]["customers"] == [{"userId": winner["customer"]["userId"]}]
