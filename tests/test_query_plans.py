"""No request walks a whole table: every statement a flow a brand runs sends (bills, returns and
exchanges, promo codes, alternate currencies, redemptions, transfers, adjustments and their
replays; customer lookups, search, merges, identifier changes, tiers, the expiry and conversion
runs, engagement records; imports, downloads, the webhook worker and the outbox; every list)
finds its rows through an index on SQLite. A statement without one costs a full scan per request,
which a test database of a few rows never shows: a reversal read its redemption's ledger entries
by event with no index, about 1 s a request on 6,250,000 entries.

The statements are collected as they are sent, then SQLite's EXPLAIN QUERY PLAN is asked for
each on a connection of its own. A plan's SCAN of a growing table fails the test, through an
index too (a covering index walked end to end grows with the table as well); a table named by
an alias counts as the table. One test per area, each sending its flows once, then replays.

A statement SQLite prepares again on every run fails too. When a bound parameter is compared
with a partial index's constant (`points_remaining > ?` against `WHERE points_remaining > 0`),
SQLite ties the statement's plan to the parameter's value and compiles it again each time it is
bound: ~70 us a statement, where the run itself takes a few. The `sqlite_stmt` table counts
those re-preparations; a constant written into the SQL (the ledger's HAS_POINTS_LEFT) has none.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from app.http.downloads.lists import LISTS
from app.http.maintenance import maintain
from app.storage.database import sqlite_file
from app.storage.tables import registered_tables
from app.webhooks.worker import WebhookWorker, WorkerSettings
from tests.client import (
    add,
    add_transaction,
    buy,
    customer_with_points,
    define_tracker,
    ledger_entries,
    ledger_page,
    merge,
    purchase_to_track,
    transfer,
)
from tests.conftest import make_org
from tests.documents import CLOSING_BALANCE, CUSTOMER
from tests.factories import bill, by_mobile, by_user_id, new_mobile, transferable_spec
from tests.import_checks import finished, post_csv, run_file
from tests.test_adjust_points import ADJUST, adjustment
from tests.test_alternate_currencies import currencies_spec, redemption
from tests.test_alternate_currencies import post_return as post_currency_return
from tests.test_alternate_currencies import purchase as currency_purchase
from tests.test_alternate_currencies import redeem as redeem_currency
from tests.test_alternate_currencies import return_of as currency_return_of
from tests.test_behavioural_events import EVENTS_OF
from tests.test_behavioural_events import event as behavioural_event
from tests.test_behavioural_events import record as record_events
from tests.test_cards import issue as issue_card
from tests.test_change_identifier import IDENTIFIER_HISTORY, change
from tests.test_currency_line_rules import line_rules_spec
from tests.test_currency_line_rules import purchase as cafe_purchase
from tests.test_currency_redemption_reversal import redeemed as currency_redeemed
from tests.test_currency_redemption_reversal import reverse as reverse_currency
from tests.test_currency_transfers import transfer as transfer_currency
from tests.test_currency_transfers import transfer_input as currency_transfer_input
from tests.test_customer_coupons import COUPONS, customer_with_each_status
from tests.test_customer_coupons import REDEMPTIONS as COUPON_REDEMPTIONS
from tests.test_customer_history import HISTORY as CUSTOMER_HISTORY
from tests.test_customer_promotions import PROMOTION, award, award_input
from tests.test_customer_query import CUSTOMER_WITH_BILLS
from tests.test_customer_search import search
from tests.test_downloads import LISTS_OF, download
from tests.test_expiry import expiry_spec
from tests.test_import_customer_promotion import SETTINGS as PROMOTION_IMPORT_SETTINGS
from tests.test_imports import PROFILE_EXAMPLE
from tests.test_interactions import INTERACTIONS_OF, sms
from tests.test_interactions import record as record_interactions
from tests.test_leads import LEADS
from tests.test_leads import UPDATE_STATUS as UPDATE_LEAD_STATUS
from tests.test_leads import create as create_lead
from tests.test_promised_points import CONVERT, promised_spec
from tests.test_promotion_history import PROMOTION_HISTORY
from tests.test_promotions import (
    ADD_WITH_PROMO,
    LINK,
    LIST_PROMOTIONS,
    create_promotion,
    exchange_of,
    small_bill,
    upload,
)
from tests.test_reconciliation import admin_key, reconciliation
from tests.test_redemptions import REDEEM, REDEMPTIONS, REVERSE
from tests.test_referrals import purchase as referral_purchase
from tests.test_referrals import referral_spec, referrer
from tests.test_returns import post_return, purchase, return_of
from tests.test_segments import CUSTOMER_SEGMENTS, SEGMENTS
from tests.test_segments import HISTORY as SEGMENT_HISTORY
from tests.test_segments import add as add_segment_members
from tests.test_segments import create as create_segment
from tests.test_segments import remove as remove_segment_members
from tests.test_talon_import import PROFILE_EXAMPLE as TALON_EXAMPLE
from tests.test_talon_import import multipart, post_points
from tests.test_tier_history import TIER_HISTORY, validity_spec
from tests.test_trackers import TRACKERS, add_value, value_input
from tests.test_transfers import TRANSFERS_OF
from tests.test_user_groups import ADD as ADD_GROUP_MEMBERS
from tests.test_user_groups import GROUP
from tests.test_user_groups import create as create_group
from tests.test_webhooks import created, private_spec

# An organisation's configuration: a scan of these is bounded by what a brand sets up.
CONFIGURATION_TABLES = frozenset(
    {
        "api_keys",
        "import_templates",
        "organizations",
        "programs",
        "promotions",
        "segments",
        "stores",
        "subledgers",
        "tiers",
        "tills",
        "trackers",
        "webhook_endpoints",
    }
)
# Every other table grows with the business, a table added later too: a scan of any grows with it.
GROWING_TABLES = frozenset(registered_tables().tables) - CONFIGURATION_TABLES
# Statements that read all of an organisation's rows by design, found by a part of their SQL: why.
READ_EVERYTHING = {
    "AS last_balance_after": "reconciliation (admin only) recomputes every account of the organisation",
    "AS moved": "reconciliation (admin only) checks every lot of the organisation against its movements",
    "count(*) AS count_1 FROM point_accounts WHERE": "reconciliation (admin only) counts the accounts it checked",
}
# `FROM table alias` / `JOIN table AS alias`: a plan names a table by its alias.
ALIASED = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)\s+(?:AS\s+)?(\w+)", re.IGNORECASE)
NOT_ALIASES = frozenset({"WHERE", "JOIN", "LEFT", "INNER", "OUTER", "CROSS", "ON", "GROUP", "ORDER", "LIMIT", "USING"})


@pytest.fixture
async def org(database):
    return await make_org(database, transferable_spec())


@pytest.fixture
def statements_sent(database) -> Any:
    """(SQL, parameters) of every statement the engines send, in order."""
    if not database.is_sqlite:
        pytest.skip("SQLite's query plans")
    sent: list[tuple[str, Any]] = []

    def before(connection, cursor, statement, parameters, context, executemany) -> None:
        if not executemany:
            sent.append((statement, parameters))

    engines = {database.read_engine.sync_engine, database.write_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
    yield sent
    for engine in engines:
        event.remove(engine, "before_cursor_execute", before)


REPREPARED = "prepared again on every run: a parameter compared with a partial index's constant"


def scanned_table(detail: str, aliases: dict[str, str]) -> str | None:
    """The growing table a plan's line scans (None: it searches, or scans something else)."""
    words = detail.split()
    if words[:1] != ["SCAN"] or len(words) < 2:
        return None
    table = aliases.get(words[1], words[1])
    return table if table in GROWING_TABLES else None


