"""Points redemptions through the API: redeem, validate, reverse, group redemption, bills that
carry redemptions, idempotency, the member-care list, and 50 redemptions at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.kernel.enums import PointsCategory
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType, PointLot
from app.ledger.rules import lot_expiry
from app.organizations.models import ExpiryStrategy
from tests.client import (
    add_transaction,
    buy,
    earn,
    entry_shape,
    find_customer,
    ledger_entries,
    post_at_once,
)
from tests.documents import ADD_TRANSACTION
from tests.factories import bill, by_mobile, by_user_id, new_mobile, org_spec
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts

IST = ZoneInfo("Asia/Kolkata")
lots_table = PointLot.__table__

REDEMPTION_FIELDS = """
fragment RedemptionFields on PointsRedemption {
  id customerId points pointsReversed status balanceAfter eventLogId source storeCode tillCode
  transactionId transactionNumber externalReference notes redeemedAt
  programs { programCode points balanceAfter }
  lotsConsumed { programCode points activeFrom expiresAt }
  reversals { id points notes returnTransactionId eventLogId lotsRestored { programCode points activeFrom expiresAt } }
}
"""

REDEEM = (
    """
mutation Redeem($input: RedeemPointsInput!) {
  redeemPoints(input: $input) {
    __typename
    ... on PointsRedeemed { replayed redemption { ...RedemptionFields } }
    ... on Error { code message field }
    ... on InsufficientPointsError { availablePoints requestedPoints }
  }
}
"""
    + REDEMPTION_FIELDS
)

VALIDATE = """
query Validate($input: RedeemPointsInput!) {
  validateRedemption(input: $input) {
    __typename
    ... on RedemptionValidated {
      customerId points spendablePoints programs { programCode points spendablePoints } replayedRedemptionId
    }
    ... on Error { code message field }
    ... on InsufficientPointsError { availablePoints requestedPoints }
  }
}
"""

REVERSE = (
    """
mutation Reverse($input: ReverseRedemptionInput!) {
  reverseRedemption(input: $input) {
    __typename
    ... on RedemptionReversed {
      replayed
      reversal {
        id points notes returnTransactionId eventLogId lotsRestored { programCode points activeFrom expiresAt }
      }
      redemption { ...RedemptionFields }
    }
    ... on Error { code message field }
    ... on RedemptionReversalLimitError { pointsRedeemed pointsReversed pointsLeft }
  }
}
"""
    + REDEMPTION_FIELDS
)

REDEMPTIONS = (
    """
query Redemptions($customer: CustomerLookupInput!, $first: Int = 10, $after: String) {
  pointsRedemptions(customer: $customer, first: $first, after: $after) {
    __typename
    ... on PointsRedemptionConnection { customerId nodes { ...RedemptionFields } pageInfo { hasNextPage endCursor } }
    ... on Error { code message field }
  }
}
"""
    + REDEMPTION_FIELDS
)


async def redeem(api, mobile, points, **overrides):
    return (
        await api.data(
            REDEEM, {"input": {"customer": by_mobile(mobile), "points": points, "tillCode": "till-1", **overrides}}
        )
    )["redeemPoints"]


async def validate(api, mobile, points, **overrides):
    return (
        await api.data(
            VALIDATE, {"input": {"customer": by_mobile(mobile), "points": points, "tillCode": "till-1", **overrides}}
        )
    )["validateRedemption"]


async def reverse(api, redemption_id, points=None, **overrides):
    return (await api.data(REVERSE, {"input": {"redemptionId": redemption_id, "points": points, **overrides}}))[
        "reverseRedemption"
    ]


def expiry_of(billing_time: datetime) -> str:
    """When main's points earned at `billing_time` expire (end of the month 12 months on, in IST)."""
    return lot_expiry(ExpiryStrategy.END_OF_MONTH_AFTER_MONTHS, 12, billing_time, IST).isoformat()


def lots(items):
    return [(item["programCode"], item["points"], item["expiresAt"]) for item in items]


# --- Redeem ---------------------------------------------------------------------------------


