"""The points ledger through the API: entries, filters, keyset pages, closing balance, reconciliation."""

from __future__ import annotations

import base64
import itertools
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.ledger.models import LedgerEntry
from app.ledger.service import reconcile
from tests.client import add, closing_balance, find_customer, ledger_page, signed
from tests.factories import bill, by_mobile, by_user_id, new_mobile

entry_table = LedgerEntry.__table__
IST = ZoneInfo("Asia/Kolkata")

OPENING_ACCOUNTS = sorted(
    (program, category) for program in ("main", "cafe") for category in ("REGULAR", "PROMISED", "TRIGGER_BASED")
)


def summary(entry):
    """The fields of an entry that do not depend on ids or clocks."""
    return (
        entry["eventType"],
        entry["entryKind"],
        entry["entryType"],
        entry["programCode"],
        entry["pointsCategory"],
        entry["points"],
        entry["balanceAfter"],
        entry["pointsOnEvent"],
    )


async def move_entries_back(database, event_ids, age, now):
    # Test-only device: the ledger is append-only and the API never rewrites created_at. To see
    # the default 7-day window leave older entries out, the entries of these events are dated
    # back directly in the database.
    async def work(connection):
        await connection.execute(
            update(entry_table).where(entry_table.c.event_id.in_(event_ids)).values(created_at=now - age)
        )

    await database.run_write(work)


# --- A first purchase ---------------------------------------------------------------------


async def test_a_new_customers_first_purchase_shows_the_award_above_one_opening_balance_per_account(api):
    mobile = new_mobile()
    added = await add(api, bill(number="L-1", customer={"mobile": mobile}))
    transaction = added["transaction"]

    page = await ledger_page(api, by_mobile(mobile))

    assert page["__typename"] == "LedgerEntryPage"
    assert page["customerId"] == transaction["customer"]["userId"]
    assert page["pageInfo"]["hasNextPage"] is False
    award, *openings = page["entries"]
    assert {key: value for key, value in award.items() if key not in ("id", "eventLogId", "createdAt")} == {
        "eventType": "TRANSACTION_ADD",
        "entryKind": "POINTS_ALLOCATION",
        "entryType": "CREDIT",
        "programCode": "main",
        "pointsCategory": "REGULAR",
        "points": "18",
        "pointsOnEvent": "18",
        "balanceAfter": "18",
        "eventSource": "INSTORE",
        "storeCode": "store-1",
        "tillCode": "till-1",
        "transactionId": transaction["id"],
        "transactionNumber": "L-1",
    }
    # Opening balances: one per program and points category (2 x 3), all in one registration event.
    assert len(openings) == 6
    assert sorted((entry["programCode"], entry["pointsCategory"]) for entry in openings) == OPENING_ACCOUNTS
    assert len({entry["eventLogId"] for entry in openings}) == 1
    for entry in openings:
        assert {
            key: value
            for key, value in entry.items()
            if key not in ("id", "eventLogId", "createdAt", "programCode", "pointsCategory")
        } == {
            "eventType": "CUSTOMER_REGISTRATION",
            "entryKind": "OPENING_BALANCE",
            "entryType": "CREDIT",
            "points": "0",
            "pointsOnEvent": "0",
            "balanceAfter": "0",
            "eventSource": "INSTORE",
            "storeCode": "store-1",
            "tillCode": "till-1",
            "transactionId": None,
            "transactionNumber": None,
        }
    # Newest first; the opening balances are older than everything else.
    ids = [int(entry["id"]) for entry in page["entries"]]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 7
    assert int(award["eventLogId"]) > int(openings[0]["eventLogId"])
    assert all(entry["createdAt"] <= award["createdAt"] for entry in openings)


async def test_an_award_posted_at_a_cafe_till_shows_that_till_store_source_and_program(api):
    mobile = new_mobile()
    await add(
        api,
        bill(
            customer={"mobile": mobile},
            tillCode="till-cafe",
            amount="1010",
            lineItems=[],
            source="ECOMMERCE",
            number="C-7",
        ),
    )

    newest = (await ledger_page(api, by_mobile(mobile), first=1))["entries"][0]

    assert summary(newest) == ("TRANSACTION_ADD", "POINTS_ALLOCATION", "CREDIT", "cafe", "REGULAR", "51", "51", "51")
    assert (newest["eventSource"], newest["storeCode"], newest["tillCode"], newest["transactionNumber"]) == (
        "ECOMMERCE",
        "store-1",
        "till-cafe",
        "C-7",
    )