def slow_plans(database, sent: list[tuple[str, Any]]) -> dict[str, str]:
    """The statements whose plan scans a growing table (SQL -> the plan's line) or that SQLite
    prepares again on every run (SQL -> REPREPARED)."""
    path = sqlite_file(database.url)
    assert path is not None
    found: dict[str, str] = {}
    with sqlite3.connect(path) as connection:
        for sql, parameters in sent:
            one_line = " ".join(sql.split())
            head = one_line.upper()
            if not head.startswith(("SELECT", "UPDATE", "DELETE", "WITH", "INSERT")):
                continue
            if head.startswith("INSERT") and " SELECT " not in head:
                continue
            if any(marker in one_line for marker in READ_EVERYTHING):
                continue
            aliases = {alias: table for table, alias in ALIASED.findall(sql) if alias.upper() not in NOT_ALIASES}
            explain = f"EXPLAIN QUERY PLAN {sql}"
            plan = connection.execute(explain, parameters or ()).fetchall()
            for *_, detail in plan:
                if scanned_table(detail, aliases) is not None:
                    found[one_line] = detail
            prepared_again = connection.execute("SELECT reprep FROM sqlite_stmt WHERE sql = ?", (explain,)).fetchone()
            assert prepared_again is not None, "the explained statement is still prepared"
            if prepared_again[0]:
                found[one_line] = REPREPARED
    return found