async def test_a_redemption_writes_one_debit_spending_the_lot_and_returns_its_id_balance_and_lots(api, database):
    mobile = new_mobile()
    earned = (await buy(api, mobile, "10000"))["transaction"]  # 100 points

    result = await redeem(api, mobile, "40", notes="gift card", externalReference="POS-77", source="ECOMMERCE")

    assert result["__typename"] == "PointsRedeemed"
    assert result["replayed"] is False
    redemption = result["redemption"]
    assert {
        key: redemption[key]
        for key in (
            "customerId",
            "points",
            "pointsReversed",
            "status",
            "balanceAfter",
            "source",
            "storeCode",
            "tillCode",
            "transactionId",
            "externalReference",
            "notes",
            "reversals",
        )
    } == {
        "customerId": earned["customer"]["userId"],
        "points": "40",
        "pointsReversed": "0",
        "status": "REDEEMED",
        "balanceAfter": "60",
        "source": "ECOMMERCE",
        "storeCode": "store-1",
        "tillCode": "till-1",
        "transactionId": None,
        "externalReference": "POS-77",
        "notes": "gift card",
        "reversals": [],
    }
    assert redemption["programs"] == [{"programCode": "main", "points": "40", "balanceAfter": "60"}]
    assert lots(redemption["lotsConsumed"]) == [
        ("main", "40", expiry_of(datetime.fromisoformat(earned["billingTime"])))
    ]
    newest = (await ledger_entries(api, by_mobile(mobile)))[0]
    assert entry_shape(newest) == ("POINTS_REDEMPTION", "POINTS_REDEMPTION", "DEBIT", "main", "40", "60", "-40")
    assert (newest["eventLogId"], newest["tillCode"], newest["eventSource"]) == (
        redemption["eventLogId"],
        "till-1",
        "ECOMMERCE",
    )
    main = (await find_customer(api, by_mobile(mobile)))["pointsSummaries"][0]
    assert (main["programCode"], main["loyaltyPoints"], main["lifetimePoints"]) == ("main", "60", "100")
    await assert_reconciled(database)


async def test_validation_gives_redeems_answer_with_the_spendable_points_and_writes_nothing(api, database):
    mobile = new_mobile()
    earned = (await buy(api, mobile, "10000"))["transaction"]
    before = await table_counts(database)

    validated = await validate(api, mobile, "40")

    assert validated == {
        "__typename": "RedemptionValidated",
        "customerId": earned["customer"]["userId"],
        "points": "40",
        "spendablePoints": "100",
        "programs": [{"programCode": "main", "points": "40", "spendablePoints": "100"}],
        "replayedRedemptionId": None,
    }
    assert await table_counts(database) == before
    redeemed = await redeem(api, mobile, "40")
    assert (redeemed["__typename"], redeemed["redemption"]["balanceAfter"]) == ("PointsRedeemed", "60")


@pytest.mark.parametrize(
    ("points", "overrides", "expected"),
    [
        (
            "101",
            {},
            {
                "__typename": "InsufficientPointsError",
                "code": "INSUFFICIENT_POINTS",
                "field": "input.points",
                "availablePoints": "100",
                "requestedPoints": "101",
            },
        ),
        ("10.5", {}, {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "field": "input.points"}),
        ("0", {}, {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "field": "input.points"}),
        ("-5", {}, {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "field": "input.points"}),
        (
            "10",
            {"programCode": "nope"},
            {"__typename": "NotFoundError", "code": "PROGRAM_NOT_FOUND", "field": "input.programCode"},
        ),
        (
            "10",
            {"tillCode": "nope"},
            {"__typename": "NotFoundError", "code": "TILL_NOT_FOUND", "field": "input.tillCode"},
        ),
        (
            "10",
            {"storeCode": "store-2"},
            {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "field": "input.tillCode"},
        ),
        (
            "10",
            {"customer": {"type": "MOBILE", "value": "9700000999"}},
            {"__typename": "NotFoundError", "code": "CUSTOMER_NOT_FOUND", "field": "input.customer"},
        ),
        (
            "10",
            {"customer": {"type": "USER_ID", "value": "999999"}},
            {"__typename": "NotFoundError", "code": "CUSTOMER_NOT_FOUND", "field": "input.customer"},
        ),
        (
            "10",
            {"idempotencyKey": " "},
            {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "field": "input.idempotencyKey"},
        ),
    ],
)
async def test_a_refused_redemption_is_refused_alike_by_validation_and_writes_nothing(
    api, database, points, overrides, expected
):
    mobile = new_mobile()
    await earn(api, mobile, "10000")  # 100 points
    before = await table_counts(database)

    validated = await validate(api, mobile, points, **overrides)
    redeemed = await redeem(api, mobile, points, **overrides)

    assert {key: validated[key] for key in expected} == expected
    assert validated == redeemed
    assert await table_counts(database) == before
    assert (await find_customer(api, by_mobile(mobile)))["loyaltyPoints"] == "100"


async def test_points_must_be_a_multiple_of_the_programs_precision(api):
    mobile = new_mobile()
    await earn(api, mobile, "10000")

    result = await redeem(api, mobile, "10.5")

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "field": "input.points",
        "message": "must be a multiple of 1 (the program's points precision)",
    }


async def test_a_redemption_below_the_programs_minimum_is_refused(org_api):
    spec = org_spec("minimum")
    spec["programs"][0]["redemption_minimum"] = "50"
    api = await org_api(spec)
    mobile = new_mobile()
    await earn(api, mobile, "10000")

    below = await redeem(api, mobile, "49")
    at = await redeem(api, mobile, "50")

    assert below == {
        "__typename": "InvalidInputError",
        "code": "BELOW_REDEMPTION_MINIMUM",
        "field": "input.points",
        "message": "must be at least 50, the redemption minimum of main",
    }
    assert (at["__typename"], at["redemption"]["balanceAfter"]) == ("PointsRedeemed", "50")


