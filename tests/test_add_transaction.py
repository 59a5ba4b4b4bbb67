"""addTransaction and addTransactions through the API, as a till calls them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.catalog.models import Product
from app.customers.models import CustomerHistory
from app.ledger.models import PointLot
from app.ledger.service import reconcile
from tests.client import add_transaction, find_customer
from tests.documents import ADD_TRANSACTION
from tests.factories import bill, by_user_id, new_bill_number, new_mobile, org_spec
from tests.snapshots import table_counts

VICTIM = """
query Victim($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) { ... on Customer { mergedIntoUserId email loyaltyPoints lifetimePurchases } }
}
"""

ADD_BATCH = """
mutation Batch($input: [TransactionAddInput!]!) {
  addTransactions(input: $input) {
    __typename
    ... on TransactionAdded { itemStatus { success code message } transaction { number } }
    ... on Error { code message field }
  }
}
"""


async def test_the_seeds_sample_purchase_gives_the_seed_shaped_response(api):
    # Given the seed's customer Tom Sawyer (mobile 919999000001) buying for 18,000, of which
    # 7,400 is an outlier line: bronze earns 1 point per 100 on the 10,600 that is eligible.
    document = bill(
        number="BILL99",
        amount="18000",
        grossAmount="18000",
        discount="0",
        customer={"mobile": "919999000001", "firstname": "Tom", "lastname": "Sawyer"},
        lineItems=[
            {"serial": 1, "itemCode": "TV-55", "qty": "1", "rate": "10600", "value": "10600", "amount": "10600"},
            {
                "serial": 2,
                "itemCode": "WARRANTY",
                "qty": "1",
                "rate": "7400",
                "value": "7400",
                "amount": "7400",
                "outlierStatus": "OUTLIER",
            },
        ],
    )

    result = await add_transaction(api, document)

    assert result["__typename"] == "TransactionAdded"
    assert result["replayed"] is False
    assert result["itemStatus"] == {"success": True, "code": 600, "message": "Transaction added successfully"}
    transaction = result["transaction"]
    assert transaction["number"] == "BILL99"
    assert transaction["type"] == "REGULAR"
    assert transaction["outlierStatus"] == "NORMAL"
    assert transaction["amount"] == "18000"
    assert transaction["eligibleAmount"] == "10600"
    assert (transaction["storeCode"], transaction["tillCode"], transaction["programCode"]) == (
        "store-1",
        "till-1",
        "main",
    )
    customer = transaction["customer"]
    assert {
        key: customer[key]
        for key in (
            "mobile",
            "firstname",
            "lastname",
            "type",
            "lifetimePoints",
            "loyaltyPoints",
            "lifetimePurchases",
            "currentSlab",
            "tierExpiryDate",
        )
    } == {
        "mobile": "919999000001",
        "firstname": "Tom",
        "lastname": "Sawyer",
        "type": "LOYALTY",
        "lifetimePoints": "106",
        "loyaltyPoints": "106",
        "lifetimePurchases": "18000",
        "currentSlab": "bronze",
        "tierExpiryDate": None,
    }
    assert customer["pointsSummaries"][0] == {
        "programCode": "main",
        "redeemed": "0",
        "expired": "0",
        "returned": "0",
        "adjusted": "0",
        "lifetimePoints": "106",
        "loyaltyPoints": "106",
        "cumulativePurchases": "18000",
        "currentSlab": "bronze",
        "slabSNo": 1,
        "slabExpiryDate": None,
        "nextSlab": "silver",
        "nextSlabSerialNumber": 2,
        "nextSlabDescription": "Silver",
    }
    assert customer["pointsSummaries"][1]["programCode"] == "cafe"
    assert customer["pointsSummaries"][1]["loyaltyPoints"] == "0"
    assert transaction["sideEffects"] == [
        {
            "__typename": "CustomerSideEffect",
            "customerId": customer["userId"],
            "registered": True,
            "mergedCustomerIds": [],
            "skippedIdentifiers": [],
        },
        {
            "__typename": "PointsSideEffect",
            "entityType": "USER",
            "customerId": customer["userId"],
            "programCode": "main",
            "awardedPoints": "106",
            "rawAwardedPoints": "106",
            "totalPoints": "106",
        },
    ]


async def test_line_items_fill_in_value_and_amount_as_the_seed_defines_them(api):
    document = bill(amount="950", lineItems=[{"itemCode": "MUG", "qty": "3", "rate": "350", "discount": "100"}])

    result = await add_transaction(api, document)

    assert result["transaction"]["lineItems"] == [
        {
            "serial": 1,
            "itemCode": "MUG",
            "variant": None,
            "qty": "3",
            "rate": "350",
            "value": "1050",
            "discount": "100",
            "amount": "950",
            "outlierStatus": "NORMAL",
        }
    ]
    assert result["transaction"]["eligibleAmount"] == "950"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"tillCode": None, "storeCode": "nowhere"}, "STORE_NOT_FOUND", "input.storeCode"),
        ({"tillCode": "till-99"}, "TILL_NOT_FOUND", "input.tillCode"),
        ({"tillCode": "till-2", "storeCode": "store-1"}, "INVALID_INPUT", "input.tillCode"),
        ({"tillCode": None}, "INVALID_INPUT", "input.storeCode"),
        ({"number": "N" * 51}, "INVALID_INPUT", "input.number"),
        ({"number": "   "}, "INVALID_INPUT", "input.number"),
        ({"amount": "-1"}, "INVALID_INPUT", "input.amount"),
        ({"amount": "10.00001"}, "INVALID_INPUT", "input.amount"),
        ({"currencyCode": "RUPEES"}, "INVALID_INPUT", "input.currencyCode"),
        ({"billingTime": "2026-11-01T10:00:00"}, "INVALID_INPUT", "input.billingTime"),
        ({"customer": None}, "IDENTIFIER_REQUIRED", "input.customer"),
        ({"customer": {"firstname": "Nobody"}}, "IDENTIFIER_REQUIRED", "input.customer"),
        ({"customer": {"email": "not-an-email"}}, "INVALID_IDENTIFIER", "input.customer.email"),
        ({"customer": {"mobile": "12345"}}, "INVALID_IDENTIFIER", "input.customer.mobile"),
        ({"lineItems": [{"itemCode": "X", "qty": "-2", "rate": "10"}]}, "INVALID_INPUT", "input.lineItems[0].qty"),
        (
            {"lineItems": [{"itemCode": "X", "qty": "1", "rate": "10"}, {"itemCode": "", "qty": "1"}]},
            "INVALID_INPUT",
            "input.lineItems[1].itemCode",
        ),
        (
            {"lineItems": [{"serial": 7, "itemCode": "X", "qty": "1"}, {"serial": 7, "itemCode": "Y", "qty": "1"}]},
            "INVALID_INPUT",
            "input.lineItems[1].serial",
        ),
    ],
)
async def test_bad_input_is_a_typed_error_naming_the_field_and_writes_nothing(api, database, change, code, field):
    await add_transaction(api, bill())  # something already there, so "nothing changed" is not trivially true
    before = await table_counts(database)

    result = await add_transaction(api, bill(**change))

    typename = "NotFoundError" if code.endswith("_NOT_FOUND") else "InvalidInputError"
    assert (result["__typename"], result["code"], result["field"]) == (typename, code, field)
    assert result["message"]
    assert await table_counts(database) == before


async def test_an_unknown_enum_value_is_refused_by_the_schema_naming_the_field_and_writes_nothing(api, database):
    before = await table_counts(database)

    body = await api.post(ADD_TRANSACTION, {"input": bill(type="LAYAWAY")})

    assert body.get("data") is None
    assert len(body["errors"]) == 1
    assert body["errors"][0]["message"] == (
        "Variable '$input' has invalid value at .type: Value 'LAYAWAY' does not exist in 'TransactionType' enum."
    )
    assert await table_counts(database) == before


async def test_the_same_bill_posted_again_returns_the_first_result_and_awards_nothing_twice(api, database):
    document = bill(billingTime="2026-11-20T10:00:00+05:30")
    first = await add_transaction(api, document)
    counts = await table_counts(database)

    again = await add_transaction(api, document)

    assert again["__typename"] == "TransactionAdded"
    assert again["replayed"] is True
    assert again["itemStatus"]["message"] == "Transaction already added; this is the first result"
    assert again["transaction"]["id"] == first["transaction"]["id"]
    assert again["transaction"]["sideEffects"] == first["transaction"]["sideEffects"]
    assert again["transaction"]["customer"]["loyaltyPoints"] == "18"
    assert await table_counts(database) == counts


async def test_a_bill_number_reused_in_the_window_with_another_payload_is_a_conflict(api, database):
    first = await add_transaction(api, bill(number="R-1", billingTime="2026-11-20T10:00:00+05:30"))
    counts = await table_counts(database)

    clash = await add_transaction(api, bill(number="R-1", amount="999", billingTime="2026-11-21T10:00:00+05:30"))

    assert clash == {
        "__typename": "DuplicateBillNumberError",
        "code": "DUPLICATE_BILL_NUMBER",
        "field": "input.number",
        "message": "bill number 'R-1' was already used in store 'store-1' within 30 days",
        "existingTransactionId": first["transaction"]["id"],
    }
    assert await table_counts(database) == counts


async def test_a_bill_number_is_unique_per_store_and_only_within_the_window(api):
    await add_transaction(api, bill(number="W-1", billingTime="2026-10-01T10:00:00+05:30"))

    other_store = await add_transaction(
        api, bill(number="W-1", tillCode="till-2", billingTime="2026-10-01T10:00:00+05:30")
    )
    after_window = await add_transaction(api, bill(number="W-1", billingTime="2026-10-31T10:00:01+05:30"))
    inside_window = await add_transaction(api, bill(number="W-1", billingTime="2026-10-30T10:00:00+05:30"))

    assert other_store["__typename"] == "TransactionAdded"
    assert after_window["__typename"] == "TransactionAdded"
    assert inside_window["__typename"] == "DuplicateBillNumberError"


async def test_crossing_a_threshold_upgrades_the_tier_and_earning_uses_the_tier_held_before(api):
    mobile = new_mobile()
    await add_transaction(api, bill(amount="15000", lineItems=[], customer={"mobile": mobile}))

    upgrade = await add_transaction(api, bill(amount="6000", lineItems=[], customer={"mobile": mobile}))
    after = await add_transaction(api, bill(amount="1000", lineItems=[], customer={"mobile": mobile}))

    effects = upgrade["transaction"]["sideEffects"]
    assert effects[0]["registered"] is False
    assert effects[1]["awardedPoints"] == "60"  # bronze: 1 per 100
    assert effects[2] == {
        "__typename": "SlabSideEffect",
        "programCode": "main",
        "previousSlabName": "bronze",
        "previousSlabNumber": 1,
        "upgradedSlabName": "silver",
        "upgradedSlabNumber": 2,
    }
    assert after["transaction"]["sideEffects"][1]["awardedPoints"] == "20"  # silver: 2 per 100
    summary = after["transaction"]["customer"]["pointsSummaries"][0]
    assert (summary["currentSlab"], summary["slabSNo"], summary["nextSlab"]) == ("silver", 2, "gold")
    assert summary["cumulativePurchases"] == "22000"
    assert summary["loyaltyPoints"] == "230"  # 150 + 60 + 20


async def test_points_are_rounded_by_the_programs_rule_and_the_raw_value_is_kept(api):
    # The cafe till earns in the cafe program: 5 points per 100, rounded half up.
    result = await add_transaction(api, bill(tillCode="till-cafe", amount="1010", lineItems=[]))

    effect = result["transaction"]["sideEffects"][1]
    assert (effect["programCode"], effect["rawAwardedPoints"], effect["awardedPoints"]) == ("cafe", "50.5", "51")
    floor = await add_transaction(api, bill(amount="1099", lineItems=[]))  # main program: FLOOR
    assert floor["transaction"]["sideEffects"][1]["rawAwardedPoints"] == "10.99"
    assert floor["transaction"]["sideEffects"][1]["awardedPoints"] == "10"


async def test_points_are_earned_as_a_lot_expiring_by_the_programs_strategy(api, database):
    # Main program: end of the month 12 months after earning, in the org's time zone (IST).
    await add_transaction(api, bill(amount="1000", lineItems=[], billingTime="2026-03-15T10:00:00+05:30"))
    # Cafe program: 90 days after the day of earning.
    await add_transaction(
        api, bill(tillCode="till-cafe", amount="1000", lineItems=[], billingTime="2026-03-31T23:30:00+05:30")
    )

    async with database.read() as connection:
        rows = (await connection.execute(select(PointLot.__table__).order_by(PointLot.__table__.c.id))).all()
    assert [(row.points, row.points_remaining, row.expires_at) for row in rows] == [
        (10, 10, datetime(2027, 3, 31, 18, 29, 59, tzinfo=UTC)),
        (50, 50, datetime(2026, 6, 29, 18, 29, 59, tzinfo=UTC)),
    ]


async def test_outlier_bills_earn_nothing_and_do_not_count_toward_tiers(api):
    result = await add_transaction(api, bill(amount="50000", lineItems=[], outlierStatus="FRAUD"))

    assert result["transaction"]["eligibleAmount"] == "0"
    assert result["transaction"]["sideEffects"][1]["awardedPoints"] == "0"
    assert result["transaction"]["sideEffects"][1]["totalPoints"] is None
    assert result["transaction"]["customer"]["pointsSummaries"][0]["cumulativePurchases"] == "0"
    assert result["transaction"]["customer"]["lifetimePurchases"] == "0"


async def test_a_not_interested_bill_needs_no_customer_and_earns_nothing(api, database):
    before = await table_counts(database)

    result = await add_transaction(api, bill(type="NOT_INTERESTED", customer=None, notInterestedReason="in a hurry"))

    transaction = result["transaction"]
    assert (transaction["type"], transaction["customer"], transaction["sideEffects"]) == ("NOT_INTERESTED", None, [])
    assert transaction["notInterestedReason"] == "in a hurry"
    after = await table_counts(database)
    assert after["transactions"] == before["transactions"] + 1
    assert (after["customers"], after["ledger_entries"]) == (before["customers"], before["ledger_entries"])


async def test_a_known_customer_is_found_by_any_identifier_and_details_are_updated(api, database):
    mobile = new_mobile()
    first = await add_transaction(api, bill(customer={"mobile": mobile, "firstname": "Tom", "lastname": "Sawyer"}))
    user_id = first["transaction"]["customer"]["userId"]

    by_both = await add_transaction(
        api, bill(customer={"mobile": mobile, "email": "Tom@Example.com", "lastname": "Thatcher"})
    )
    by_email = await add_transaction(api, bill(customer={"email": "tom@example.com"}))

    assert by_both["transaction"]["customer"]["userId"] == user_id
    assert by_email["transaction"]["customer"]["userId"] == user_id
    customer = by_email["transaction"]["customer"]
    assert (customer["firstname"], customer["lastname"], customer["email"]) == ("Tom", "Thatcher", "tom@example.com")
    assert customer["loyaltyPoints"] == "54"
    async with database.read() as connection:
        actions = (
            (
                await connection.execute(
                    select(CustomerHistory.__table__.c.action)
                    .where(CustomerHistory.__table__.c.customer_id == int(user_id))
                    .order_by(CustomerHistory.__table__.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["REGISTERED", "IDENTIFIER_ADDED", "DETAILS_UPDATED"]


async def test_a_secondary_identifier_of_another_account_merges_it_into_the_primarys_owner(api, database):
    mobile = new_mobile()
    owner = await add_transaction(api, bill(amount="1000", lineItems=[], customer={"mobile": mobile}))
    other = await add_transaction(api, bill(amount="2000", lineItems=[], customer={"email": "jo@example.com"}))

    merged = await add_transaction(
        api, bill(amount="500", lineItems=[], customer={"mobile": mobile, "email": "jo@example.com"})
    )

    customer = merged["transaction"]["customer"]
    assert customer["userId"] == owner["transaction"]["customer"]["userId"]
    assert merged["transaction"]["sideEffects"][0] == {
        "__typename": "CustomerSideEffect",
        "customerId": customer["userId"],
        "registered": False,
        "mergedCustomerIds": [other["transaction"]["customer"]["userId"]],
        "skippedIdentifiers": [],
    }
    assert customer["email"] == "jo@example.com"
    assert customer["loyaltyPoints"] == "35"  # 10 + 20 moved over + 5
    assert customer["lifetimePurchases"] == "3500"
    victim = (await api.data(VICTIM, {"lookup": by_user_id(other["transaction"]["customer"]["userId"])}))["customer"]
    assert victim == {
        "mergedIntoUserId": customer["userId"],
        "email": None,
        "loyaltyPoints": "0",
        "lifetimePurchases": "0",
    }
    async with database.read() as connection:
        assert await reconcile(connection) == []


async def test_with_the_skip_switch_a_new_primary_registers_a_new_customer_ignoring_the_secondary(org_api, database):
    api = await org_api(org_spec("skipper", skip_secondary_id_on_primary_mismatch=True))
    existing = await add_transaction(api, bill(customer={"email": "sam@example.com"}))
    mobile = new_mobile()

    result = await add_transaction(api, bill(customer={"mobile": mobile, "email": "sam@example.com"}))

    customer = result["transaction"]["customer"]
    assert customer["userId"] != existing["transaction"]["customer"]["userId"]
    assert result["transaction"]["sideEffects"][0] == {
        "__typename": "CustomerSideEffect",
        "customerId": customer["userId"],
        "registered": True,
        "mergedCustomerIds": [],
        "skippedIdentifiers": [{"type": "EMAIL", "value": "sam@example.com"}],
    }
    assert (customer["mobile"], customer["email"]) == ("91" + mobile, None)
    still = await find_customer(api, {"type": "EMAIL", "value": "sam@example.com"})
    assert still["userId"] == existing["transaction"]["customer"]["userId"]
    async with database.read() as connection:
        skipped = (
            await connection.execute(
                select(CustomerHistory.__table__.c.action, CustomerHistory.__table__.c.identifier_value)
                .where(CustomerHistory.__table__.c.customer_id == int(customer["userId"]))
                .order_by(CustomerHistory.__table__.c.id)
            )
        ).all()
    assert [tuple(row) for row in skipped] == [
        ("REGISTERED", None),
        ("SECONDARY_IDENTIFIER_SKIPPED", "sam@example.com"),
    ]


async def test_unknown_products_are_added_to_the_catalog_by_the_seeds_rules(api, database):
    # A new base product passed with a variant: only the base is added.
    await add_transaction(
        api, bill(lineItems=[{"itemCode": "HAT", "variant": "RED", "qty": "1", "rate": "100"}], amount="100")
    )
    # An existing base product with a new variant: the variant is added under it.
    await add_transaction(
        api, bill(lineItems=[{"itemCode": "HAT", "variant": "BLUE", "qty": "1", "rate": "100"}], amount="100")
    )
    await add_transaction(
        api, bill(lineItems=[{"itemCode": "HAT", "variant": "BLUE", "qty": "1", "rate": "100"}], amount="100")
    )

    products = Product.__table__
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(products.c.id, products.c.item_code, products.c.variant_code, products.c.base_product_id)
                .where(products.c.item_code == "HAT")
                .order_by(products.c.id)
            )
        ).all()
    assert [(row.item_code, row.variant_code) for row in rows] == [("HAT", ""), ("HAT", "BLUE")]
    assert rows[1].base_product_id == rows[0].id


async def test_a_batch_adds_each_bill_on_its_own_with_its_own_status(api, database):
    good, bad, also_good = bill(), bill(amount="-5"), bill()

    results = (await api.data(ADD_BATCH, {"input": [good, bad, also_good]}))["addTransactions"]

    assert results == [
        {
            "__typename": "TransactionAdded",
            "itemStatus": {"success": True, "code": 600, "message": "Transaction added successfully"},
            "transaction": {"number": good["number"]},
        },
        {
            "__typename": "InvalidInputError",
            "code": "INVALID_INPUT",
            "message": "must not be negative",
            "field": "input[1].amount",
        },
        {
            "__typename": "TransactionAdded",
            "itemStatus": {"success": True, "code": 600, "message": "Transaction added successfully"},
            "transaction": {"number": also_good["number"]},
        },
    ]
    assert (await table_counts(database))["transactions"] == 2


async def test_a_batch_over_100_bills_is_refused_whole(api, database):
    results = (await api.data(ADD_BATCH, {"input": [bill() for _ in range(101)]}))["addTransactions"]

    assert results == [
        {
            "__typename": "InvalidInputError",
            "code": "BATCH_TOO_LARGE",
            "message": "at most 100 transactions per batch",
            "field": "input",
        }
    ]
    assert (await table_counts(database))["transactions"] == 0


async def test_billing_time_defaults_to_now(api, clock):
    result = await add_transaction(api, bill(number=new_bill_number()))
    assert datetime.fromisoformat(result["transaction"]["billingTime"]) == clock.now()


@pytest.mark.parametrize(
    "respelled",
    [
        {"amount": "1800.00"},
        {"number": "  {number}  "},
        {"customer": {"mobile": "+91 {mobile}", "firstname": "Tom", "lastname": "Sawyer"}},
        {"billingTime": "2026-11-20T04:30:00Z"},
        {"lineItems": [{"serial": 1, "itemCode": "SHIRT-01", "qty": "2.0", "rate": "500.00"}]},
    ],
    ids=["amount-with-zeros", "number-with-spaces", "mobile-with-country-code", "same-instant-in-utc", "line-decimals"],
)
async def test_the_same_bill_spelled_differently_replays(api, database, respelled):
    mobile = new_mobile()
    document = bill(
        amount="1800",
        billingTime="2026-11-20T10:00:00+05:30",
        customer={"mobile": mobile, "firstname": "Tom", "lastname": "Sawyer"},
        lineItems=[{"serial": 1, "itemCode": "SHIRT-01", "qty": "2", "rate": "500"}],
    )
    first = await add_transaction(api, document)
    counts = await table_counts(database)
    again = {**document, **respelled}
    again["number"] = again["number"].format(number=document["number"])
    again["customer"] = {**again["customer"], "mobile": again["customer"]["mobile"].format(mobile=mobile)}

    result = await add_transaction(api, again)

    assert (result["__typename"], result["replayed"]) == ("TransactionAdded", True)
    assert result["transaction"]["id"] == first["transaction"]["id"]
    assert await table_counts(database) == counts


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"amount": "1" + "0" * 30}, "input.amount", "must be less than 100,000,000,000"),
        (
            {"lineItems": [{"itemCode": "X", "qty": "99999999", "rate": "99999999"}]},
            "input.lineItems[0].value",
            "must be less than 100,000,000,000",
        ),
        (
            {"billingTime": "0001-01-01T00:00:00+00:00"},
            "input.billingTime",
            "must be between 2000-01-01 and one day from now",
        ),
        (
            {"billingTime": "9999-12-31T23:59:59+00:00"},
            "input.billingTime",
            "must be between 2000-01-01 and one day from now",
        ),
        ({"number": "B\u0000"}, "input.number", "must not contain NUL characters"),
        ({"notes": "a\u0000b"}, "input.notes", "must not contain NUL characters"),
        ({"billClientId": "C" * 101}, "input.billClientId", "must be at most 100 characters"),
        ({"notInterestedReason": "R" * 501}, "input.notInterestedReason", "must be at most 500 characters"),
        (
            {"lineItems": [{"itemCode": "X", "qty": "1", "transactionNumber": "T" * 51}]},
            "input.lineItems[0].transactionNumber",
            "must be at most 50 characters",
        ),
        ({"customer": {"externalId": "E\u0000"}}, "input.customer.externalId", "must not contain NUL characters"),
    ],
)
async def test_values_out_of_range_are_typed_errors_not_unexpected_ones(api, database, change, field, message):
    before = await table_counts(database)

    result = await add_transaction(api, bill(**change))

    assert (result["field"], result["message"]) == (field, message)
    assert await table_counts(database) == before


async def test_an_unexpected_failure_in_a_batch_item_leaves_the_other_items_their_results(api, database, monkeypatch):
    import app.transactions.service as service

    original = service.prepare

    def failing_prepare(data, *args, **kwargs):
        if data.number == "EXPLODES":
            raise RuntimeError("secret detail")
        return original(data, *args, **kwargs)

    monkeypatch.setattr(service, "prepare", failing_prepare)
    good, bad, also_good = bill(), bill(number="EXPLODES"), bill()

    results = (await api.data(ADD_BATCH, {"input": [good, bad, also_good]}))["addTransactions"]

    assert [result["__typename"] for result in results] == ["TransactionAdded", "InternalError", "TransactionAdded"]
    assert results[1] == {
        "__typename": "InternalError",
        "code": "INTERNAL_ERROR",
        "message": "Unexpected error.",
        "field": "input[1]",
    }
    assert (await table_counts(database))["transactions"] == 2


async def test_a_body_that_is_not_utf8_is_a_400_not_a_500(api):
    response = await api.client.post(
        "/graphql",
        content=b'{"query": "\xff"}',
        headers={"Authorization": api.credentials.header, "content-type": "application/json"},
    )

    assert response.status_code == 400