async def test_member_care_flows_find_their_rows_through_indexes(api, database, statements_sent):
    # Given two customers with points
    mobile, user_id = await customer_with_points(api, "5000")
    _, other_user_id = await customer_with_points(api, "1000")

    # When member care redeems, reverses part of it twice (the second a replay), transfers and
    # adjusts points (each once more as a replay), and reads the lists that show all of it
    redemption_input = {"customer": by_mobile(mobile), "points": "20", "tillCode": "till-1"}
    redemption_id = (await api.data(REDEEM, {"input": redemption_input}))["redeemPoints"]["redemption"]["id"]
    for _ in range(2):
        reversal = {"redemptionId": redemption_id, "points": "5", "idempotencyKey": "reverse-1"}
        assert (await api.data(REVERSE, {"input": reversal}))["reverseRedemption"]["__typename"] == "RedemptionReversed"
    for _ in range(2):
        moved = await transfer(api, by_user_id(user_id), by_user_id(other_user_id), "7", idempotencyKey="transfer-1")
        assert moved["__typename"] == "PointsTransferred"
    for _ in range(2):
        adjusted = await api.data(ADJUST, {"input": adjustment(user_id, "CREDIT", "3", "adjust-1")})
        assert adjusted["adjustPoints"]["__typename"] == "PointsAdjusted"
    await api.data(REDEMPTIONS, {"customer": by_user_id(user_id)})
    await api.data(TRANSFERS_OF, {"customer": by_user_id(user_id)})
    await ledger_entries(api, by_user_id(user_id))
    await customer_with_points(api, "100")  # a new customer's bill
    await api.data(REDEEM, {"input": {"customer": by_mobile(new_mobile()), "points": "1", "tillCode": "till-1"}})

    # Then no statement walked a growing table
    assert len(statements_sent) > 50
    assert slow_plans(database, statements_sent) == {}