# --- Pending points -------------------------------------------------------------------------


async def test_pending_points_are_not_spendable_until_their_start(api, database, clock):
    mobile = new_mobile()
    earned = (await buy(api, mobile, "10000"))["transaction"]  # 100 active points
    customer_id = int(earned["customer"]["userId"])
    starts = clock.now() + timedelta(days=10)

    async def pending_award(connection):  # 50 points that start in 10 days, straight into the ledger
        accounts = [
            row
            for row in await ledger.customer_accounts(connection, [customer_id])
            if row.category == PointsCategory.REGULAR.value
        ]
        account = min(accounts, key=lambda row: row.program_id)  # main: the org's first program
        await ledger.post_event(
            connection,
            org_id=account.org_id,
            now=clock.now(),
            draft=ledger.EventDraft(EventType.TRANSACTION_ADD, customer_id, "INSTORE", None, None),
            postings=[
                ledger.Posting(
                    ledger.AccountRef(account.id, customer_id, account.program_id, PointsCategory.REGULAR),
                    EntryType.CREDIT,
                    EntryKind.POINTS_ALLOCATION,
                    Decimal(50),
                    lots=(ledger.LotDraft(Decimal(50), starts, None),),
                )
            ],
        )

    await database.run_write(pending_award)

    validated = await validate(api, mobile, "150")
    refused = await redeem(api, mobile, "101")
    spent = await redeem(api, mobile, "100")

    assert (validated["__typename"], validated["availablePoints"], validated["requestedPoints"]) == (
        "InsufficientPointsError",
        "100",
        "150",
    )
    assert (refused["__typename"], refused["availablePoints"]) == ("InsufficientPointsError", "100")
    redemption = spent["redemption"]
    assert lots(redemption["lotsConsumed"]) == [
        ("main", "100", expiry_of(datetime.fromisoformat(earned["billingTime"])))
    ]
    assert redemption["balanceAfter"] == "50"  # the pending 50 are still there, not spendable yet
    assert (await validate(api, mobile, "1"))["availablePoints"] == "0"
    await assert_reconciled(database)


async def test_promised_points_are_not_spendable_before_they_convert_into_regular(org_api):
    spec = org_spec("promised")
    spec["programs"][0].update(earn_category="PROMISED", promised_days=14)
    api = await org_api(spec)
    mobile = new_mobile()
    await earn(api, mobile, "10000")  # 100 PROMISED points, pending for 14 days

    result = await redeem(api, mobile, "10")

    assert (result["__typename"], result["code"], result["availablePoints"], result["requestedPoints"]) == (
        "InsufficientPointsError",
        "INSUFFICIENT_POINTS",
        "0",
        "10",
    )


# --- Consumption order and reversal ---------------------------------------------------------


async def three_lots(api):
    """A customer with 30 points earned 5 months ago, 20 two months ago and 50 now: three lots
    expiring in that order. Returns the mobile and the three expiry dates."""
    mobile = new_mobile()
    now = api.clock.now()
    times = [now - timedelta(days=150), now - timedelta(days=60), now]
    for amount, billing_time in zip(("3000", "2000", "5000"), times, strict=True):
        await earn(api, mobile, amount, billing_time=billing_time)
    return mobile, [expiry_of(billing_time) for billing_time in times]


async def test_a_redemption_spends_the_first_expiring_lots_first(api, database):
    mobile, (first, second, third) = await three_lots(api)
    assert first < second < third

    result = await redeem(api, mobile, "60")

    assert lots(result["redemption"]["lotsConsumed"]) == [
        ("main", "30", first),
        ("main", "20", second),
        ("main", "10", third),
    ]
    again = await redeem(api, mobile, "5")
    assert lots(again["redemption"]["lotsConsumed"]) == [("main", "5", third)]
    await assert_reconciled(database)


