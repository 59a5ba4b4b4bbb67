"""Points promotions (the seed's Customer Promotion) through the API, and the bulk award path.

The org's main program counts whole points (bronze earns 1 per 100) and expires points at the
end of the 12th month; the cafe program expires them 90 days after earning. The org's time
zone is Asia/Kolkata.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.customer_promotions import service as promotions_service
from app.customer_promotions.errors import PromotionNameMismatchError
from app.customer_promotions.models import CustomerPromotion
from app.kernel.enums import PointsCategory
from app.ledger.models import EventType, PointAccount, PointLot
from app.organizations.models import ExpiryStrategy
from tests.client import customer_with_points, ledger_entries, merge
from tests.conftest import org_config
from tests.factories import by_mobile, by_user_id, new_mobile
from tests.ledger_checks import assert_reconciled, count_events, overdraw
from tests.snapshots import table_counts

promotions = CustomerPromotion.__table__
lots = PointLot.__table__
accounts = PointAccount.__table__
KOLKATA = ZoneInfo("Asia/Kolkata")

AWARD = """
mutation Award($input: AwardPromotionPointsInput!) {
  awardPromotionPoints(input: $input) {
    __typename
    ... on PromotionPointsAwarded {
      userId userGroupId points eventLogId balanceAfter replayed
      promotion { identifier name programCode expiryStrategy expiryValue }
      customer { userId loyaltyPoints }
    }
    ... on Error { code message field }
  }
}
"""

PROMOTION = """
query Promotion($identifier: String!) {
  customerPromotion(identifier: $identifier) {
    __typename
    ... on CustomerPromotion {
      identifier name programCode expiryStrategy expiryValue pointsAwarded awardsCount holdersCount
    }
    ... on Error { code message field }
  }
}
"""

LEDGER_WITH_PROMOTIONS = """
query Ledger($customer: CustomerLookupInput!) {
  ledgerEntries(customer: $customer, first: 20) {
    ... on LedgerEntryPage {
      entries {
        eventType entryKind entryType points balanceAfter storeCode tillCode customerPromotion { identifier name }
      }
    }
  }
}
"""


def award_input(
    mobile: str, points: str, identifier: str | None = "DIWALI-2026", name: str = "Diwali bonus", **extra
) -> dict:
    promotion = {"name": name, **extra.pop("promotion", {})}
    if identifier is not None:
        promotion["identifier"] = identifier
    return {
        "customer": by_mobile(mobile),
        "points": points,
        "tillCode": "till-1",
        "promotion": promotion,
        **extra,
    }


async def award(api, variables_input: dict) -> dict:
    return (await api.data(AWARD, {"input": variables_input}))["awardPromotionPoints"]


async def lots_of(database, user_id: str) -> list[tuple[Decimal, Decimal, datetime | None]]:
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(lots.c.points, lots.c.points_remaining, lots.c.expires_at)
                .join(accounts, accounts.c.id == lots.c.account_id)
                .where(accounts.c.customer_id == int(user_id), accounts.c.category == PointsCategory.REGULAR.value)
                .order_by(lots.c.id)
            )
        ).all()
    return [tuple(row) for row in rows]


def end_of_local_day(day) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=KOLKATA).astimezone(UTC)


async def test_a_new_identifier_creates_the_promotion_and_its_award_is_a_tagged_credit_with_the_promotions_expiry(
    api, database, clock
):
    mobile, user_id = await customer_with_points(api, "1000")
    before = clock.now()

    result = await award(
        api,
        award_input(
            mobile, "250", promotion={"programCode": "main", "expiryStrategy": "DAYS_AFTER_EARNING", "expiryValue": 30}
        ),
    )

    assert result["__typename"] == "PromotionPointsAwarded", result
    assert (result["userId"], result["userGroupId"], result["points"], result["balanceAfter"], result["replayed"]) == (
        user_id,
        None,
        "250",
        "260",
        False,
    )
    assert result["promotion"] == {
        "identifier": "DIWALI-2026",
        "name": "Diwali bonus",
        "programCode": "main",
        "expiryStrategy": "DAYS_AFTER_EARNING",
        "expiryValue": 30,
    }
    assert result["customer"] == {"userId": user_id, "loyaltyPoints": "260"}
    # The lot expires at the end of the 30th local day after the award.
    award_lot = (await lots_of(database, user_id))[-1]
    assert award_lot[:2] == (Decimal(250), Decimal(250))
    assert award_lot[2] == end_of_local_day(before.astimezone(KOLKATA).date() + timedelta(days=30))
    # The points history shows the promotion on its entry.
    page = (await api.data(LEDGER_WITH_PROMOTIONS, {"customer": by_user_id(user_id)}))["ledgerEntries"]
    assert page["entries"][0] == {
        "eventType": "CUSTOMER_PROMOTION",
        "entryKind": "POINTS_ALLOCATION",
        "entryType": "CREDIT",
        "points": "250",
        "balanceAfter": "260",
        "storeCode": "store-1",
        "tillCode": "till-1",
        "customerPromotion": {"identifier": "DIWALI-2026", "name": "Diwali bonus"},
    }
    assert page["entries"][1]["eventType"] == "TRANSACTION_ADD"
    assert page["entries"][1]["customerPromotion"] is None
    newest = (await ledger_entries(api, by_user_id(user_id)))[0]
    assert newest["eventLogId"] == result["eventLogId"]
    await assert_reconciled(database)


async def test_an_existing_identifier_adds_to_its_promotion_and_the_totals_sum_its_awards(api, database):
    mobile, _user_id = await customer_with_points(api)
    other_mobile, _other_id = await customer_with_points(api)
    assert (await award(api, award_input(mobile, "100")))["__typename"] == "PromotionPointsAwarded"
    second = await award(api, award_input(mobile, "40"))
    third = await award(api, award_input(other_mobile, "5", storeCode="store-2", tillCode=None))

    assert (second["balanceAfter"], third["balanceAfter"]) == ("150", "15")
    # Without program or expiry the new promotion took the default program's.
    assert second["promotion"] == {
        "identifier": "DIWALI-2026",
        "name": "Diwali bonus",
        "programCode": "main",
        "expiryStrategy": "END_OF_MONTH_AFTER_MONTHS",
        "expiryValue": 12,
    }
    totals = (await api.data(PROMOTION, {"identifier": "DIWALI-2026"}))["customerPromotion"]
    assert totals == {
        "__typename": "CustomerPromotion",
        "identifier": "DIWALI-2026",
        "name": "Diwali bonus",
        "programCode": "main",
        "expiryStrategy": "END_OF_MONTH_AFTER_MONTHS",
        "expiryValue": 12,
        "pointsAwarded": "145",
        "awardsCount": 3,
        "holdersCount": 2,
    }
    async with database.read() as connection:
        assert (await connection.execute(select(func.count()).select_from(promotions))).scalar_one() == 1
    assert await count_events(database, EventType.CUSTOMER_PROMOTION) == 3
    await assert_reconciled(database)


async def test_refused_awards_name_the_field_and_write_nothing(api, database):
    mobile, _user_id = await customer_with_points(api)
    assert (await award(api, award_input(mobile, "10")))["__typename"] == "PromotionPointsAwarded"
    counts = await table_counts(database)

    cases = [
        (award_input(mobile, "10", name="Holi bonus"), "PROMOTION_NAME_MISMATCH", "input.promotion.name"),
        (
            award_input(mobile, "10", promotion={"programCode": "cafe"}),
            "PROMOTION_SETTINGS_MISMATCH",
            "input.promotion.programCode",
        ),
        (
            award_input(mobile, "10", promotion={"expiryStrategy": "NEVER"}),
            "PROMOTION_SETTINGS_MISMATCH",
            "input.promotion.expiryStrategy",
        ),
        (award_input(new_mobile(), "10", identifier="NEW-ONE"), "CUSTOMER_NOT_FOUND", "input.customer"),
        (award_input(mobile, "0", identifier="NEW-ONE"), "INVALID_INPUT", "input.points"),
        (award_input(mobile, "-5", identifier="NEW-ONE"), "INVALID_INPUT", "input.points"),
        (award_input(mobile, "1.5", identifier="NEW-ONE"), "INVALID_INPUT", "input.points"),
        (
            award_input(mobile, "10", identifier="NEW-ONE", promotion={"programCode": "nope"}),
            "PROGRAM_NOT_FOUND",
            "input.promotion.programCode",
        ),
        (
            award_input(mobile, "10", identifier="NEW-ONE", promotion={"expiryStrategy": "DAYS_AFTER_EARNING"}),
            "INVALID_INPUT",
            "input.promotion.expiryValue",
        ),
        (
            award_input(mobile, "10", identifier="NEW-ONE", promotion={"expiryStrategy": "NEVER", "expiryValue": 3}),
            "INVALID_INPUT",
            "input.promotion.expiryValue",
        ),
        (award_input(mobile, "10", identifier="   "), "INVALID_INPUT", "input.promotion.identifier"),
        (award_input(mobile, "10", identifier="NEW-ONE", name=""), "INVALID_INPUT", "input.promotion.name"),
        (award_input(mobile, "10", identifier="NEW\u0000"), "INVALID_INPUT", "input.promotion.identifier"),
        (award_input(mobile, "10", identifier="NEW-ONE", name="Bonus\u0000"), "INVALID_INPUT", "input.promotion.name"),
        (award_input(mobile, "10", identifier="NEW-ONE", tillCode="till-x"), "TILL_NOT_FOUND", "input.tillCode"),
        (
            award_input(mobile, "10", identifier="NEW-ONE", storeCode="store-x", tillCode=None),
            "STORE_NOT_FOUND",
            "input.storeCode",
        ),
        (
            award_input(mobile, "10", identifier="NEW-ONE", tillCode="till-2", storeCode="store-1"),
            "INVALID_INPUT",
            "input.tillCode",
        ),
        (award_input(mobile, "10", identifier="NEW-ONE", tillCode=None), "INVALID_INPUT", "input.storeCode"),
        (
            {**award_input(mobile, "10", identifier="NEW-ONE"), "userGroup": {"type": "EXTERNAL_ID", "value": "F1"}},
            "INVALID_INPUT",
            "input.customer",
        ),
        (
            {
                **award_input(mobile, "10", identifier="NEW-ONE"),
                "customer": None,
                "userGroup": {"type": "EXTERNAL_ID", "value": "F1"},
            },
            "USER_GROUP_NOT_FOUND",
            "input.userGroup",
        ),
    ]
    for variables_input, code, field in cases:
        result = await award(api, variables_input)
        assert (
            result["__typename"] in ("InvalidInputError", "NotFoundError", "ConflictError"),
            result["code"],
            result["field"],
        ) == (True, code, field), (variables_input, result)

    assert await table_counts(database) == counts
    totals = (await api.data(PROMOTION, {"identifier": "NEW-ONE"}))["customerPromotion"]
    assert (totals["__typename"], totals["code"], totals["field"]) == (
        "NotFoundError",
        "PROMOTION_NOT_FOUND",
        "identifier",
    )
    await assert_reconciled(database)


async def test_a_missing_identifier_is_generated_and_each_such_award_is_its_own_promotion(api, database):
    mobile, _ = await customer_with_points(api)
    first = await award(api, award_input(mobile, "10", identifier=None, name="Walk-in"))
    second = await award(api, award_input(mobile, "10", identifier=None, name="Walk-in"))

    identifiers = [first["promotion"]["identifier"], second["promotion"]["identifier"]]
    assert all(value.startswith("CP-") and len(value) == 15 for value in identifiers), identifiers
    assert identifiers[0] != identifiers[1]
    async with database.read() as connection:
        assert (await connection.execute(select(func.count()).select_from(promotions))).scalar_one() == 2


async def test_an_idempotency_key_replays_the_first_award_and_refuses_another_request(api, database):
    mobile, _ = await customer_with_points(api)
    first = await award(api, award_input(mobile, "30", idempotencyKey="award-1"))
    again = await award(api, award_input(mobile, "30", idempotencyKey="award-1"))
    other = await award(api, award_input(mobile, "31", idempotencyKey="award-1"))

    assert again == {**first, "replayed": True, "customer": again["customer"]}
    assert (first["replayed"], again["balanceAfter"]) == (False, "40")
    assert (other["__typename"], other["code"], other["field"]) == (
        "IdempotencyKeyReusedError",
        "IDEMPOTENCY_KEY_REUSED",
        "input.idempotencyKey",
    )
    assert await count_events(database, EventType.CUSTOMER_PROMOTION) == 1


async def test_concurrent_first_awards_under_one_new_identifier_create_exactly_one_promotion(api, database):
    customers = [await customer_with_points(api, "100") for _ in range(20)]

    results = await asyncio.gather(
        *[award(api, award_input(mobile, "7", identifier="FLASH")) for mobile, _ in customers]
    )

    assert [result["__typename"] for result in results] == ["PromotionPointsAwarded"] * 20
    assert {result["balanceAfter"] for result in results} == {"8"}
    async with database.read() as connection:
        assert (await connection.execute(select(func.count()).select_from(promotions))).scalar_one() == 1
    totals = (await api.data(PROMOTION, {"identifier": "FLASH"}))["customerPromotion"]
    assert (totals["pointsAwarded"], totals["awardsCount"], totals["holdersCount"]) == ("140", 20, 20)
    await assert_reconciled(database)


async def test_the_bulk_path_awards_many_rows_in_one_transaction_and_pays_a_negative_balance_first(
    api, database, org, clock
):
    customers = [await customer_with_points(api, "1000") for _ in range(5)]
    await overdraw(database, org.org_id, customers[0][1], Decimal(25))  # balance 10 - 25 = -15
    config = await org_config(database, org.org_id)
    now = clock.now()

    async def work(connection):
        spec = promotions_service.check_promotion(
            config,
            identifier="IMPORT-1",
            name="Imported",
            program_code="cafe",
            expiry_strategy=ExpiryStrategy.NEVER,
            expiry_value=None,
            path="template",
        )
        promotion = await promotions_service.find_or_create_promotion(connection, config, spec, now)
        ids = [int(user_id) for _, user_id in customers]
        main = config.program_by_code("main")
        main_promotion = await promotions_service.find_or_create_promotion(
            connection,
            config,
            promotions_service.check_promotion(
                config,
                identifier="IMPORT-2",
                name="Main import",
                program_code="main",
                expiry_strategy=None,
                expiry_value=None,
                path="template",
            ),
            now,
        )
        assert main_promotion.program_id == main.id
        cafe_posted = await promotions_service.award_points(
            connection,
            config,
            promotion,
            [
                promotions_service.PromotionAward(
                    holder_id, Decimal(holder_id % 7 + 1), config.store_by_code("store-1").id, None
                )
                for holder_id in ids
            ],
            now,
        )
        main_posted = await promotions_service.award_points(
            connection,
            config,
            main_promotion,
            [
                promotions_service.PromotionAward(ids[0], Decimal(10)),
                promotions_service.PromotionAward(ids[0], Decimal(20)),
                promotions_service.PromotionAward(ids[1], Decimal(3)),
            ],
            now,
        )
        # A dry run reads without writing: an existing identifier is checked, a new one is None.
        assert await promotions_service.peek_promotion(connection, config, spec) == promotion
        assert (
            await promotions_service.peek_promotion(
                connection,
                config,
                promotions_service.check_promotion(
                    config,
                    identifier="IMPORT-3",
                    name="New",
                    program_code=None,
                    expiry_strategy=None,
                    expiry_value=None,
                    path="template",
                ),
            )
            is None
        )
        renamed = promotions_service.check_promotion(
            config,
            identifier="IMPORT-1",
            name="Renamed",
            program_code=None,
            expiry_strategy=None,
            expiry_value=None,
            path="template",
        )
        with pytest.raises(PromotionNameMismatchError) as refused:  # a renamed promotion must be refused
            await promotions_service.peek_promotion(connection, config, renamed)
        assert refused.value.field == "promotion.name"
        return cafe_posted, main_posted, ids

    cafe_posted, main_posted, ids = await database.run_write(work)

    assert [posted.balance_after for posted in cafe_posted] == [Decimal(holder_id % 7 + 1) for holder_id in ids]
    assert [posted.balance_after for posted in main_posted] == [Decimal(-5), Decimal(15), Decimal(13)]
    # The negative balance's debt came out of the first award's lot; the second made a whole lot.
    main_lots = (await lots_of(database, customers[0][1]))[-2:]
    assert [lot[:2] for lot in main_lots] == [(Decimal(10), Decimal(0)), (Decimal(20), Decimal(15))]
    assert await count_events(database, EventType.CUSTOMER_PROMOTION) == 8
    totals = (await api.data(PROMOTION, {"identifier": "IMPORT-1"}))["customerPromotion"]
    assert (totals["programCode"], totals["expiryStrategy"], totals["expiryValue"], totals["awardsCount"]) == (
        "cafe",
        "NEVER",
        None,
        5,
    )
    await assert_reconciled(database)


async def test_a_merged_customer_gets_no_award_and_nothing_is_written(api, database):
    survivor_mobile, _ = await customer_with_points(api)
    victim_mobile, victim_id = await customer_with_points(api)
    merged = await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile))
    assert "code" not in merged, merged
    counts = await table_counts(database)

    result = await award(api, {**award_input(victim_mobile, "10"), "customer": by_user_id(victim_id)})

    assert (result["__typename"], result["code"], result["field"]) == (
        "ConflictError",
        "CUSTOMER_MERGED",
        "input.customer",
    )
    assert await table_counts(database) == counts
