"""A bill's side effects as stored: bills written before the side effects became dataclasses (their
JSON document, camelCase with amounts as text) read back as they always did, through the service
and through the API, and new bills are stored in that same format."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from app.kernel.enums import IdentifierType
from app.transactions.models import Transaction
from app.transactions.side_effects import (
    CustomerResolved,
    PointsAwarded,
    PointsReturned,
    PromoCodeApplied,
    RedemptionReversed,
    SideEffectKind,
    SkippedIdentifier,
    TierDowngraded,
    TierUpgraded,
    from_document,
    to_document,
)
from tests.client import add, add_transaction, purchase_day
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, new_mobile

transactions = Transaction.__table__

# One side effect of each kind, exactly as addTransaction and returnTransaction stored them
# before this module existed (keys, order, type tags, amounts as text, ids as numbers).
STORED_BEFORE = [
    {
        "type": "customer",
        "customerId": 7,
        "registered": False,
        "mergedCustomerIds": [3, 5],
        "skippedIdentifiers": [{"type": "EMAIL", "value": "huck@example.com"}],
    },
    {
        "type": "points",
        "entityType": "USER",
        "customerId": 7,
        "programId": 1,
        "programCode": "main",
        "awardedPoints": "10",
        "rawAwardedPoints": "10.99",
        "totalPoints": "116",
    },
    {
        "type": "points",
        "entityType": "USER",
        "customerId": 7,
        "programId": 2,
        "programCode": "cafe",
        "awardedPoints": "0",
        "rawAwardedPoints": "0.40",
        "totalPoints": None,
    },
    {
        "type": "slab",
        "programId": 1,
        "programCode": "main",
        "previousSlabName": "bronze",
        "previousSlabNumber": 1,
        "upgradedSlabName": "silver",
        "upgradedSlabNumber": 2,
    },
    {
        "type": "pointsReturn",
        "customerId": 7,
        "programId": 1,
        "programCode": "main",
        "returnedPoints": "12.5",
        "pointsNotRecovered": "3",
    },
    {"type": "redemptionReversal", "customerId": 7, "redemptionId": 41, "reversedPoints": "4.25"},
    {
        "type": "slabDowngrade",
        "programId": 1,
        "programCode": "main",
        "previousSlabName": "silver",
        "previousSlabNumber": 2,
        "downgradedSlabName": "bronze",
        "downgradedSlabNumber": 1,
    },
    {
        "type": "promoCode",
        "code": "WELCOME-10",
        "promotionId": 9,
        "promotionName": "Welcome",
        "discount": "12.35",
        "linked": True,
    },
]

READ_BACK = (
    CustomerResolved(
        customer_id=7,
        registered=False,
        merged_customer_ids=(3, 5),
        skipped_identifiers=(SkippedIdentifier(IdentifierType.EMAIL, "huck@example.com"),),
    ),
    PointsAwarded(
        customer_id=7,
        program_id=1,
        program_code="main",
        points_awarded=Decimal("10"),
        points_awarded_raw=Decimal("10.99"),
        balance_after=Decimal("116"),
    ),
    PointsAwarded(
        customer_id=7,
        program_id=2,
        program_code="cafe",
        points_awarded=Decimal("0"),
        points_awarded_raw=Decimal("0.40"),
        balance_after=None,
    ),
    TierUpgraded(
        program_id=1,
        program_code="main",
        tier_name_before="bronze",
        tier_number_before=1,
        tier_name_after="silver",
        tier_number_after=2,
    ),
    PointsReturned(
        customer_id=7,
        program_id=1,
        program_code="main",
        points_returned=Decimal("12.5"),
        points_not_recovered=Decimal("3"),
    ),
    RedemptionReversed(customer_id=7, redemption_id=41, points_reversed=Decimal("4.25")),
    TierDowngraded(
        program_id=1,
        program_code="main",
        tier_name_before="silver",
        tier_number_before=2,
        tier_name_after="bronze",
        tier_number_after=1,
    ),
    PromoCodeApplied(
        code="WELCOME-10", promotion_id=9, promotion_name="Welcome", discount=Decimal("12.35"), linked=True
    ),
)

EVERY_SIDE_EFFECT = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename
    ... on TransactionAdded {
      replayed
      transaction {
        promoDiscount
        sideEffects {
          __typename
          ... on CustomerSideEffect { customerId registered mergedCustomerIds skippedIdentifiers { type value } }
          ... on PointsSideEffect {
            entityType customerId programId programCode awardedPoints rawAwardedPoints totalPoints
          }
          ... on SlabSideEffect {
            programId programCode previousSlabName previousSlabNumber upgradedSlabName upgradedSlabNumber
          }
          ... on PointsReturnedSideEffect { customerId programId programCode returnedPoints pointsNotRecovered }
          ... on RedemptionReversedSideEffect { customerId redemptionId reversedPoints }
          ... on SlabDowngradeSideEffect {
            programId programCode previousSlabName previousSlabNumber downgradedSlabName downgradedSlabNumber
          }
          ... on PromoCodeSideEffect { code promotionId promotionName discount linked }
        }
      }
    }
  }
}
"""


def test_a_document_stored_before_reads_back_as_one_dataclass_per_kind():
    assert from_document(STORED_BEFORE) == READ_BACK
    assert [effect.kind for effect in READ_BACK] == [
        SideEffectKind.CUSTOMER_RESOLVED,
        SideEffectKind.POINTS_AWARDED,
        SideEffectKind.POINTS_AWARDED,
        SideEffectKind.TIER_UPGRADED,
        SideEffectKind.POINTS_RETURNED,
        SideEffectKind.REDEMPTION_REVERSED,
        SideEffectKind.TIER_DOWNGRADED,
        SideEffectKind.PROMO_CODE_APPLIED,
    ]