async def test_a_full_reversal_gives_the_points_back_to_their_lots_and_a_second_one_is_refused(api, database):
    mobile, (first, second, third) = await three_lots(api)
    redemption = (await redeem(api, mobile, "60"))["redemption"]

    result = await reverse(api, redemption["id"], notes="bill cancelled")

    assert result["__typename"] == "RedemptionReversed"
    assert result["replayed"] is False
    reversal = result["reversal"]
    assert (reversal["points"], reversal["notes"], reversal["returnTransactionId"]) == ("60", "bill cancelled", None)
    # Each lot gets its own points back, with its own expiry.
    assert lots(reversal["lotsRestored"]) == [("main", "30", first), ("main", "20", second), ("main", "10", third)]
    after = result["redemption"]
    assert (after["pointsReversed"], after["status"], after["reversals"]) == ("60", "REVERSED", [reversal])
    newest = (await ledger_entries(api, by_mobile(mobile)))[0]
    assert entry_shape(newest) == ("REDEMPTION_REVERSAL", "REDEMPTION_REVERSAL", "CREDIT", "main", "60", "100", "60")
    assert newest["eventLogId"] == reversal["eventLogId"]
    assert (await validate(api, mobile, "100"))["spendablePoints"] == "100"
    assert (await find_customer(api, by_mobile(mobile)))["loyaltyPoints"] == "100"

    before = await table_counts(database)
    again = await reverse(api, redemption["id"])
    assert again == {
        "__typename": "RedemptionReversalLimitError",
        "code": "ALREADY_REVERSED",
        "field": "input.redemptionId",
        "message": "every point of this redemption was reversed already",
        "pointsRedeemed": "60",
        "pointsReversed": "60",
        "pointsLeft": "0",
    }
    assert await table_counts(database) == before
    await assert_reconciled(database)


async def test_partial_reversals_add_up_to_the_redemption_and_never_beyond(api, database):
    mobile, (first, second, third) = await three_lots(api)
    redemption = (await redeem(api, mobile, "60"))[
        "redemption"
    ]  # 30 of the first lot, 20 of the second, 10 of the third

    one = await reverse(api, redemption["id"], "15")
    two = await reverse(api, redemption["id"], "25")
    before = await table_counts(database)
    too_many = await reverse(api, redemption["id"], "21")
    counts_after_refusal = await table_counts(database)
    unchanged = await api.data(REDEMPTIONS, {"customer": by_mobile(mobile)})
    rest = await reverse(api, redemption["id"])

    # A partial reversal gives back to the latest-expiring lots first (listed first-expiring first).
    assert lots(one["reversal"]["lotsRestored"]) == [("main", "5", second), ("main", "10", third)]
    assert (one["redemption"]["pointsReversed"], one["redemption"]["status"]) == ("15", "PARTIALLY_REVERSED")
    assert lots(two["reversal"]["lotsRestored"]) == [("main", "10", first), ("main", "15", second)]
    assert too_many == {
        "__typename": "RedemptionReversalLimitError",
        "code": "REVERSAL_EXCEEDS_REDEMPTION",
        "field": "input.points",
        "message": "only 20 points of this redemption are left to reverse",
        "pointsRedeemed": "60",
        "pointsReversed": "40",
        "pointsLeft": "20",
    }
    assert counts_after_refusal == before
    assert unchanged["pointsRedemptions"]["nodes"][0]["pointsReversed"] == "40"
    assert lots(rest["reversal"]["lotsRestored"]) == [("main", "20", first)]
    assert (rest["reversal"]["points"], rest["redemption"]["pointsReversed"], rest["redemption"]["status"]) == (
        "20",
        "60",
        "REVERSED",
    )
    assert [reversal["points"] for reversal in rest["redemption"]["reversals"]] == ["15", "25", "20"]
    assert (await find_customer(api, by_mobile(mobile)))["loyaltyPoints"] == "100"
    await assert_reconciled(database)


async def test_a_reversal_refused_for_too_many_points_writes_nothing(api, database):
    mobile = new_mobile()
    await earn(api, mobile, "10000")
    redemption = (await redeem(api, mobile, "40"))["redemption"]
    before = await table_counts(database)

    results = [await reverse(api, redemption["id"], points) for points in ("41", "0", "1.5")]
    results += [await reverse(api, "abc", "1"), await reverse(api, "999999", "1")]

    assert [(result["__typename"], result["code"], result["field"]) for result in results] == [
        ("RedemptionReversalLimitError", "REVERSAL_EXCEEDS_REDEMPTION", "input.points"),
        ("InvalidInputError", "INVALID_INPUT", "input.points"),
        ("InvalidInputError", "INVALID_INPUT", "input.points"),
        ("NotFoundError", "REDEMPTION_NOT_FOUND", "input.redemptionId"),
        ("NotFoundError", "REDEMPTION_NOT_FOUND", "input.redemptionId"),
    ]
    assert await table_counts(database) == before
    listed = (await api.data(REDEMPTIONS, {"customer": by_mobile(mobile)}))["pointsRedemptions"]["nodes"]
    assert [(node["pointsReversed"], node["status"]) for node in listed] == [("0", "REDEEMED")]


