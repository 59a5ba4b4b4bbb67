"""Trackers through the API: defineTracker, addTrackerValue on bills found by standard fields or
loyalty log id (the transaction id), points issued as TRACKER_POINTS credits, the loyalty
tracker history; and the bulk path.

Main program: whole points, FLOOR, points expire at the end of the 12th month. Cafe program:
whole points, HALF_UP, 90 days after earning. Org time zone Asia/Kolkata.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.ledger.models import EventType, PointAccount, PointLot
from app.trackers import service as trackers_service
from tests.client import define_tracker, purchase_to_track
from tests.conftest import org_config
from tests.documents import TRACKER_HISTORY
from tests.factories import by_mobile, by_user_id, new_mobile
from tests.ledger_checks import assert_reconciled, count_events
from tests.snapshots import table_counts

KOLKATA = ZoneInfo("Asia/Kolkata")
lots = PointLot.__table__
accounts = PointAccount.__table__

ADD_VALUE = """
mutation Add($input: AddTrackerValueInput!) {
  addTrackerValue(input: $input) {
    __typename
    ... on TrackerValueAdded {
      balanceAfter replayed
      trackedValue {
        id trackerCode trackerName level userId transactionId billNumber storeCode billUserId lineItemSerial itemCode
        value points eventLogId
      }
    }
    ... on Error { code message field }
  }
}
"""

TRACKERS = "query { trackers { code name level programCode pointsPerUnit } }"

LEDGER = """
query Ledger($customer: CustomerLookupInput!) {
  ledgerEntries(customer: $customer, first: 20) {
    ... on LedgerEntryPage {
      entries { eventLogId eventType entryKind entryType programCode points balanceAfter storeCode tillCode
                transactionId transactionNumber trackerValueId }
    }
  }
}
"""


def standard(bought: dict, **overrides) -> dict:
    return {
        "identification": "STANDARD_FIELDS",
        "billNumber": bought["number"],
        "transactionDate": bought["date"],
        "storeCode": "store-1",
        **overrides,
    }


def by_log_id(bought: dict) -> dict:
    return {"identification": "LOYALTY_LOG_ID", "loyaltyLogId": bought["id"]}


def value_input(tracker: str, bought: dict, value: str, bill_ref: dict | None = None, **extra) -> dict:
    return {
        "trackerCode": tracker,
        "customer": by_mobile(bought["mobile"]),
        "bill": bill_ref or standard(bought),
        "value": value,
        **extra,
    }


async def add_value(api, value_document: dict) -> dict:
    return (await api.data(ADD_VALUE, {"input": value_document}))["addTrackerValue"]


async def test_trackers_are_defined_updated_by_code_and_refuse_a_level_change(api, database):
    created = await define_tracker(api, "FUEL", "TRANSACTION", "0.5")
    same = await define_tracker(api, "FUEL", "TRANSACTION", "0.5")
    updated = await define_tracker(api, "FUEL", "TRANSACTION", "0.25", name="Fuel litres")
    kms = await define_tracker(api, "KMS", "LINE_ITEM", "2", program=None)

    assert created == {
        "__typename": "TrackerDefined",
        "created": True,
        "tracker": {
            "code": "FUEL",
            "name": "Fuel",
            "level": "TRANSACTION",
            "programCode": "main",
            "pointsPerUnit": "0.5",
        },
    }
    assert (same["created"], same["tracker"]) == (False, created["tracker"])
    assert updated["tracker"] == {
        "code": "FUEL",
        "name": "Fuel litres",
        "level": "TRANSACTION",
        "programCode": "main",
        "pointsPerUnit": "0.25",
    }
    assert kms["tracker"]["programCode"] == "main"  # the default program
    counts = await table_counts(database)
    for result, code, field in [
        (await define_tracker(api, "FUEL", "LINE_ITEM", "1"), "TRACKER_LEVEL_CHANGE", "input.level"),
        (await define_tracker(api, "X", "LINE_ITEM", "1", program="nope"), "PROGRAM_NOT_FOUND", "input.programCode"),
        (await define_tracker(api, "X", "LINE_ITEM", "-1"), "INVALID_INPUT", "input.pointsPerUnit"),
        (await define_tracker(api, "X", "LINE_ITEM", "0.0000001"), "INVALID_INPUT", "input.pointsPerUnit"),
        (await define_tracker(api, " ", "LINE_ITEM", "1"), "INVALID_INPUT", "input.code"),
    ]:
        assert (result["code"], result["field"]) == (code, field), result
    assert await table_counts(database) == counts
    assert (await api.data(TRACKERS))["trackers"] == [
        {"code": "FUEL", "name": "Fuel litres", "level": "TRANSACTION", "programCode": "main", "pointsPerUnit": "0.25"},
        {"code": "KMS", "name": "Kms", "level": "LINE_ITEM", "programCode": "main", "pointsPerUnit": "2"},
    ]


async def test_a_value_on_a_bill_found_by_standard_fields_issues_rounded_points_as_a_tagged_credit(api, database):
    await define_tracker(api, "FUEL", "TRANSACTION", "0.5")
    bought = await purchase_to_track(api)

    result = await add_value(api, value_input("FUEL", bought, "45.5"))

    assert result["__typename"] == "TrackerValueAdded", result
    tracked = result["trackedValue"]
    assert (result["balanceAfter"], result["replayed"]) == ("40", False)  # 18 earned + floor(22.75)
    assert {
        key: tracked[key]
        for key in (
            "trackerCode",
            "level",
            "userId",
            "transactionId",
            "billNumber",
            "storeCode",
            "billUserId",
            "lineItemSerial",
            "itemCode",
            "value",
            "points",
        )
    } == {
        "trackerCode": "FUEL",
        "level": "TRANSACTION",
        "userId": bought["userId"],
        "transactionId": bought["id"],
        "billNumber": bought["number"],
        "storeCode": "store-1",
        "billUserId": bought["userId"],
        "lineItemSerial": None,
        "itemCode": None,
        "value": "45.5",
        "points": "22",
    }
    entries = (await api.data(LEDGER, {"customer": by_user_id(bought["userId"])}))["ledgerEntries"]["entries"]
    assert entries[0] == {
        "eventLogId": tracked["eventLogId"],
        "eventType": "TRACKER_POINTS",
        "entryKind": "POINTS_ALLOCATION",
        "entryType": "CREDIT",
        "programCode": "main",
        "points": "22",
        "balanceAfter": "40",
        "storeCode": "store-1",
        "tillCode": "till-1",
        "transactionId": bought["id"],
        "transactionNumber": bought["number"],
        "trackerValueId": tracked["id"],
    }
    history = (await api.data(TRACKER_HISTORY, {"customer": by_mobile(bought["mobile"])}))["customerTrackerHistory"]
    assert history["records"] == [
        {
            "id": tracked["id"],
            "trackerCode": "FUEL",
            "transactionId": bought["id"],
            "billNumber": bought["number"],
            "lineItemSerial": None,
            "itemCode": None,
            "value": "45.5",
            "points": "22",
            "eventLogId": tracked["eventLogId"],
        }
    ]
    await assert_reconciled(database)


async def test_a_line_item_value_on_a_bill_found_by_loyalty_log_id_issues_points_in_the_trackers_program(
    api, database, clock
):
    await define_tracker(api, "KMS", "LINE_ITEM", "2", program="cafe")
    bought = await purchase_to_track(api)
    before = clock.now()

    result = await add_value(api, value_input("KMS", bought, "3.25", by_log_id(bought), lineItemSerial=2))

    tracked = result["trackedValue"]
    assert (tracked["lineItemSerial"], tracked["itemCode"], tracked["points"], result["balanceAfter"]) == (
        2,
        "JEANS-01",
        "7",
        "7",
    )
    async with database.read() as connection:
        expires_at = (
            await connection.execute(
                select(lots.c.expires_at)
                .join(accounts, accounts.c.id == lots.c.account_id)
                .where(accounts.c.customer_id == int(bought["userId"]))
                .order_by(lots.c.id.desc())
                .limit(1)
            )
        ).scalar_one()
    expected_day = before.astimezone(KOLKATA).date() + timedelta(days=90)
    assert expires_at == datetime.combine(expected_day, time(23, 59, 59), tzinfo=KOLKATA).astimezone(UTC)
    await assert_reconciled(database)


async def test_values_issuing_no_points_are_tracked_without_a_ledger_event(api, database):
    await define_tracker(api, "FUEL", "TRANSACTION", "0.5")
    await define_tracker(api, "NOTE", "TRANSACTION", "0")
    bought = await purchase_to_track(api)

    results = [
        await add_value(api, value_input("FUEL", bought, "-4")),
        await add_value(api, value_input("FUEL", bought, "1.9")),
        await add_value(api, value_input("NOTE", bought, "100")),
    ]

    assert [
        (result["trackedValue"]["points"], result["trackedValue"]["eventLogId"], result["balanceAfter"])
        for result in results
    ] == [("0", None, None), ("0", None, None), ("0", None, None)]
    assert await count_events(database, EventType.TRACKER_POINTS) == 0
    history = await api.data(TRACKER_HISTORY, {"customer": by_user_id(bought["userId"]), "first": 2})
    page = history["customerTrackerHistory"]
    assert [record["value"] for record in page["records"]] == ["100", "1.9"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (
        await api.data(
            TRACKER_HISTORY,
            {
                "customer": by_user_id(bought["userId"]),
                "first": 2,
                "after": page["pageInfo"]["endCursor"],
            },
        )
    )["customerTrackerHistory"]
    assert ([record["value"] for record in rest["records"]], rest["pageInfo"]["hasNextPage"]) == (["-4"], False)
    only_notes = await api.data(TRACKER_HISTORY, {"customer": by_user_id(bought["userId"]), "trackerCode": "NOTE"})
    assert [record["trackerCode"] for record in only_notes["customerTrackerHistory"]["records"]] == ["NOTE"]


async def test_refused_values_name_the_field_and_write_nothing(api, database):
    await define_tracker(api, "FUEL", "TRANSACTION", "0.5")
    await define_tracker(api, "KMS", "LINE_ITEM", "2")
    bought = await purchase_to_track(api)
    other = await purchase_to_track(api)
    counts = await table_counts(database)
    next_day = (datetime.fromisoformat(bought["date"]) + timedelta(days=1)).date().isoformat()

    cases = [
        (value_input("FUEL", bought, "5", standard(other)), "BILL_NOT_FOUND", "input.bill"),
        (value_input("FUEL", bought, "5", by_log_id(other)), "BILL_NOT_FOUND", "input.bill"),
        (value_input("FUEL", bought, "5", standard(bought, transactionDate=next_day)), "BILL_NOT_FOUND", "input.bill"),
        (value_input("FUEL", bought, "5", standard(bought, storeCode="store-2")), "BILL_NOT_FOUND", "input.bill"),
        (
            value_input("FUEL", bought, "5", {"identification": "LOYALTY_LOG_ID", "loyaltyLogId": "999999"}),
            "BILL_NOT_FOUND",
            "input.bill",
        ),
        (
            value_input("FUEL", bought, "5", {"identification": "LOYALTY_LOG_ID", "loyaltyLogId": "abc"}),
            "INVALID_INPUT",
            "input.bill.loyaltyLogId",
        ),
        (value_input("FUEL", bought, "5", standard(bought, billNumber=None)), "INVALID_INPUT", "input.bill.billNumber"),
        (
            value_input("FUEL", bought, "5", standard(bought, transactionDate=None)),
            "INVALID_INPUT",
            "input.bill.transactionDate",
        ),
        (value_input("FUEL", bought, "5", standard(bought, storeCode="nope")), "INVALID_INPUT", "input.bill.storeCode"),
        (value_input("FUEL", bought, "5", lineItemSerial=1), "INVALID_INPUT", "input.lineItemSerial"),
        (value_input("KMS", bought, "5"), "INVALID_INPUT", "input.lineItemSerial"),
        (value_input("KMS", bought, "5", lineItemSerial=9), "LINE_ITEM_NOT_FOUND", "input.lineItemSerial"),
        (value_input("NOPE", bought, "5"), "TRACKER_NOT_FOUND", "input.trackerCode"),
        (value_input("FUEL", bought, "5.00001"), "INVALID_INPUT", "input.value"),
        (
            {**value_input("FUEL", bought, "5"), "customer": by_mobile(new_mobile())},
            "CUSTOMER_NOT_FOUND",
            "input.customer",
        ),
        ({**value_input("FUEL", bought, "5"), "customer": None}, "INVALID_INPUT", "input.customer"),
        (
            {
                **value_input("FUEL", bought, "5"),
                "customer": None,
                "userGroup": {"type": "EXTERNAL_ID", "value": "none"},
            },
            "USER_GROUP_NOT_FOUND",
            "input.userGroup",
        ),
    ]
    for value_document, code, field in cases:
        result = await add_value(api, value_document)
        assert (result.get("code"), result.get("field")) == (code, field), (value_document, result)

    assert await table_counts(database) == counts


async def test_an_idempotency_key_replays_the_first_value_and_refuses_another_request(api, database):
    await define_tracker(api, "FUEL", "TRANSACTION", "1")
    bought = await purchase_to_track(api)
    first = await add_value(api, value_input("FUEL", bought, "10", idempotencyKey="fuel-1"))
    again = await add_value(api, value_input("FUEL", bought, "10", idempotencyKey="fuel-1"))
    other = await add_value(api, value_input("FUEL", bought, "11", idempotencyKey="fuel-1"))

    assert again == {**first, "replayed": True}
    assert first["balanceAfter"] == "28"
    assert (other["code"], other["field"]) == ("IDEMPOTENCY_KEY_REUSED", "input.idempotencyKey")
    assert await count_events(database, EventType.TRACKER_POINTS) == 1


async def test_a_group_tracks_values_on_its_members_bills_and_the_points_go_to_the_group(api, database):
    await define_tracker(api, "FUEL", "TRANSACTION", "2")
    member_bill = await purchase_to_track(api)
    outsider_bill = await purchase_to_track(api)
    created = (
        await api.data(
            """
        mutation Create($input: CreateUserGroupInput!) {
          createUserGroup(input: $input) { __typename ... on UserGroupChanged { group { id userId } } }
        }""",
            {
                "input": {
                    "externalId": "FLEET-1",
                    "name": "Fleet one",
                    "members": [by_mobile(member_bill["mobile"])],
                }
            },
        )
    )["createUserGroup"]
    group_user_id = created["group"]["userId"]
    group = {"type": "EXTERNAL_ID", "value": "FLEET-1"}

    result = await add_value(api, {**value_input("FUEL", member_bill, "12.5"), "customer": None, "userGroup": group})
    refused = await add_value(api, {**value_input("FUEL", outsider_bill, "12.5"), "customer": None, "userGroup": group})

    tracked = result["trackedValue"]
    assert (tracked["userId"], tracked["billUserId"], tracked["points"], result["balanceAfter"]) == (
        group_user_id,
        member_bill["userId"],
        "25",
        "25",
    )
    assert (refused["code"], refused["field"]) == ("BILL_NOT_FOUND", "input.bill")
    history = (await api.data(TRACKER_HISTORY, {"customer": by_user_id(group_user_id)}))["customerTrackerHistory"]
    assert [record["id"] for record in history["records"]] == [tracked["id"]]
    member_history = await api.data(TRACKER_HISTORY, {"customer": by_user_id(member_bill["userId"])})
    assert member_history["customerTrackerHistory"]["records"] == []
    await assert_reconciled(database)


async def test_the_bulk_path_finds_many_bills_and_records_their_values_in_one_transaction(api, database, org, clock):
    await define_tracker(api, "FUEL", "TRANSACTION", "1.5")
    bills = [await purchase_to_track(api) for _ in range(6)]
    config = await org_config(database, org.org_id)
    now = clock.now()
    store_id = config.store_by_code("store-1").id

    async def work(connection):
        tracker = (await trackers_service.find_trackers(connection, config.id, ["FUEL"]))["FUEL"]
        refs = [
            trackers_service.BillRef(None, bought["number"], datetime.fromisoformat(bought["date"]).date(), store_id)
            for bought in bills[:3]
        ] + [trackers_service.BillRef(int(bought["id"])) for bought in bills[3:]]
        found = await trackers_service.find_bills(connection, config, refs)
        drafts = [
            trackers_service.TrackedValueDraft(found[ref][0].customer_id, found[ref][0], None, Decimal(index + 1))
            for index, ref in enumerate(refs)
        ]
        return await trackers_service.add_tracker_values(connection, config, tracker, drafts, now)

    results = await database.run_write(work)

    # floor(1.5 x (1..6)) = 1, 3, 4, 6, 7, 9 on top of each bill's 18 points.
    assert [(result.points, result.balance_after) for result in results] == [
        (Decimal(points), Decimal(18 + points)) for points in (1, 3, 4, 6, 7, 9)
    ]
    assert await count_events(database, EventType.TRACKER_POINTS) == 6
    await assert_reconciled(database)


async def statements_for_history(api, count_statements, values_count: int) -> int:
    bought = await purchase_to_track(api)
    for index in range(values_count):
        await add_value(api, value_input("FUEL", bought, str(index + 1)))
    variables = {"customer": by_user_id(bought["userId"]), "first": 20}
    await api.data(TRACKER_HISTORY, variables)  # the API key and the org are cached from here on

    counter = count_statements()
    records = (await api.data(TRACKER_HISTORY, variables))["customerTrackerHistory"]["records"]

    assert len(records) == values_count
    return counter.count


async def test_the_history_costs_the_same_statements_for_1_or_12_values(api, database, count_statements):
    await define_tracker(api, "FUEL", "TRANSACTION", "1")

    with_one = await statements_for_history(api, count_statements, 1)
    with_twelve = await statements_for_history(api, count_statements, 12)

    history = 6 if api.database.is_sqlite else 5  # SQLite's reads add their BEGIN
    assert (with_one, with_twelve) == (history, history)


async def test_a_value_issuing_more_than_the_points_maximum_or_pushing_a_balance_past_it_is_refused(api, database):
    await define_tracker(api, "BIG", "TRANSACTION", "1000000")
    bought = await purchase_to_track(api)  # 18 main points
    counts = await table_counts(database)

    too_many = await add_value(api, value_input("BIG", bought, "1000000.0001"))  # 1,000,000,000,100 points
    near_value_max = await add_value(api, value_input("BIG", bought, "999999999999"))  # ~10^18 points

    assert (too_many["__typename"], too_many["code"], too_many["field"]) == (
        "InvalidInputError",
        "INVALID_INPUT",
        "input.value",
    )
    assert (near_value_max["code"], near_value_max["field"]) == ("INVALID_INPUT", "input.value")
    assert await table_counts(database) == counts

    fits = await add_value(api, value_input("BIG", bought, "999999"))
    assert (fits["trackedValue"]["points"], fits["balanceAfter"]) == ("999999000000", "999999000018")
    counts = await table_counts(database)
    past_balance = await add_value(api, value_input("BIG", bought, "1"))  # the balance would pass 10^12
    assert (past_balance["code"], past_balance["field"]) == ("INVALID_INPUT", "input.value")
    assert await table_counts(database) == counts
    await assert_reconciled(database)