# --- Filters ------------------------------------------------------------------------------


async def three_purchases(api):
    """A customer with 18 main points at till-1 (INSTORE), then 50 cafe points at till-cafe
    (ECOMMERCE), then 5 main points at till-2 (store-2); the times between them are returned."""
    mobile = new_mobile()
    first = await add(api, bill(customer={"mobile": mobile}))
    after_first = api.clock.advance(timedelta(minutes=1))
    api.clock.advance(timedelta(minutes=1))
    second = await add(
        api, bill(customer={"mobile": mobile}, tillCode="till-cafe", amount="1000", lineItems=[], source="ECOMMERCE")
    )
    after_second = api.clock.advance(timedelta(minutes=1))
    api.clock.advance(timedelta(minutes=1))
    third = await add(api, bill(customer={"mobile": mobile}, tillCode="till-2", amount="500", lineItems=[]))
    return mobile, (first, second, third), (after_first, after_second)


def numbers(page):
    """Each entry as (transaction number or event type, program, category)."""
    return [
        (entry["transactionNumber"] or entry["eventType"], entry["programCode"], entry["pointsCategory"])
        for entry in page["entries"]
    ]


async def test_ledger_filters_select_entries_by_type_category_program_till_source_and_dates(api):
    mobile, (first, second, third), (after_first, after_second) = await three_purchases(api)
    one, two, three = (result["transaction"]["number"] for result in (first, second, third))
    customer = by_mobile(mobile)
    everything = await ledger_page(api, customer)
    openings = [
        ("CUSTOMER_REGISTRATION", program, category)
        for program, category in reversed(
            [("main", c) for c in ("REGULAR", "PROMISED", "TRIGGER_BASED")]
            + [("cafe", c) for c in ("REGULAR", "PROMISED", "TRIGGER_BASED")]
        )
    ]
    assert numbers(everything) == [
        (three, "main", "REGULAR"),
        (two, "cafe", "REGULAR"),
        (one, "main", "REGULAR"),
        *openings,
    ]

    credits = await ledger_page(api, customer, {"entryType": "CREDIT"})
    debits = await ledger_page(api, customer, {"entryType": "DEBIT"})
    promised = await ledger_page(api, customer, {"pointsCategories": ["PROMISED"]})
    cafe = await ledger_page(api, customer, {"programCodes": ["cafe"]})
    main_regular = await ledger_page(api, customer, {"programCodes": ["main"], "pointsCategories": ["REGULAR"]})
    cafe_till = await ledger_page(api, customer, {"tillCodes": ["till-cafe"]})
    till_one = await ledger_page(api, customer, {"tillCodes": ["till-1"]})
    two_tills = await ledger_page(api, customer, {"tillCodes": ["till-2", "till-cafe"]})
    ecommerce = await ledger_page(api, customer, {"eventSources": ["ECOMMERCE"]})
    instore = await ledger_page(api, customer, {"eventSources": ["INSTORE"]})
    since_first = await ledger_page(api, customer, {"startDate": after_first.isoformat()})
    before_second = await ledger_page(api, customer, {"endDate": after_first.isoformat()})
    between = await ledger_page(
        api, customer, {"startDate": after_first.isoformat(), "endDate": after_second.isoformat()}
    )
    combined = await ledger_page(
        api,
        customer,
        {
            "eventSources": ["INSTORE"],
            "programCodes": ["main"],
            "entryType": "CREDIT",
            "startDate": after_first.isoformat(),
        },
    )
    in_india = await ledger_page(
        api,
        customer,
        {"startDate": after_first.astimezone(IST).isoformat(), "endDate": after_second.astimezone(IST).isoformat()},
    )

    assert numbers(credits) == numbers(everything)
    assert debits["entries"] == []
    assert debits["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert numbers(promised) == [
        ("CUSTOMER_REGISTRATION", "cafe", "PROMISED"),
        ("CUSTOMER_REGISTRATION", "main", "PROMISED"),
    ]
    assert numbers(cafe) == [(two, "cafe", "REGULAR"), *[entry for entry in openings if entry[1] == "cafe"]]
    assert numbers(main_regular) == [
        (three, "main", "REGULAR"),
        (one, "main", "REGULAR"),
        ("CUSTOMER_REGISTRATION", "main", "REGULAR"),
    ]
    assert numbers(cafe_till) == [(two, "cafe", "REGULAR")]
    assert numbers(till_one) == [(one, "main", "REGULAR"), *openings]  # the customer registered at till-1
    assert numbers(two_tills) == [(three, "main", "REGULAR"), (two, "cafe", "REGULAR")]
    assert numbers(ecommerce) == [(two, "cafe", "REGULAR")]
    assert numbers(instore) == [(three, "main", "REGULAR"), (one, "main", "REGULAR"), *openings]
    assert numbers(since_first) == [(three, "main", "REGULAR"), (two, "cafe", "REGULAR")]
    assert numbers(before_second) == [(one, "main", "REGULAR"), *openings]
    assert numbers(between) == [(two, "cafe", "REGULAR")]
    assert numbers(in_india) == [(two, "cafe", "REGULAR")]  # the same instants written with a +05:30 offset
    assert numbers(combined) == [(three, "main", "REGULAR")]
    # Till and store codes come back as given (till-2 belongs to store-2).
    assert (two_tills["entries"][0]["tillCode"], two_tills["entries"][0]["storeCode"]) == ("till-2", "store-2")