async def test_returns_exchanges_and_promo_codes_find_their_rows_through_indexes(api, database, org, statements_sent):
    # Given bills to return, a promotion with a common code and one with an uploaded code
    full, by_line, swapped = await purchase(api), await purchase(api), await purchase(api)
    await create_promotion(api, commonCode="SAVE10")
    await upload(database, org, await create_promotion(api, name="paper coupon"), "code\nPAPER-1\n")
    promo_mobile = new_mobile()
    redeemer, _ = await customer_with_points(api, "5000")
    redeemed = await api.data(
        REDEEM, {"input": {"customer": by_mobile(redeemer), "points": "10", "tillCode": "till-1"}}
    )

    # When they are returned in full, by line and exchanged, a bill paid by a redemption is
    # returned, a bill uses the common code and is returned, and a linked code applies on its
    # owner's next bill
    assert (await post_return(api, return_of(full)))["__typename"] == "TransactionReturned"
    partial = return_of(by_line, "LINE_ITEM", lineItems=[{"serial": 1, "qty": "1"}])
    assert (await post_return(api, partial))["__typename"] == "TransactionReturned"
    exchange = exchange_of(swapped, swapped["mobile"], "SWAP-1", "SHIRT-02", "200")
    assert (await post_return(api, exchange))["__typename"] == "TransactionReturned"
    paid_input = bill(customer={"mobile": redeemer}, lineItems=[], amount="500", grossAmount=None, discount=None)
    paid_input["pointsRedemptions"] = [redeemed["redeemPoints"]["redemption"]["id"]]
    paid = (await add(api, paid_input))["transaction"]
    assert (await post_return(api, return_of({**paid, "mobile": redeemer})))["__typename"] == "TransactionReturned"
    with_code = small_bill("300", customer={"mobile": promo_mobile}, promoCodes=["SAVE10"])
    coded = (await add_transaction(api, with_code, query=ADD_WITH_PROMO))["transaction"]
    coded_return = return_of({**coded, "mobile": promo_mobile, "tillCode": "till-1"})
    assert (await post_return(api, coded_return))["__typename"] == "TransactionReturned"
    linked = await api.data(LINK, {"input": {"code": "PAPER-1", "customer": by_mobile(promo_mobile)}})
    assert linked["linkPromoCode"]["__typename"] == "PromoCodeLinked"
    await add(api, small_bill("200", customer={"mobile": promo_mobile}))

    # Then no statement walked a growing table
    assert slow_plans(database, statements_sent) == {}


async def test_alternate_currencies_find_their_rows_through_indexes(org_api, database, statements_sent):
    # Given an organisation with alternate currencies, and one earning them by line rules
    currencies = await org_api(currencies_spec())
    line_rules_spec_with_code = line_rules_spec()
    line_rules_spec_with_code["organization"]["code"] = "cafe"
    cafe = await org_api(line_rules_spec_with_code)
    mobile, other_mobile, cafe_mobile = new_mobile(), new_mobile(), new_mobile()

    # When bills earn them, a customer redeems, reverses, transfers (each twice: the second a
    # replay) and a bill is returned, partly then in full; a line-rule bill is returned by line
    bought = await currency_purchase(currencies, mobile, "5000")
    await currency_purchase(currencies, other_mobile, "100")
    for _ in range(2):
        assert (await redeem_currency(currencies, redemption(mobile, "rgpws7", "3", "redeem-1")))["__typename"] == (
            "AlternateCurrencyRedeemed"
        )
    event_log_id = await currency_redeemed(currencies, mobile, "2", "redeem-2")
    for _ in range(2):
        assert (await reverse_currency(currencies, event_log_id, "reverse-1"))["__typename"] == (
            "AlternateCurrencyRedemptionReversed"
        )
    for _ in range(2):
        sent = currency_transfer_input(by_mobile(mobile), by_mobile(other_mobile), "1", "transfer-1")
        assert (await transfer_currency(currencies, sent))["__typename"] == "AlternateCurrencyTransferred"
    partly = await post_currency_return(currencies, currency_return_of(bought, mobile, "AMOUNT", amount="1000"))
    assert partly["__typename"] == "TransactionReturned"
    assert (await post_currency_return(currencies, currency_return_of(bought, mobile)))["__typename"] == (
        "TransactionReturned"
    )
    cafe_bill = await cafe_purchase(cafe, cafe_mobile)
    cafe_return = currency_return_of(cafe_bill, cafe_mobile, "LINE_ITEM", lineItems=[{"serial": 3, "qty": "1"}])
    assert (await post_currency_return(cafe, cafe_return))["__typename"] == "TransactionReturned"
    currency_page = await ledger_page(currencies, by_mobile(mobile), {"alternateCurrency": "rgpws7"})
    assert currency_page["__typename"] == "LedgerEntryPage"

    # Then no statement walked a growing table
    assert slow_plans(database, statements_sent) == {}