async def test_a_lot_past_its_expiry_comes_back_with_it_and_is_not_spendable(api, database, clock):
    mobile = new_mobile()
    earned = (await buy(api, mobile, "10000"))["transaction"]
    redemption = (await redeem(api, mobile, "40"))["redemption"]
    expired_at = clock.now() - timedelta(days=1)

    async def expire_the_lot(connection):
        # Test-only device: the lot's expiry date passes while the points are redeemed (the API
        # never rewrites it; a clock in the future would do the same).
        await connection.execute(update(lots_table).values(expires_at=expired_at))

    await database.run_write(expire_the_lot)

    result = await reverse(api, redemption["id"])

    assert lots(result["reversal"]["lotsRestored"]) == [("main", "40", expired_at.isoformat())]
    # Past their expiry: not held, whether or not the expiry run has debited them (the whole lot, 100).
    assert (await find_customer(api, by_mobile(mobile)))["loyaltyPoints"] == "0"
    validated = await validate(api, mobile, "1")
    assert (validated["__typename"], validated["availablePoints"]) == ("InsufficientPointsError", "0")
    assert earned["customer"]["userId"] == redemption["customerId"]
    await assert_reconciled(database)


async def test_another_orgs_redemption_is_not_found(api, org_api):
    mobile = new_mobile()
    await earn(api, mobile, "10000")
    redemption = (await redeem(api, mobile, "40"))["redemption"]
    other = await org_api(org_spec("other"))
    other_mobile = new_mobile()
    await earn(other, other_mobile, "1000")

    reversed_elsewhere = await reverse(other, redemption["id"])
    applied_elsewhere = await add_transaction(
        other, bill(customer={"mobile": other_mobile}, lineItems=[], pointsRedemptions=[redemption["id"]])
    )

    assert (reversed_elsewhere["__typename"], reversed_elsewhere["code"]) == ("NotFoundError", "REDEMPTION_NOT_FOUND")
    assert (applied_elsewhere["__typename"], applied_elsewhere["code"], applied_elsewhere["field"]) == (
        "NotFoundError",
        "REDEMPTION_NOT_FOUND",
        "input.pointsRedemptions[0]",
    )


# --- Group redemption -----------------------------------------------------------------------


def concept_spec(code):
    spec = org_spec(code)
    for program in spec["programs"]:
        program["concept"] = "mall"
    spec["stores"][0]["tills"].append({"code": "till-mall", "concept": "mall"})
    return spec


async def test_a_group_redemption_draws_from_the_concepts_programs_in_order_in_one_event(org_api, database):
    api = await org_api(concept_spec("group"))
    mobile = new_mobile()
    await earn(api, mobile, "10000")  # 100 main points
    await earn(api, mobile, "1000", till="till-cafe")  # 50 cafe points

    validated = await validate(api, mobile, "151", tillCode="till-mall")
    result = await redeem(api, mobile, "120", tillCode="till-mall")

    assert (validated["__typename"], validated["availablePoints"]) == ("InsufficientPointsError", "150")
    redemption = result["redemption"]
    assert (redemption["points"], redemption["balanceAfter"], redemption["tillCode"]) == ("120", "30", "till-mall")
    assert redemption["programs"] == [
        {"programCode": "main", "points": "100", "balanceAfter": "0"},
        {"programCode": "cafe", "points": "20", "balanceAfter": "30"},
    ]
    assert [(lot["programCode"], lot["points"]) for lot in redemption["lotsConsumed"]] == [
        ("main", "100"),
        ("cafe", "20"),
    ]
    entries = await ledger_entries(api, by_mobile(mobile))
    group = [entry for entry in entries if entry["eventLogId"] == redemption["eventLogId"]]
    assert sorted(entry_shape(entry) for entry in group) == [
        ("POINTS_REDEMPTION", "POINTS_REDEMPTION", "DEBIT", "cafe", "20", "30", "-120"),
        ("POINTS_REDEMPTION", "POINTS_REDEMPTION", "DEBIT", "main", "100", "0", "-120"),
    ]

    # The ledger of one program shows its own entries; with includeTillConceptEvents, the group
    # redemptions of its concept's tills too (their entries in the other programs included).
    cafe_only = await ledger_entries(api, by_mobile(mobile), {"programCodes": ["cafe"]})
    with_concept = await ledger_entries(
        api, by_mobile(mobile), {"programCodes": ["cafe"], "includeTillConceptEvents": True}
    )
    assert {entry["programCode"] for entry in cafe_only} == {"cafe"}
    assert [entry for entry in with_concept if entry["programCode"] == "main"] == [
        next(entry for entry in group if entry["programCode"] == "main")
    ]
    assert [entry for entry in with_concept if entry["programCode"] == "cafe"] == cafe_only
    assert await ledger_entries(
        api, by_mobile(mobile), {"programCodes": ["main"], "includeTillConceptEvents": False}
    ) == [entry for entry in entries if entry["programCode"] == "main"]
    await assert_reconciled(database)