@pytest.mark.parametrize(
    ("filter", "field", "message"),
    [
        ({"tillCodes": ["till-99"]}, "filter.tillCodes[0]", "no till with code 'till-99'"),
        ({"tillCodes": ["till-1", "nowhere"]}, "filter.tillCodes[1]", "no till with code 'nowhere'"),
        ({"programCodes": ["gold-club"]}, "filter.programCodes[0]", "no program with code 'gold-club'"),
        ({"startDate": "2026-11-01T00:00:00"}, "filter.startDate", "must include a time zone offset"),
        ({"endDate": "2026-11-01T00:00:00"}, "filter.endDate", "must include a time zone offset"),
    ],
)
async def test_a_filter_naming_what_does_not_exist_or_a_naive_date_is_a_typed_error(api, filter, field, message):
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}))

    entries = await ledger_page(api, by_mobile(mobile), filter)
    balance = await closing_balance(api, by_mobile(mobile), filter)

    expected = {"__typename": "InvalidInputError", "code": "INVALID_INPUT", "field": field, "message": message}
    assert entries == expected
    assert balance == expected


async def test_without_dates_the_ledger_shows_the_last_7_days(api, database, clock):
    mobile = new_mobile()
    registration = await add(api, bill(customer={"mobile": mobile}, amount="1000", lineItems=[]))
    six_days = await add(api, bill(customer={"mobile": mobile}, amount="2000", lineItems=[]))
    today = await add(api, bill(customer={"mobile": mobile}, amount="3000", lineItems=[]))
    everything = (await ledger_page(api, by_mobile(mobile)))["entries"]
    assert len(everything) == 9
    event_of = {entry["transactionNumber"]: entry["eventLogId"] for entry in everything}
    registration_event = everything[-1]["eventLogId"]
    # The registration and the first award 8 days ago, the second award 6 days ago (see move_entries_back).
    await move_entries_back(
        database,
        [int(registration_event), int(event_of[registration["transaction"]["number"]])],
        timedelta(days=8),
        clock.now(),
    )
    await move_entries_back(
        database, [int(event_of[six_days["transaction"]["number"]])], timedelta(days=6), clock.now()
    )

    default = await ledger_page(api, by_mobile(mobile))
    filtered_without_dates = await ledger_page(api, by_mobile(mobile), {"programCodes": ["main"]})
    explicit = await ledger_page(api, by_mobile(mobile), {"startDate": (clock.now() - timedelta(days=9)).isoformat()})
    balance = await closing_balance(api, by_mobile(mobile))

    assert [entry["transactionNumber"] for entry in default["entries"]] == [
        today["transaction"]["number"],
        six_days["transaction"]["number"],
    ]
    assert [entry["balanceAfter"] for entry in default["entries"]] == ["60", "30"]
    assert [entry["transactionNumber"] for entry in filtered_without_dates["entries"]] == [
        today["transaction"]["number"],
        six_days["transaction"]["number"],
    ]
    assert len(explicit["entries"]) == 9
    # The closing balance has no default window: with no filter it is the current balance.
    assert balance["balance"] == "60"