async def test_customer_lookups_merges_tiers_and_runs_find_their_rows_through_indexes(
    api, org_api, database, clock, statements_sent
):
    # Given a silver customer known by every identifier, two to merge, and organisations whose
    # points expire, whose tiers lapse and whose points are promised
    mobile, victim, survivor = new_mobile(), new_mobile(), new_mobile()
    await buy(api, mobile, "20000", email="plans@example.com", externalId="EXT-PLANS")
    assert (await issue_card(api, by_mobile(mobile), "CARD-PLANS-1"))["__typename"] == "CardIssued"
    await buy(api, victim, "1000")
    await buy(api, survivor, "1000")
    for other in (expiry_spec("expiring"), validity_spec("lapsing")):
        await buy(await org_api(other), new_mobile(), "20000")
    promised, promised_mobile = await org_api(promised_spec("promised")), new_mobile()
    await buy(promised, promised_mobile, "20000")
    await buy(promised, new_mobile(), "20000")  # two accounts: the pass looks up pairs, not one
    await buy(promised, promised_mobile, "1000", till="till-trigger")
    lookups = {
        "MOBILE": mobile,
        "EMAIL": "plans@example.com",
        "EXTERNAL_ID": "EXT-PLANS",
        "CARD_NUMBER": "CARD-PLANS-1",
        "USER_ID": (await api.data(CUSTOMER, {"lookup": by_mobile(mobile)}))["customer"]["userId"],
    }

    # When the customer is looked up and searched for by each, two customers merge, an identifier
    # changes, and the maintenance pass expires points and tiers and releases promised points
    for kind, value in lookups.items():
        assert (await api.data(CUSTOMER, {"lookup": {"type": kind, "value": value}}))["customer"]["__typename"] == (
            "Customer"
        )
    criteria = {"mobile": mobile, "email": "plans@example.com", "externalId": "EXT-PLANS"}
    criteria |= {"cardNumber": "CARD-PLANS-1", "userId": lookups["USER_ID"], "name": "ann"}
    for name, value in criteria.items():
        assert (await search(api, {name: value}))["__typename"] == "CustomerSearchPage"
    assert (await merge(api, by_mobile(survivor), by_mobile(victim)))["__typename"] == "CustomersMerged"
    changed = await change(api, by_mobile(mobile), type="EMAIL", remove="plans@example.com", add="new@example.com")
    assert changed["__typename"] == "IdentifierChanged"
    converted = await promised.data(CONVERT, {"input": {"customer": by_mobile(promised_mobile)}})
    assert converted["convertTriggerBasedPoints"]["__typename"] == "TriggerBasedPointsConverted"
    for days in (20, 800):  # promised points come due, then everything expires
        await maintain(database, as_of=clock.now() + timedelta(days=days), idempotency_retention=timedelta(days=1))

    # Then no statement walked a growing table
    assert slow_plans(database, statements_sent) == {}