async def test_a_program_named_at_a_concept_till_redeems_from_that_program_alone(org_api):
    api = await org_api(concept_spec("named"))
    mobile = new_mobile()
    await earn(api, mobile, "10000")
    await earn(api, mobile, "1000", till="till-cafe")

    refused = await redeem(api, mobile, "60", tillCode="till-mall", programCode="cafe")
    result = await redeem(api, mobile, "50", tillCode="till-mall", programCode="cafe")

    assert (refused["__typename"], refused["availablePoints"]) == ("InsufficientPointsError", "50")
    assert result["redemption"]["programs"] == [{"programCode": "cafe", "points": "50", "balanceAfter": "0"}]


async def test_reversing_a_group_redemption_gives_each_program_its_points_back(org_api, database):
    api = await org_api(concept_spec("group-reverse"))
    mobile = new_mobile()
    await earn(api, mobile, "10000")
    await earn(api, mobile, "1000", till="till-cafe")
    redemption = (await redeem(api, mobile, "120", tillCode="till-mall"))["redemption"]

    partial = await reverse(api, redemption["id"], "110")
    rest = await reverse(api, redemption["id"])

    assert [(lot["programCode"], lot["points"]) for lot in partial["reversal"]["lotsRestored"]] == [
        ("main", "100"),
        ("cafe", "10"),
    ]
    assert [(lot["programCode"], lot["points"]) for lot in rest["reversal"]["lotsRestored"]] == [("cafe", "10")]
    summaries = (await find_customer(api, by_mobile(mobile)))["pointsSummaries"]
    assert [(summary["programCode"], summary["loyaltyPoints"]) for summary in summaries] == [
        ("main", "100"),
        ("cafe", "50"),
    ]
    await assert_reconciled(database)


# --- Bills that carry redemptions -----------------------------------------------------------


async def add_bill(api, mobile, redemption_ids, **overrides):
    document = bill(
        lineItems=[], amount="500", pointsRedemptions=redemption_ids, **{"customer": {"mobile": mobile}, **overrides}
    )
    return await add_transaction(api, document)


async def test_a_bill_carries_its_customers_redemptions_and_member_care_sees_the_bill(api, database):
    mobile = new_mobile()
    await earn(api, mobile, "10000")
    first = (await redeem(api, mobile, "10"))["redemption"]
    second = (await redeem(api, mobile, "20"))["redemption"]

    added = await add_bill(api, mobile, [first["id"], second["id"]], number="PAID-BY-POINTS")

    assert added["__typename"] == "TransactionAdded"
    listed = (await api.data(REDEMPTIONS, {"customer": by_mobile(mobile)}))["pointsRedemptions"]["nodes"]
    assert [(node["id"], node["transactionId"], node["transactionNumber"]) for node in listed] == [
        (second["id"], added["transaction"]["id"], "PAID-BY-POINTS"),
        (first["id"], added["transaction"]["id"], "PAID-BY-POINTS"),
    ]
    await assert_reconciled(database)


async def test_a_bill_refuses_redemptions_it_cannot_carry_and_writes_nothing(api, database):
    mobile, stranger = new_mobile(), new_mobile()
    await earn(api, mobile, "10000")
    await earn(api, stranger, "10000")
    mine = (await redeem(api, mobile, "10"))["redemption"]
    theirs = (await redeem(api, stranger, "10"))["redemption"]
    reversed_one = (await redeem(api, mobile, "10"))["redemption"]
    await reverse(api, reversed_one["id"], "1")
    applied = (await redeem(api, mobile, "10"))["redemption"]
    assert (await add_bill(api, mobile, [applied["id"]]))["__typename"] == "TransactionAdded"
    before = await table_counts(database)

    cases = [
        ([mine["id"], theirs["id"]], "ConflictError", "REDEMPTION_OF_ANOTHER_CUSTOMER", "input.pointsRedemptions[1]"),
        ([reversed_one["id"]], "ConflictError", "REDEMPTION_REVERSED", "input.pointsRedemptions[0]"),
        ([mine["id"], applied["id"]], "ConflictError", "REDEMPTION_ALREADY_APPLIED", "input.pointsRedemptions[1]"),
        (["999999"], "NotFoundError", "REDEMPTION_NOT_FOUND", "input.pointsRedemptions[0]"),
        ([mine["id"], "R-1"], "NotFoundError", "REDEMPTION_NOT_FOUND", "input.pointsRedemptions[1]"),
        ([mine["id"], mine["id"]], "InvalidInputError", "INVALID_INPUT", "input.pointsRedemptions[1]"),
    ]
    for redemption_ids, typename, code, field in cases:
        result = await add_bill(api, mobile, redemption_ids)
        assert (result["__typename"], result["code"], result["field"]) == (typename, code, field), redemption_ids
    not_interested = await add_bill(api, mobile, [mine["id"]], type="NOT_INTERESTED", customer=None)
    assert (not_interested["__typename"], not_interested["code"], not_interested["field"]) == (
        "InvalidInputError",
        "INVALID_INPUT",
        "input.pointsRedemptions",
    )

    assert await table_counts(database) == before
    listed = (await api.data(REDEMPTIONS, {"customer": by_mobile(mobile)}))["pointsRedemptions"]["nodes"]
    assert [node["transactionId"] is not None for node in listed] == [True, False, False]