# --- Keyset pagination ----------------------------------------------------------------------


async def test_pages_of_4_walk_all_25_entries_once_newest_first(api):
    mobile = new_mobile()
    for _ in range(19):  # 6 opening balances + 19 awards of 1 point
        await add(api, bill(customer={"mobile": mobile}, amount="100", lineItems=[]))
    all_ids = [entry["id"] for entry in (await ledger_page(api, by_mobile(mobile), first=100))["entries"]]
    assert len(all_ids) == 25

    pages = []
    after = None
    while True:
        page = await ledger_page(api, by_mobile(mobile), first=4, after=after)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert len(pages) < 10, "pagination does not end"

    assert [len(page["entries"]) for page in pages] == [4, 4, 4, 4, 4, 4, 1]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True] * 6 + [False]
    walked = [entry["id"] for page in pages for entry in page["entries"]]
    assert walked == all_ids
    numeric = [int(entry_id) for entry_id in walked]
    assert all(newer > older for newer, older in itertools.pairwise(numeric))
    awards = [entry for page in pages for entry in page["entries"] if entry["eventType"] == "TRANSACTION_ADD"]
    assert [entry["balanceAfter"] for entry in awards] == [str(n) for n in range(19, 0, -1)]
    # Past the last page: an empty page.
    beyond = await ledger_page(api, by_mobile(mobile), first=4, after=pages[-1]["pageInfo"]["endCursor"])
    assert beyond["entries"] == []
    assert beyond["pageInfo"] == {"hasNextPage": False, "endCursor": None}


async def test_a_page_is_stable_while_new_entries_arrive(api):
    mobile = new_mobile()
    for _ in range(3):
        await add(api, bill(customer={"mobile": mobile}, amount="100", lineItems=[]))
    first_page = await ledger_page(api, by_mobile(mobile), first=4)

    await add(api, bill(customer={"mobile": mobile}, amount="100", lineItems=[]))  # newer than every page so far
    second_page = await ledger_page(api, by_mobile(mobile), first=100, after=first_page["pageInfo"]["endCursor"])

    # The 9 entries there were (6 opening balances + 3 awards), each once; the new one belongs to a new first page.
    seen = [entry["id"] for entry in first_page["entries"] + second_page["entries"]]
    assert len(seen) == len(set(seen)) == 9
    assert second_page["pageInfo"]["hasNextPage"] is False
    newest = (await ledger_page(api, by_mobile(mobile), first=1))["entries"][0]
    assert int(newest["id"]) > max(int(entry_id) for entry_id in seen)


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_a_page_size_outside_1_to_100_is_refused(api, first):
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}))

    result = await ledger_page(api, by_mobile(mobile), first=first)

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "field": "first",
        "message": "must be between 1 and 100",
    }


@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        "",
        "bGVkZ2VyOm5vdC1hLW51bWJlcg==",
        base64.urlsafe_b64encode(b"transaction:5").decode(),
        "%%%%",
        base64.urlsafe_b64encode(b"ledger:9223372036854775808").decode(),
    ],
    ids=["not-base64", "empty", "ledger-not-a-number", "another-kind-of-cursor", "symbols", "id-past-64-bit"],
)
async def test_a_cursor_this_api_did_not_return_is_refused(api, after):
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}))

    result = await ledger_page(api, by_mobile(mobile), first=4, after=after)

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "field": "after",
        "message": "is not a cursor this API returned",
    }


# --- Closing balance ----------------------------------------------------------------------