async def test_engagement_records_find_their_rows_through_indexes(api, org_api, database, org, statements_sent):
    # Given customers, one holding a code of each status, a tracker, a referral program, a group
    mobile, other = new_mobile(), new_mobile()
    await buy(api, mobile, "1000")
    await buy(api, other, "1000")
    coupon_mobile, *_ = await customer_with_each_status(api, database, org)
    assert (await define_tracker(api, "FUEL", "TRANSACTION", "0.5"))["__typename"] == "TrackerDefined"
    referral_org = referral_spec()
    referral_org["organization"]["code"] = "referring"
    referrals = await org_api(referral_org)

    # When each kind of record is written twice (the second a replay) and read back
    recorded = []
    for _ in range(2):
        recorded += await record_events(api, [behavioural_event(mobile, "tracking-1")])
        recorded += await record_interactions(api, [sms(mobile, "message-1")])
    lead = await create_lead(api, by_mobile(mobile))
    lead_status = {"leadId": lead["lead"]["id"], "status": "IN_PROGRESS", "subStatus": "Demo"}
    group = {"type": "EXTERNAL_ID", "value": "FLEET-A"}
    changes = [
        lead,
        (await api.data(UPDATE_LEAD_STATUS, {"input": lead_status}))["updateLeadStatus"],
        await create_segment(api, "GOLD"),
        await add_segment_members(api, "GOLD", [by_mobile(mobile), by_mobile(other)]),
        await remove_segment_members(api, "GOLD", [by_mobile(other)]),
        await add_value(api, value_input("FUEL", await purchase_to_track(api, mobile), "45.5")),
        await create_group(api, "FLEET-A", [by_mobile(mobile)]),
        (await api.data(ADD_GROUP_MEMBERS, {"input": {"group": group, "members": [by_mobile(other)]}}))[
            "addUserGroupMembers"
        ],
        await award(api, award_input(mobile, "100", idempotencyKey="award-1")),
        await award(api, award_input(mobile, "100", idempotencyKey="award-1")),
        await award(api, {**award_input(mobile, "50"), "customer": None, "userGroup": group}),
    ]
    referrer_id, code = await referrer(referrals)
    referee = new_mobile()
    assert (await referral_purchase(referrals, referee, "1000", referralCode=code))["__typename"] == "TransactionAdded"
    assert (await merge(referrals, by_user_id(referrer_id), by_mobile(referee)))["__typename"] == "CustomersMerged"
    for document, variables in (
        (EVENTS_OF, {"customer": by_mobile(mobile)}),
        (INTERACTIONS_OF, {"customer": by_mobile(mobile)}),
        (LEADS, {"lookup": by_mobile(mobile)}),
        (SEGMENTS, {}),
        (CUSTOMER_SEGMENTS, {"lookup": by_mobile(mobile)}),
        (SEGMENT_HISTORY, {"lookup": by_mobile(mobile)}),
        (COUPONS, {"customer": by_mobile(coupon_mobile)}),
        (COUPON_REDEMPTIONS, {"customer": by_mobile(coupon_mobile)}),
        (TRACKERS, {}),
        (GROUP, {"lookup": group}),
        (PROMOTION, {"identifier": "DIWALI-2026"}),
        (PROMOTION_HISTORY, {"customer": by_mobile(mobile)}),
        (LIST_PROMOTIONS, {"first": 10}),
    ):
        assert "errors" not in await api.post(document, variables)

    # Then each was written (once) and no statement walked a growing table
    assert [(answer["__typename"], answer.get("replayed")) for answer in recorded] == [
        ("BehaviouralEventRecorded", False),
        ("InteractionRecordedPayload", None),
        ("BehaviouralEventRecorded", True),
        ("InteractionRecordedPayload", None),
    ]
    assert [answer["__typename"] for answer in changes] == [
        "LeadChanged",
        "LeadChanged",
        "SegmentCreated",
        "SegmentMembersChanged",
        "SegmentMembersChanged",
        "TrackerValueAdded",
        "UserGroupChanged",
        "UserGroupChanged",
        "PromotionPointsAwarded",
        "PromotionPointsAwarded",
        "PromotionPointsAwarded",
    ]
    assert slow_plans(database, statements_sent) == {}