# --- Idempotency ----------------------------------------------------------------------------


async def test_a_redemption_sent_again_with_its_key_is_replayed_and_a_reused_key_is_refused(api, database):
    mobile = new_mobile()
    await earn(api, mobile, "10000")

    first = await redeem(api, mobile, "40", idempotencyKey="redeem-1")
    counts = await table_counts(database)
    again = await redeem(api, mobile, "40.0", idempotencyKey="redeem-1")
    validated = await validate(api, mobile, "40", idempotencyKey="redeem-1")
    other = await redeem(api, mobile, "41", idempotencyKey="redeem-1")
    other_validated = await validate(api, mobile, "41", idempotencyKey="redeem-1")

    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["redemption"] == first["redemption"]
    assert await table_counts(database) == counts
    assert (validated["__typename"], validated["replayedRedemptionId"], validated["spendablePoints"]) == (
        "RedemptionValidated",
        first["redemption"]["id"],
        "60",
    )
    for refused in (other, other_validated):
        assert (refused["__typename"], refused["code"], refused["field"]) == (
            "IdempotencyKeyReusedError",
            "IDEMPOTENCY_KEY_REUSED",
            "input.idempotencyKey",
        )
    assert (await find_customer(api, by_mobile(mobile)))["loyaltyPoints"] == "60"

    reversal = await reverse(api, first["redemption"]["id"], "10", idempotencyKey="reverse-1")
    reversal_again = await reverse(api, first["redemption"]["id"], "10", idempotencyKey="reverse-1")
    reversal_other = await reverse(api, first["redemption"]["id"], "11", idempotencyKey="reverse-1")
    key_of_a_redemption = await reverse(api, first["redemption"]["id"], "10", idempotencyKey="redeem-1")

    assert (reversal["replayed"], reversal_again["replayed"]) == (False, True)
    assert reversal_again["reversal"] == reversal["reversal"]
    assert reversal_again["redemption"]["pointsReversed"] == "10"
    assert reversal_other["code"] == key_of_a_redemption["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert (await find_customer(api, by_mobile(mobile)))["loyaltyPoints"] == "70"
    await assert_reconciled(database)


# --- Merged customers -----------------------------------------------------------------------


async def test_a_merged_customer_is_refused_and_its_reversal_reaches_the_survivor(api, database):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor_id = await earn(api, survivor_mobile, "1000")  # 10 points
    victim_id = await earn(api, victim_mobile, "10000", email="victim@example.com")
    redemption = (await redeem(api, victim_mobile, "40"))["redemption"]  # the victim keeps 60
    await earn(api, survivor_mobile, "0", email="victim@example.com")  # merges

    refused = await redeem(api, victim_mobile, "1", customer=by_user_id(victim_id))
    result = await reverse(api, redemption["id"])

    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "ConflictError",
        "CUSTOMER_MERGED",
        "input.customer",
    )
    assert result["__typename"] == "RedemptionReversed"
    survivor = await find_customer(api, by_mobile(survivor_mobile))
    assert survivor["loyaltyPoints"] == "110"  # 10 + the victim's 60 + 40 back
    victim_entries = await ledger_entries(api, by_user_id(victim_id))
    assert entry_shape(victim_entries[0]) == ("REDEMPTION_REVERSAL", "MERGE", "DEBIT", "main", "40", "0", "40")
    assert entry_shape(victim_entries[1]) == (
        "REDEMPTION_REVERSAL",
        "REDEMPTION_REVERSAL",
        "CREDIT",
        "main",
        "40",
        "40",
        "40",
    )
    survivor_newest = (await ledger_entries(api, by_mobile(survivor_mobile)))[0]
    assert entry_shape(survivor_newest) == ("REDEMPTION_REVERSAL", "MERGE", "CREDIT", "main", "40", "110", "40")
    assert survivor_id != victim_id
    await assert_reconciled(database)


# --- Member care ----------------------------------------------------------------------------


async def test_member_care_lists_a_customers_redemptions_newest_first_in_pages(api):
    mobile = new_mobile()
    await earn(api, mobile, "10000")
    ids = [(await redeem(api, mobile, points))["redemption"]["id"] for points in ("10", "20", "30")]
    await reverse(api, ids[0], "4")

    first_page = (await api.data(REDEMPTIONS, {"customer": by_mobile(mobile), "first": 2}))["pointsRedemptions"]
    second_page = (
        await api.data(
            REDEMPTIONS, {"customer": by_mobile(mobile), "first": 2, "after": first_page["pageInfo"]["endCursor"]}
        )
    )["pointsRedemptions"]
    unknown = (await api.data(REDEMPTIONS, {"customer": by_mobile("9700000999")}))["pointsRedemptions"]

    assert [(node["id"], node["points"]) for node in first_page["nodes"]] == [(ids[2], "30"), (ids[1], "20")]
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert [(node["id"], node["points"], node["pointsReversed"], node["status"]) for node in second_page["nodes"]] == [
        (ids[0], "10", "4", "PARTIALLY_REVERSED")
    ]
    assert [reversal["points"] for reversal in second_page["nodes"][0]["reversals"]] == ["4"]
    assert second_page["pageInfo"] == {"hasNextPage": False, "endCursor": second_page["pageInfo"]["endCursor"]}
    assert (unknown["__typename"], unknown["code"]) == ("NotFoundError", "CUSTOMER_NOT_FOUND")