async def test_the_closing_balance_is_the_current_balance_without_a_filter_and_as_of_the_views_last_entry_with_one(api):
    mobile, (first, second, third), (after_first, _) = await three_purchases(api)
    customer = by_mobile(mobile)
    entries = (await ledger_page(api, customer))["entries"]
    entry_of = {entry["transactionNumber"]: entry["id"] for entry in entries}
    first_id, second_id, third_id = (entry_of[result["transaction"]["number"]] for result in (first, second, third))
    last_promised_id = max((entry["id"] for entry in entries if entry["pointsCategory"] == "PROMISED"), key=int)
    profile = await find_customer(api, customer)

    current = await closing_balance(api, customer)
    cafe = await closing_balance(api, customer, {"programCodes": ["cafe"]})
    main = await closing_balance(api, customer, {"programCodes": ["main"]})
    as_of_cafe_till = await closing_balance(api, customer, {"tillCodes": ["till-cafe"]})
    as_of_till_one = await closing_balance(api, customer, {"tillCodes": ["till-1"]})
    main_at_till_cafe = await closing_balance(api, customer, {"programCodes": ["main"], "tillCodes": ["till-cafe"]})
    before_second = await closing_balance(api, customer, {"endDate": after_first.isoformat()})
    promised = await closing_balance(api, customer, {"pointsCategories": ["PROMISED"]})
    debits = await closing_balance(api, customer, {"entryType": "DEBIT"})

    user_id = profile["userId"]
    assert profile["loyaltyPoints"] == "73"  # 18 + 50 + 5
    assert current == {
        "__typename": "LedgerClosingBalance",
        "customerId": user_id,
        "balance": "73",
        "asOfEntryId": third_id,
    }
    assert (cafe["balance"], cafe["asOfEntryId"]) == ("50", second_id)
    assert (main["balance"], main["asOfEntryId"]) == ("23", third_id)
    # As of the cafe award, every account: main had 18, cafe 50.
    assert (as_of_cafe_till["balance"], as_of_cafe_till["asOfEntryId"]) == ("68", second_id)
    assert (as_of_till_one["balance"], as_of_till_one["asOfEntryId"]) == ("18", first_id)
    assert (main_at_till_cafe["balance"], main_at_till_cafe["asOfEntryId"]) == ("0", None)
    assert (before_second["balance"], before_second["asOfEntryId"]) == ("18", first_id)
    assert (promised["balance"], promised["asOfEntryId"]) == ("0", last_promised_id)
    assert debits == {"__typename": "LedgerClosingBalance", "customerId": user_id, "balance": "0", "asOfEntryId": None}


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        ({"type": "MOBILE", "value": "9811111111"}, "no customer with MOBILE '9811111111'"),
        ({"type": "USER_ID", "value": "999999"}, "no customer with USER_ID '999999'"),
        ({"type": "EMAIL", "value": "nobody@example.com"}, "no customer with EMAIL 'nobody@example.com'"),
    ],
)
async def test_the_ledger_of_an_unknown_customer_is_not_found(api, lookup, message):
    await add(api, bill())

    entries = await ledger_page(api, lookup)
    balance = await closing_balance(api, lookup)

    expected = {"__typename": "NotFoundError", "code": "CUSTOMER_NOT_FOUND", "field": "customer", "message": message}
    assert entries == expected
    assert balance == expected


async def test_a_malformed_identifier_in_a_ledger_lookup_is_a_typed_error(api):
    entries = await ledger_page(api, {"type": "MOBILE", "value": "12345"})

    assert entries["__typename"] == "InvalidInputError"
    assert (entries["code"], entries["field"]) == ("INVALID_IDENTIFIER", "customer.value")


# --- Reconciliation -------------------------------------------------------------------------


async def merged_customers(api):
    """Customer X (mobile) earns 10, then 250 crossing into silver; customer Y (email) earns 20
    in main and 50 in cafe; a bill naming both merges Y into X (the mobile is the primary
    identifier) and earns 10 more at silver's rate."""
    mobile, email = new_mobile(), "yara@example.com"
    x = await add(api, bill(customer={"mobile": mobile}, amount="1000", lineItems=[]))
    upgrade = await add(api, bill(customer={"mobile": mobile}, amount="25000", lineItems=[]))
    y = await add(api, bill(customer={"email": email}, amount="2000", lineItems=[]))
    await add(api, bill(customer={"email": email}, tillCode="till-cafe", amount="1000", lineItems=[]))
    merge = await add(api, bill(customer={"mobile": mobile, "email": email}, amount="500", lineItems=[]))
    assert upgrade["transaction"]["sideEffects"][2]["upgradedSlabName"] == "silver"
    return mobile, x["transaction"]["customer"]["userId"], y["transaction"]["customer"]["userId"], merge


