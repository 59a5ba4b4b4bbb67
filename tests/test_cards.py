"""Loyalty cards through the API: issueCard, setCardStatus (a replacement carries the points), the
cards listed on a customer, and the Talon.One card import finding a card by number, external id
or a customer's card number identifier (only ACTIVE cards take points)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.ledger.models import EventType
from app.storage import migrate
from app.storage.database import Database
from tests.client import buy, post_at_once
from tests.conftest import TEST_NOW
from tests.factories import by_mobile, by_user_id, new_mobile, org_spec
from tests.import_checks import finished, points_of, post_csv
from tests.ledger_checks import assert_reconciled, count_events
from tests.snapshots import organization_rows
from tests.test_schema_and_migrations import scratch_database

CARD_FIELDS = "number externalId programCode status replacedByNumber userId issuedAt updatedAt"

ISSUE = f"""
mutation Issue($input: IssueCardInput!) {{
  issueCard(input: $input) {{
    __typename
    ... on CardIssued {{ replayed card {{ {CARD_FIELDS} }} }}
    ... on Error {{ code field }}
  }}
}}
"""

SET_STATUS = f"""
mutation SetStatus($input: SetCardStatusInput!) {{
  setCardStatus(input: $input) {{
    __typename
    ... on CardStatusSet {{ card {{ {CARD_FIELDS} }} replacement {{ {CARD_FIELDS} }} }}
    ... on Error {{ code field }}
  }}
}}
"""

CUSTOMER_CARDS = """
query Cards($lookup: CustomerLookupInput!) {
  customer(lookup: $lookup) { ... on Customer { cards { number externalId status replacedByNumber } } }
}
"""

CARD_EXAMPLE = (  # the Talon.One seed's card row
    b"identifier,amount,startdate,expirydate,subledgerid,reason\n"
    b"summer-loyalty-card-0543,100,2009-11-10T23:00:00Z,2009-11-11T23:00:00Z,subledger1,appeasement\n"
)


async def issue(api, customer, number, **extra):
    variables = {"input": {"customer": customer, "programCode": "main", "number": number, **extra}}
    return (await api.data(ISSUE, variables))["issueCard"]


async def set_status(api, number, status, **extra):
    variables = {"input": {"programCode": "main", "number": number, "status": status, **extra}}
    return (await api.data(SET_STATUS, variables))["setCardStatus"]


async def cards_of(api, customer):
    return (await api.data(CUSTOMER_CARDS, {"lookup": customer}))["customer"]["cards"]


async def import_rows(api, body: bytes) -> dict:
    return await finished(api, str((await post_csv(api, body)).json()["job"]["id"]))


async def holder(api) -> tuple[str, str]:
    mobile = new_mobile()
    user_id = (await buy(api, mobile, "1800"))["transaction"]["customer"]["userId"]  # 18 main points
    return mobile, user_id


async def test_an_issued_card_is_listed_and_the_seeds_card_row_credits_its_holder(client_api, database, clock):
    mobile, user_id = await holder(client_api)

    issued = await issue(client_api, by_mobile(mobile), "summer-loyalty-card-0543", externalId="TALON-0543")
    job = await import_rows(client_api, CARD_EXAMPLE)

    assert issued == {
        "__typename": "CardIssued",
        "replayed": False,
        "card": {
            "number": "summer-loyalty-card-0543",
            "externalId": "TALON-0543",
            "programCode": "main",
            "status": "ACTIVE",
            "replacedByNumber": None,
            "userId": user_id,
            "issuedAt": clock.now().isoformat(),
            "updatedAt": None,
        },
    }
    assert await cards_of(client_api, by_user_id(user_id)) == [
        {"number": "summer-loyalty-card-0543", "externalId": "TALON-0543", "status": "ACTIVE", "replacedByNumber": None}
    ]
    assert (job["status"], job["rowsImported"], job["rowsRejected"]) == ("DONE", 1, 0)
    # The seed's row expired in 2009: credited and expired at once, so the holder keeps the bill's 18.
    assert (await points_of(client_api, "USER_ID", user_id))["loyaltyPoints"] == "18"
    await assert_reconciled(database)


async def test_the_import_finds_a_card_by_external_id_and_by_a_customers_card_number(client_api, database):
    _, card_holder = await holder(client_api)
    await issue(client_api, by_user_id(card_holder), "CARD-EXT-1", externalId="BRAND-CARD-1")
    identifier_mobile = new_mobile()
    identifier_holder = (await buy(client_api, identifier_mobile, "1800", cardNumber="summer-loyalty-card-0543"))[
        "transaction"
    ]["customer"]["userId"]

    job = await import_rows(client_api, b"identifier,amount\nBRAND-CARD-1,10\nsummer-loyalty-card-0543,100\n")

    assert (job["status"], job["rowsImported"], job["rowsRejected"]) == ("DONE", 2, 0)
    assert (await points_of(client_api, "USER_ID", card_holder))["loyaltyPoints"] == "28"
    assert (await points_of(client_api, "USER_ID", identifier_holder))["loyaltyPoints"] == "118"
    await assert_reconciled(database)


async def test_a_replacement_card_carries_the_points_and_the_old_one_takes_none(client_api, database, clock):
    _, user_id = await holder(client_api)
    await issue(client_api, by_user_id(user_id), "OLD-1")
    await import_rows(client_api, b"identifier,amount\nOLD-1,50\n")

    replaced = await set_status(client_api, "OLD-1", "REPLACED", newNumber="NEW-1", newExternalId="NEW-EXT-1")
    job = await import_rows(client_api, b"identifier,amount\nOLD-1,5\nNEW-1,30\nNEW-EXT-1,2\n")

    assert replaced["__typename"] == "CardStatusSet"
    assert (replaced["card"]["status"], replaced["card"]["replacedByNumber"], replaced["card"]["updatedAt"]) == (
        "REPLACED",
        "NEW-1",
        clock.now().isoformat(),
    )
    assert (
        replaced["replacement"]["number"],
        replaced["replacement"]["externalId"],
        replaced["replacement"]["status"],
        replaced["replacement"]["userId"],
    ) == ("NEW-1", "NEW-EXT-1", "ACTIVE", user_id)
    assert await cards_of(client_api, by_user_id(user_id)) == [
        {"number": "OLD-1", "externalId": None, "status": "REPLACED", "replacedByNumber": "NEW-1"},
        {"number": "NEW-1", "externalId": "NEW-EXT-1", "status": "ACTIVE", "replacedByNumber": None},
    ]
    assert (job["rowsImported"], job["rowsRejected"]) == (2, 1)
    assert [(r["rowNumber"], r["code"]) for r in job["rejects"]["rejects"]] == [(2, "CARD_INACTIVE")]
    # 18 from the bill, 50 on the old card, 32 on the new one: one account.
    assert (await points_of(client_api, "USER_ID", user_id))["loyaltyPoints"] == "100"
    await assert_reconciled(database)


async def test_blocked_and_lost_cards_take_no_points_until_active_again(client_api, database):
    _, user_id = await holder(client_api)
    await issue(client_api, by_user_id(user_id), "BLOCK-1")
    await issue(client_api, by_user_id(user_id), "LOST-1")

    blocked = await set_status(client_api, "BLOCK-1", "BLOCKED")
    lost = await set_status(client_api, "LOST-1", "LOST")
    refused = await import_rows(client_api, b"identifier,amount\nBLOCK-1,10\nLOST-1,10\n")
    events_before = await count_events(database, EventType.POINTS_IMPORT)
    active = await set_status(client_api, "BLOCK-1", "ACTIVE")
    taken = await import_rows(client_api, b"identifier,amount\nBLOCK-1,10\n")

    assert (blocked["card"]["status"], lost["card"]["status"], active["card"]["status"]) == (
        "BLOCKED",
        "LOST",
        "ACTIVE",
    )
    assert [(r["rowNumber"], r["code"]) for r in refused["rejects"]["rejects"]] == [
        (2, "CARD_INACTIVE"),
        (3, "CARD_INACTIVE"),
    ]
    assert events_before == 0
    assert (taken["rowsImported"], (await points_of(client_api, "USER_ID", user_id))["loyaltyPoints"]) == (1, "28")


async def test_refusals_name_the_field_and_change_nothing(client_api, database, org):
    mobile, user_id = await holder(client_api)
    await issue(client_api, by_user_id(user_id), "TAKEN-1", externalId="TAKEN-EXT")
    await issue(client_api, by_user_id(user_id), "GONE-1")
    await set_status(client_api, "GONE-1", "REPLACED", newNumber="GONE-2")
    before = await organization_rows(database, org.org_id)

    results = [
        await issue(client_api, by_mobile(mobile), "TAKEN-1"),
        await issue(client_api, by_mobile(mobile), "TAKEN-EXT"),
        await issue(client_api, by_mobile(mobile), "FRESH-1", externalId="TAKEN-1"),
        await issue(client_api, by_mobile(mobile), "   "),
        await issue(client_api, by_mobile(new_mobile()), "FRESH-2"),
        await issue(client_api, by_mobile(mobile), "FRESH-3", programCode="nope"),
        await set_status(client_api, "NOPE-1", "BLOCKED"),
        await set_status(client_api, "TAKEN-1", "REPLACED"),
        await set_status(client_api, "TAKEN-1", "BLOCKED", newNumber="X-1"),
        await set_status(client_api, "TAKEN-1", "REPLACED", newNumber="GONE-2"),
        await set_status(client_api, "GONE-1", "ACTIVE"),
        await set_status(client_api, "GONE-1", "REPLACED", newNumber="GONE-3"),
    ]

    assert [(result["__typename"], result["code"], result["field"]) for result in results] == [
        ("ConflictError", "CARD_TAKEN", "input.number"),
        ("ConflictError", "CARD_TAKEN", "input.number"),
        ("ConflictError", "CARD_TAKEN", "input.externalId"),
        ("InvalidInputError", "INVALID_IDENTIFIER", "input.number"),
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "input.customer"),
        ("NotFoundError", "NOT_FOUND", "input.programCode"),
        ("NotFoundError", "CARD_NOT_FOUND", "input.number"),
        ("InvalidInputError", "REPLACEMENT_NUMBER", "input.newNumber"),
        ("InvalidInputError", "REPLACEMENT_NUMBER", "input.newNumber"),
        ("ConflictError", "CARD_TAKEN", "input.newNumber"),
        ("ConflictError", "CARD_REPLACED", "input.number"),
        ("ConflictError", "CARD_REPLACED", "input.number"),
    ]
    assert await organization_rows(database, org.org_id) == before


async def test_an_issue_replayed_with_its_key_returns_the_card_and_writes_nothing(client_api, database, org):
    _, user_id = await holder(client_api)
    first = await issue(client_api, by_user_id(user_id), "KEYED-1", idempotencyKey="card-1")
    after_first = await organization_rows(database, org.org_id)

    again = await issue(client_api, by_user_id(user_id), "KEYED-1", idempotencyKey="card-1")
    other = await issue(client_api, by_user_id(user_id), "KEYED-2", idempotencyKey="card-1")

    assert (first["replayed"], again["replayed"], again["card"]) == (False, True, first["card"])
    assert (other["code"], other["field"]) == ("IDEMPOTENCY_KEY_REUSED", "input.idempotencyKey")
    assert await organization_rows(database, org.org_id) == after_first
    assert Decimal((await points_of(client_api, "USER_ID", user_id))["loyaltyPoints"]) == 18


async def test_concurrent_issues_of_one_number_and_replacements_of_one_card_let_one_through(client_api):
    _, first_holder = await holder(client_api)
    _, second_holder = await holder(client_api)
    issue_inputs = [
        {"customer": by_user_id(user_id), "programCode": "main", "number": "RACE-1"}
        for user_id in (first_holder, second_holder) * 2
    ]
    issued = await post_at_once(client_api, ISSUE, issue_inputs)
    replace_inputs = [
        {"programCode": "main", "number": "RACE-1", "status": "REPLACED", "newNumber": f"RACE-NEW-{index}"}
        for index in range(4)
    ]

    replaced = await post_at_once(client_api, SET_STATUS, replace_inputs)

    assert sorted((result["__typename"], result.get("code")) for result in issued) == [
        ("CardIssued", None),
        ("ConflictError", "CARD_TAKEN"),
        ("ConflictError", "CARD_TAKEN"),
        ("ConflictError", "CARD_TAKEN"),
    ]
    assert sorted((result["__typename"], result.get("code")) for result in replaced) == [
        ("CardStatusSet", None),
        ("ConflictError", "CARD_REPLACED"),
        ("ConflictError", "CARD_REPLACED"),
        ("ConflictError", "CARD_REPLACED"),
    ]
    owner = next(result["card"]["userId"] for result in issued if result["__typename"] == "CardIssued")
    new_number = next(result["replacement"]["number"] for result in replaced if result["__typename"] == "CardStatusSet")
    assert await cards_of(client_api, by_user_id(owner)) == [
        {"number": "RACE-1", "externalId": None, "status": "REPLACED", "replacedByNumber": new_number},
        {"number": new_number, "externalId": None, "status": "ACTIVE", "replacedByNumber": None},
    ]
    loser = second_holder if owner == first_holder else first_holder
    assert (owner in (first_holder, second_holder), await cards_of(client_api, by_user_id(loser))) == (True, [])


async def test_cards_inactive_before_the_new_statuses_become_blocked(tmp_path):
    async with scratch_database(tmp_path) as url:
        await migrate.upgrade(url, "0009")
        database = Database(url, pool_size=2)
        # Written as of 0009 (today's code writes columns that came later).
        statements = [
            "INSERT INTO organizations (id, code, name, time_zone, base_country, bill_number_unique_in_days,"
            " primary_identifier, skip_secondary_id_on_primary_mismatch, created_at, updated_at)"
            " VALUES (1, 'acme', 'Acme', 'Asia/Kolkata', 'IN', 30, 'mobile', false, :now, :now)",
            "INSERT INTO programs (id, org_id, code, name, is_default, points_rounding, points_decimal_places,"
            " expiry_strategy, allow_negative_balance, points_transferable, redemption_minimum, earn_category)"
            " VALUES (1, 1, 'main', 'Main', true, 'FLOOR', 0, 'NONE', false, false, 0, 'REGULAR')",
            "INSERT INTO customers (id, org_id, first_name, last_name, loyalty_type, source, lifetime_purchases,"
            " registered_on, updated_on) VALUES (1, 1, '', '', 'LOYALTY', '', 0, :now, :now)",
            "INSERT INTO loyalty_cards (org_id, program_id, identifier, status, customer_id, created_at)"
            " VALUES (1, 1, 'OFF-1', 'INACTIVE', 1, :now), (1, 1, 'ON-1', 'ACTIVE', 1, :now)",
        ]
        try:
            for statement in statements:
                await database.run_write(
                    lambda connection, statement=statement: connection.execute(sa.text(statement), {"now": TEST_NOW})
                )
            await database.dispose()
            await migrate.upgrade(url)
            database = Database(url, pool_size=2)
            async with database.read() as connection:
                rows = (
                    await connection.execute(sa.text("SELECT identifier, status FROM loyalty_cards ORDER BY id"))
                ).all()
        finally:
            await database.dispose()

    assert [tuple(row) for row in rows] == [("OFF-1", "BLOCKED"), ("ON-1", "ACTIVE")]


async def test_another_organisations_cards_are_neither_seen_nor_changed(api, org_api, database, org):
    mobile = new_mobile()
    await buy(api, mobile, "1800")
    await issue(api, by_mobile(mobile), "SHARED-1")
    other = await org_api(org_spec("other"))
    other_mobile = new_mobile()
    await buy(other, other_mobile, "1800")
    before = await organization_rows(database, org.org_id)

    blocked = await set_status(other, "SHARED-1", "BLOCKED")
    own = await issue(other, by_mobile(other_mobile), "SHARED-1")  # numbers are unique per organisation's program

    assert (blocked["__typename"], blocked["code"], blocked["field"]) == (
        "NotFoundError",
        "CARD_NOT_FOUND",
        "input.number",
    )
    assert (own["__typename"], own["card"]["status"]) == ("CardIssued", "ACTIVE")
    assert await cards_of(other, by_mobile(other_mobile)) == [
        {"number": "SHARED-1", "externalId": None, "status": "ACTIVE", "replacedByNumber": None}
    ]
    assert await organization_rows(database, org.org_id) == before