def test_side_effects_are_written_in_the_format_stored_before():
    # The same JSON text: keys, key order, type tags and amounts as text.
    assert json.dumps(to_document(READ_BACK)) == json.dumps(STORED_BEFORE)


def test_a_stored_side_effect_of_unknown_type_fails_loudly():
    with pytest.raises(ValueError, match="unknown side effect type 'bonus'"):
        from_document([{"type": "bonus", "customerId": 7}])


async def test_a_bill_stored_before_answers_through_the_api_as_it_did(api):
    # Given a bill whose stored side effects are a document written before the dataclasses
    document = bill()
    await add(api, document)
    await api.database.run_write(
        lambda connection: connection.execute(
            update(transactions).where(transactions.c.number == document["number"]).values(side_effects=STORED_BEFORE)
        )
    )

    # When the bill is posted again, the answer is the stored bill, read back
    again = await add_transaction(api, document, query=EVERY_SIDE_EFFECT)

    assert again["replayed"] is True
    assert again["transaction"]["promoDiscount"] == "12.35"
    assert again["transaction"]["sideEffects"] == [
        {
            "__typename": "CustomerSideEffect",
            "customerId": "7",
            "registered": False,
            "mergedCustomerIds": ["3", "5"],
            "skippedIdentifiers": [{"type": "EMAIL", "value": "huck@example.com"}],
        },
        {
            "__typename": "PointsSideEffect",
            "entityType": "USER",
            "customerId": "7",
            "programId": "1",
            "programCode": "main",
            "awardedPoints": "10",
            "rawAwardedPoints": "10.99",
            "totalPoints": "116",
        },
        {
            "__typename": "PointsSideEffect",
            "entityType": "USER",
            "customerId": "7",
            "programId": "2",
            "programCode": "cafe",
            "awardedPoints": "0",
            "rawAwardedPoints": "0.4",
            "totalPoints": None,
        },
        {
            "__typename": "SlabSideEffect",
            "programId": "1",
            "programCode": "main",
            "previousSlabName": "bronze",
            "previousSlabNumber": 1,
            "upgradedSlabName": "silver",
            "upgradedSlabNumber": 2,
        },
        {
            "__typename": "PointsReturnedSideEffect",
            "customerId": "7",
            "programId": "1",
            "programCode": "main",
            "returnedPoints": "12.5",
            "pointsNotRecovered": "3",
        },
        {
            "__typename": "RedemptionReversedSideEffect",
            "customerId": "7",
            "redemptionId": "41",
            "reversedPoints": "4.25",
        },
        {
            "__typename": "SlabDowngradeSideEffect",
            "programId": "1",
            "programCode": "main",
            "previousSlabName": "silver",
            "previousSlabNumber": 2,
            "downgradedSlabName": "bronze",
            "downgradedSlabNumber": 1,
        },
        {
            "__typename": "PromoCodeSideEffect",
            "code": "WELCOME-10",
            "promotionId": "9",
            "promotionName": "Welcome",
            "discount": "12.35",
            "linked": True,
        },
    ]


async def test_a_return_stored_before_answers_its_points_from_its_stored_side_effect(api):
    # Given a return whose stored side effects are a document written before the dataclasses
    mobile = new_mobile()
    bought = (await add(api, bill(customer={"mobile": mobile})))["transaction"]
    return_document = {
        "type": "RETURN",
        "returnType": "FULL",
        "number": bought["number"],
        "purchaseTime": purchase_day(bought),
        "tillCode": bought["tillCode"],
        "parentBillNumber": "RET-1",
        "customer": {"mobile": mobile},
    }
    first = (await api.data(RETURN_TRANSACTION, {"input": return_document}))["returnTransaction"]
    stored = [
        {
            "type": "pointsReturn",
            "customerId": int(bought["customer"]["userId"]),
            "programId": 1,
            "programCode": "main",
            "returnedPoints": "15",
            "pointsNotRecovered": "3",
        }
    ]
    await api.database.run_write(
        lambda connection: connection.execute(
            update(transactions).where(transactions.c.id == int(first["transaction"]["id"])).values(side_effects=stored)
        )
    )

    # When the return is posted again, its points are read from the stored side effect
    again = (await api.data(RETURN_TRANSACTION, {"input": return_document}))["returnTransaction"]

    assert (first["pointsReturned"], first["pointsNotRecovered"]) == ("18", "0")
    assert (again["replayed"], again["pointsReturned"], again["pointsNotRecovered"]) == (True, "15", "3")
    assert again["transaction"]["sideEffects"] == [
        {
            "__typename": "PointsReturnedSideEffect",
            "programCode": "main",
            "returnedPoints": "15",
            "pointsNotRecovered": "3",
        }
    ]


async def test_a_new_bill_is_stored_in_the_format_bills_were_stored_in_before(api):
    document = bill()

    added = (await add(api, document))["transaction"]

    async with api.database.read() as connection:
        stored = (
            await connection.execute(select(transactions.c.side_effects).where(transactions.c.id == int(added["id"])))
        ).scalar_one()
    customer_id = int(added["customer"]["userId"])
    assert stored == [
        {
            "type": "customer",
            "customerId": customer_id,
            "registered": True,
            "mergedCustomerIds": [],
            "skippedIdentifiers": [],
        },
        {
            "type": "points",
            "entityType": "USER",
            "customerId": customer_id,
            "programId": stored[1]["programId"],
            "programCode": "main",
            "awardedPoints": "18",
            "rawAwardedPoints": "18.000000",  # the scales of the earn rule and of the balance column
            "totalPoints": "18.0000",
        },
    ]