async def test_after_purchases_a_tier_upgrade_and_a_merge_every_balance_equals_its_entries(api, database):
    _mobile, survivor_id, victim_id, merge = await merged_customers(api)

    survivor = merge["transaction"]["customer"]
    page = await ledger_page(api, by_user_id(survivor_id))
    balance = await closing_balance(api, by_user_id(survivor_id))

    assert survivor["userId"] == survivor_id != victim_id
    assert survivor["loyaltyPoints"] == "340"  # main 10 + 250 + 20 moved + 10; cafe 50 moved
    assert [(s["programCode"], s["loyaltyPoints"]) for s in survivor["pointsSummaries"]] == [
        ("main", "290"),
        ("cafe", "50"),
    ]
    assert survivor["lifetimePurchases"] == "29500"
    assert survivor["currentSlab"] == "silver"
    assert balance["balance"] == "340"
    assert [summary(entry) for entry in page["entries"][:5]] == [
        ("TRANSACTION_ADD", "POINTS_ALLOCATION", "CREDIT", "main", "REGULAR", "10", "290", "10"),
        ("MERGE_CUSTOMER", "MERGE", "CREDIT", "cafe", "REGULAR", "50", "50", "0"),
        ("MERGE_CUSTOMER", "MERGE", "CREDIT", "main", "REGULAR", "20", "280", "0"),
        ("TRANSACTION_ADD", "POINTS_ALLOCATION", "CREDIT", "main", "REGULAR", "250", "260", "250"),
        ("TRANSACTION_ADD", "POINTS_ALLOCATION", "CREDIT", "main", "REGULAR", "10", "10", "10"),
    ]
    assert [entry["eventType"] for entry in page["entries"][5:]] == ["CUSTOMER_REGISTRATION"] * 6
    assert sum(signed(entry) for entry in page["entries"]) == 340
    # The victim's ledger stays distinct and readable by user id; it ends with the MERGE debits.
    victim_page = await ledger_page(api, by_user_id(victim_id))
    victim_balance = await closing_balance(api, by_user_id(victim_id))
    victim = await find_customer(api, by_user_id(victim_id))
    assert victim_page["customerId"] == victim_id
    assert [summary(entry) for entry in victim_page["entries"][:4]] == [
        ("MERGE_CUSTOMER", "MERGE", "DEBIT", "cafe", "REGULAR", "50", "0", "0"),
        ("MERGE_CUSTOMER", "MERGE", "DEBIT", "main", "REGULAR", "20", "0", "0"),
        ("TRANSACTION_ADD", "POINTS_ALLOCATION", "CREDIT", "cafe", "REGULAR", "50", "50", "50"),
        ("TRANSACTION_ADD", "POINTS_ALLOCATION", "CREDIT", "main", "REGULAR", "20", "20", "20"),
    ]
    assert [entry["eventType"] for entry in victim_page["entries"][4:]] == ["CUSTOMER_REGISTRATION"] * 6
    # One event moved the points: its debits on the victim and credits on the survivor.
    merge_events = {
        entry["eventLogId"]
        for entry in page["entries"] + victim_page["entries"]
        if entry["eventType"] == "MERGE_CUSTOMER"
    }
    assert len(merge_events) == 1
    assert victim_balance["balance"] == "0"
    assert (victim["loyaltyPoints"], victim["identifiers"]) == ("0", [])
    async with database.read() as connection:
        assert await reconcile(connection) == []


@pytest.mark.parametrize("query", [ledger_page, closing_balance], ids=["ledger", "closing"])
async def test_a_filter_date_out_of_range_is_a_typed_error(api, query):
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}))

    result = await query(api, by_mobile(mobile), {"endDate": "9999-12-31T23:59:59-05:00"})

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "is out of range",
        "field": "filter.endDate",
    }