async def test_imports_downloads_webhooks_and_the_outbox_find_their_rows_through_indexes(
    client_api, org_api, database, clock, statements_sent
):
    # Given a customer with history, and an organisation with a webhook endpoint nobody answers
    mobile = new_mobile()
    await buy(client_api, mobile, "5000")
    hooks = await org_api(private_spec("hooks"))
    await created(hooks, "http://127.0.0.1:9/unanswered")
    await buy(hooks, new_mobile(), "1000")

    # When points files come in (the points import and the Talon.One endpoint), every list is
    # downloaded, and the webhook worker delivers, fails, and retries when due
    response = await post_csv(client_api, PROFILE_EXAMPLE, fileName="profile.csv")
    assert (await finished(client_api, str(response.json()["job"]["id"])))["status"] == "DONE"
    assert (await post_points(client_api, multipart(TALON_EXAMPLE))).status_code == 200
    await define_tracker(client_api, "KM", "LINE_ITEM", "2")
    tracked = await purchase_to_track(client_api, mobile)
    tracker_file = "email,user_id,loyalty_log_id,item_id,tracked_value\n" + "".join(
        f",{tracked['userId']},{tracked['id']},{line},4\n"
        for line in (1, 2)  # two lines: pairs, not one
    )
    tracker_settings = {"billIdentification": "LOYALTY_LOG_ID", "uniqueIdentifierType": "USER_ID"}
    assert (await run_file(client_api, "/imports/tracker", tracker_file, tracker="KM", **tracker_settings))[
        "rowsImported"
    ] == 2
    other_mobile = new_mobile()
    await buy(client_api, other_mobile, "100")
    await create_group(client_api, "FLEET-9", [by_mobile(mobile), by_mobile(other_mobile)])
    group_file = "user_group_identifier,mobile,store_code,points\n" + "".join(
        f"FLEET-9,{member},store-1,25\n" for member in (mobile, other_mobile)
    )
    promotion_job = await run_file(
        client_api, "/imports/promotion", group_file, **PROMOTION_IMPORT_SETTINGS, userGroupsEnabled="true"
    )
    assert (promotion_job["status"], promotion_job["rowsImported"]) == ("DONE", 2), promotion_job
    await api_data_ok(client_api, "query { importJobs(first: 10) { jobs { id } } }", {})
    for listing in LISTS:
        answer = await download(client_api, f"/downloads/{listing.name}.csv", customer=mobile, customerType="MOBILE")
        assert answer.status_code == 200, (listing.name, answer.text)
    worker = WebhookWorker(database, clock, settings=WorkerSettings(timeout_seconds=5), jitter=lambda: 0.0)
    first_pass = await worker.run_until_idle()
    clock.advance(timedelta(hours=1))
    retries = await worker.run_until_idle()
    await worker.close()

    # Then the worker tried, then tried again, and no statement walked a growing table
    assert (first_pass.fanned_out > 0, first_pass.delivered, retries.sent > 0) == (True, 0, True)
    assert slow_plans(database, statements_sent) == {}


async def test_every_list_finds_its_rows_through_indexes(api, database, org, statements_sent):
    # Given a customer who bought, redeemed and sent points
    mobile, user_id = await customer_with_points(api, "5000")
    _, other_user_id = await customer_with_points(api, "1000")
    await api.data(REDEEM, {"input": {"customer": by_mobile(mobile), "points": "10", "tillCode": "till-1"}})
    await transfer(api, by_user_id(user_id), by_user_id(other_user_id), "7")

    # When every list is read, the ledger with each filter
    for ledger_filter in (
        {"eventSources": ["INSTORE"]},
        {"tillCodes": ["till-1"]},
        {"startDate": "2026-01-01T00:00:00Z", "endDate": "2027-01-01T00:00:00Z"},
        {"entryType": "DEBIT"},
        {"pointsCategories": ["REGULAR"]},
        {"programCodes": ["main"]},
    ):
        assert (await ledger_page(api, by_mobile(mobile), ledger_filter))["__typename"] == "LedgerEntryPage"
    await api_data_ok(api, LISTS_OF, {"customer": by_mobile(mobile)})
    await api_data_ok(api, CUSTOMER_HISTORY, {"customer": by_mobile(mobile)})
    await api_data_ok(api, CUSTOMER_WITH_BILLS, {"lookup": by_mobile(mobile), "first": 10})
    await api_data_ok(api, TIER_HISTORY, {"customer": by_mobile(mobile)})
    await api_data_ok(api, IDENTIFIER_HISTORY, {"customer": by_mobile(mobile)})
    await api_data_ok(api, TRANSFERS_OF, {"customer": by_mobile(mobile)})
    await api_data_ok(api, REDEMPTIONS, {"customer": by_mobile(mobile)})
    await api_data_ok(api, CLOSING_BALANCE, {"customer": by_mobile(mobile)})
    report = await reconciliation(api, await admin_key(database, org.org_id))
    assert (report["__typename"], report["discrepancies"]) == ("Reconciliation", [])

    # Then no statement walked a growing table
    assert slow_plans(database, statements_sent) == {}


async def api_data_ok(api, document: str, variables: dict[str, Any]) -> None:
    """`document` answered without errors."""
    assert "errors" not in await api.post(document, variables)