async def test_the_redemption_list_costs_the_same_queries_for_one_or_many(api, count_statements):
    mobile = new_mobile()
    await earn(api, mobile, "10000")
    await reverse(api, (await redeem(api, mobile, "10"))["redemption"]["id"], "1")
    counter = count_statements()
    await api.data(REDEMPTIONS, {"customer": by_mobile(mobile)})
    one = counter.count
    for _ in range(5):
        await reverse(api, (await redeem(api, mobile, "10"))["redemption"]["id"], "1")

    counter.count = 0
    await api.data(REDEMPTIONS, {"customer": by_mobile(mobile)})

    assert counter.count == one


# --- Concurrency ----------------------------------------------------------------------------


async def test_50_concurrent_redemptions_of_100_from_1000_points_let_exactly_10_through(api, database):
    mobile = new_mobile()
    await earn(api, mobile, "100000")  # 1,000 points at bronze

    redemption = {"customer": by_mobile(mobile), "points": "100", "tillCode": "till-1"}

    results = await post_at_once(api, REDEEM, [redemption] * 50)

    succeeded = [result for result in results if result["__typename"] == "PointsRedeemed"]
    refused = [result for result in results if result["__typename"] != "PointsRedeemed"]
    assert len(succeeded) == 10
    assert {(result["__typename"], result["code"], result["requestedPoints"]) for result in refused} == {
        ("InsufficientPointsError", "INSUFFICIENT_POINTS", "100")
    }
    assert len(refused) == 40
    assert sorted(result["redemption"]["balanceAfter"] for result in succeeded) == sorted(
        str(100 * n) for n in range(10)
    )
    assert (await find_customer(api, by_mobile(mobile)))["loyaltyPoints"] == "0"
    entries = await ledger_entries(api, by_mobile(mobile), {"programCodes": ["main"], "pointsCategories": ["REGULAR"]})
    assert all(int(entry["balanceAfter"]) >= 0 for entry in entries)
    assert len([entry for entry in entries if entry["eventType"] == "POINTS_REDEMPTION"]) == 10
    await assert_reconciled(database)


async def test_concurrent_partial_reversals_never_give_back_more_than_was_redeemed(api, database):
    mobile = new_mobile()
    await earn(api, mobile, "10000")
    redemption = (await redeem(api, mobile, "60"))["redemption"]

    results = await post_at_once(api, REVERSE, [{"redemptionId": redemption["id"], "points": "10"}] * 10)

    assert (
        sorted(result["__typename"] for result in results)
        == ["RedemptionReversalLimitError"] * 4 + ["RedemptionReversed"] * 6
    )
    assert {result["code"] for result in results if result["__typename"] != "RedemptionReversed"} == {
        "ALREADY_REVERSED"
    }
    listed = (await api.data(REDEMPTIONS, {"customer": by_mobile(mobile)}))["pointsRedemptions"]["nodes"][0]
    assert (listed["pointsReversed"], listed["status"], len(listed["reversals"])) == ("60", "REVERSED", 6)
    assert (await find_customer(api, by_mobile(mobile)))["loyaltyPoints"] == "100"
    await assert_reconciled(database)


async def test_one_redemption_applied_to_two_bills_at_once_pays_for_one(api, database):
    mobile = new_mobile()
    await earn(api, mobile, "10000")
    redemption = (await redeem(api, mobile, "10"))["redemption"]
    bills = [
        bill(customer={"mobile": mobile}, lineItems=[], amount="500", pointsRedemptions=[redemption["id"]])
        for _ in range(5)
    ]

    results = await post_at_once(api, ADD_TRANSACTION, bills)

    added = [result for result in results if result["__typename"] == "TransactionAdded"]
    assert len(added) == 1
    assert [(result["code"], result["field"]) for result in results if result["__typename"] != "TransactionAdded"] == [
        ("REDEMPTION_ALREADY_APPLIED", "input.pointsRedemptions[0]")
    ] * 4
    listed = (await api.data(REDEMPTIONS, {"customer": by_mobile(mobile)}))["pointsRedemptions"]["nodes"][0]
    assert listed["transactionId"] == added[0]["transaction"]["id"]
    await assert_reconciled(database)
