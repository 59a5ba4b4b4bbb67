"""Member care's Points Transfer tab with alternate currencies (issue 16): customerPointsTransfers
lists a customer's points transfers and alternate currency transfers, sent and received, newest
first in one keyset list (the cursor is the ledger event, the same for both kinds), filtered to
points, to currencies, or to one currency.

The org's main program allows points transfers; a bill of 1,000 earns 10 points, 50 ac1 (rgpws7,
whole units) and 250 ac2 (pJ6E8A, 2 decimal places).
"""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any

import pytest

from app.graphql.core.pagination import encode_id_cursor
from app.graphql.transfers.queries import TRANSFER_CURSOR
from app.organizations.roles import Role
from tests.client import Api, merge, transfer
from tests.conftest import make_key, make_org
from tests.factories import by_mobile, by_user_id, new_mobile, transferable_spec
from tests.snapshots import table_counts
from tests.test_alternate_currencies import currencies_spec, purchase
from tests.test_currency_transfers import transfer as transfer_currency
from tests.test_currency_transfers import transfer_input
from tests.test_downloads import csv_lines, download

TRANSFERS_OF = """
query Transfers($customer: CustomerLookupInput!, $filter: PointsTransferFilterInput, $first: Int = 10, $after: String) {
  customerPointsTransfers(customer: $customer, filter: $filter, first: $first, after: $after) {
    __typename
    ... on PointsTransferPage {
      customerId
      records {
        transferType transferId eventLogId alternateCurrency fromUserId toUserId programCode programName points notes
        createdAt from { userId } to { userId }
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""


@pytest.fixture
async def org(database):
    return await make_org(database, currencies_spec(points_transferable=True))


async def transfers_of(api: Api, lookup: dict[str, str], **variables: Any) -> dict:
    return (await api.data(TRANSFERS_OF, {"customer": lookup, **variables}))["customerPointsTransfers"]


async def points_to(api: Api, sender: str, receiver: str, points: str, **extra: Any) -> dict:
    """transferPoints between two mobiles, which must go through: the transfer as it answers it."""
    result = await transfer(api, by_mobile(sender), by_mobile(receiver), points, **extra)
    assert result["__typename"] == "PointsTransferred", result
    return result["transfer"]


async def units_to(api: Api, sender: str, receiver: str, value: str, currency: str = "rgpws7") -> dict:
    """transferAlternateCurrency between two mobiles, which must go through."""
    key = f"{sender}-{receiver}-{value}-{currency}"
    result = await transfer_currency(api, transfer_input(by_mobile(sender), by_mobile(receiver), value, key, currency))
    assert result["__typename"] == "AlternateCurrencyTransferred", result
    return result


def record(
    transfer_type: str,
    transfer_id: str,
    event_log_id: str,
    currency: str | None,
    other: str,
    points: str,
    created_at: str,
    notes: str | None = None,
) -> dict:
    """A record as the list answers it: `other` is the other party (the receiver of a DEDUCTION)."""
    sent = transfer_type == "DEDUCTION"
    return {
        "transferType": transfer_type,
        "transferId": transfer_id,
        "eventLogId": event_log_id,
        "alternateCurrency": currency,
        "fromUserId": None if sent else other,
        "toUserId": other if sent else None,
        "programCode": "main",
        "programName": "Acme Rewards",
        "points": points,
        "notes": notes,
        "createdAt": created_at,
        "from": None if sent else {"userId": other},
        "to": {"userId": other} if sent else None,
    }


async def three_customers(api: Api) -> tuple[list[str], list[str]]:
    """Three customers with a bill of 10,000 each (100 points, 500 ac1, 2,500 ac2): mobiles, user ids."""
    mobiles = [new_mobile() for _ in range(3)]
    user_ids = [(await purchase(api, mobile, "10000"))["customer"]["userId"] for mobile in mobiles]
    return mobiles, user_ids


async def mixed_history(api: Api) -> tuple[list[str], list[str], list[dict]]:
    """Five transfers of the first customer, a minute apart, the kinds alternating (a points
    transfer sent, ac1 received, ac2 sent, points received, ac1 sent) and one of the others'
    between them: the customers, and the first one's records, newest first."""
    clock = api.clock
    mobiles, user_ids = await three_customers(api)
    (mobile, friend, other), (_, friend_id, other_id) = mobiles, user_ids
    made = []
    clock.advance(timedelta(minutes=1))
    sent = await points_to(api, mobile, friend, "3", notes="gift")
    made.append(
        record("DEDUCTION", sent["id"], sent["eventLogId"], None, friend_id, "3", clock.now().isoformat(), "gift")
    )
    clock.advance(timedelta(minutes=1))
    received = await units_to(api, other, mobile, "5")
    event = received["eventLogId"]
    made.append(record("ADDITION", event, event, "rgpws7", other_id, "5", clock.now().isoformat()))
    clock.advance(timedelta(minutes=1))
    await units_to(api, friend, other, "7")  # not theirs
    sent_units = await units_to(api, mobile, friend, "12.5", "pJ6E8A")
    event = sent_units["eventLogId"]
    made.append(record("DEDUCTION", event, event, "pJ6E8A", friend_id, "12.5", clock.now().isoformat()))
    clock.advance(timedelta(minutes=1))
    back = await points_to(api, friend, mobile, "2")
    made.append(record("ADDITION", back["id"], back["eventLogId"], None, friend_id, "2", clock.now().isoformat()))
    clock.advance(timedelta(minutes=1))
    last = await units_to(api, mobile, other, "1")
    event = last["eventLogId"]
    made.append(record("DEDUCTION", event, event, "rgpws7", other_id, "1", clock.now().isoformat()))
    return mobiles, user_ids, made[::-1]


# --- One list of both kinds -----------------------------------------------------------------


async def test_the_list_shows_points_and_currency_transfers_sent_and_received_newest_first(api):
    (mobile, _, _), _, expected = await mixed_history(api)

    page = await transfers_of(api, by_mobile(mobile))

    assert page["__typename"] == "PointsTransferPage"
    assert page["records"] == expected
    last_event = int(expected[-1]["eventLogId"])
    assert page["pageInfo"] == {"hasNextPage": False, "endCursor": encode_id_cursor(TRANSFER_CURSOR, last_event)}
    # The ids are the ledger's: a currency transfer's is its event's, as transferAlternateCurrency answered.
    assert [item["alternateCurrency"] for item in page["records"]] == ["rgpws7", None, "pJ6E8A", "rgpws7", None]
    event_ids = [int(item["eventLogId"]) for item in page["records"]]
    assert event_ids == sorted(event_ids, reverse=True)


async def test_pages_of_any_size_never_skip_or_repeat_a_transfer_across_the_kinds(api):
    (mobile, _, _), _, expected = await mixed_history(api)

    for size in (1, 2, 3, 4, 5):
        pages = []
        after = None
        while True:
            page = await transfers_of(api, by_mobile(mobile), first=size, after=after)
            pages.append(page)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert [page["records"] for page in pages] == [expected[start : start + size] for start in range(0, 5, size)]
        assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True] * (len(pages) - 1) + [False]
    # A page of 2 ends between a currency transfer and a points transfer: the next starts at the points one.
    first = await transfers_of(api, by_mobile(mobile), first=2)
    second = await transfers_of(api, by_mobile(mobile), first=2, after=first["pageInfo"]["endCursor"])
    assert [item["alternateCurrency"] for item in first["records"] + second["records"]] == [
        "rgpws7",
        None,
        "pJ6E8A",
        "rgpws7",
    ]
    assert [item["eventLogId"] for item in second["records"]] == [expected[2]["eventLogId"], expected[3]["eventLogId"]]


async def test_a_transfer_made_after_a_page_was_read_does_not_move_the_next_page(api):
    (mobile, friend, _), _, expected = await mixed_history(api)
    first = await transfers_of(api, by_mobile(mobile), first=2)

    await units_to(api, friend, mobile, "4")  # newer than every transfer listed
    await points_to(api, mobile, friend, "1")
    rest = await transfers_of(api, by_mobile(mobile), first=10, after=first["pageInfo"]["endCursor"])

    assert rest["records"] == expected[2:]
    assert rest["pageInfo"]["hasNextPage"] is False


# --- The filter -----------------------------------------------------------------------------


async def test_the_filter_shows_points_only_currencies_only_or_one_currency(api):
    (mobile, _, _), _, expected = await mixed_history(api)
    points = [item for item in expected if item["alternateCurrency"] is None]
    currencies = [item for item in expected if item["alternateCurrency"] is not None]

    answers = {
        name: (await transfers_of(api, by_mobile(mobile), filter=given))["records"]
        for name, given in (
            ("none", None),
            ("empty", {}),
            ("points", {"kind": "POINTS"}),
            ("currencies", {"kind": "ALTERNATE_CURRENCY"}),
            ("ac1", {"alternateCurrency": "rgpws7"}),
            ("ac2 as a currency", {"kind": "ALTERNATE_CURRENCY", "alternateCurrency": "pJ6E8A"}),
        )
    }

    assert answers == {
        "none": expected,
        "empty": expected,
        "points": points,
        "currencies": currencies,
        "ac1": [item for item in expected if item["alternateCurrency"] == "rgpws7"],
        "ac2 as a currency": [item for item in expected if item["alternateCurrency"] == "pJ6E8A"],
    }
    assert [item["points"] for item in answers["points"]] == ["2", "3"]
    assert [item["points"] for item in answers["ac1"]] == ["1", "5"]


async def test_a_filtered_list_pages_by_the_same_cursor(api):
    (mobile, _, _), _, expected = await mixed_history(api)
    currencies = [item for item in expected if item["alternateCurrency"] is not None]

    first = await transfers_of(api, by_mobile(mobile), filter={"kind": "ALTERNATE_CURRENCY"}, first=1)
    second = await transfers_of(
        api, by_mobile(mobile), filter={"kind": "ALTERNATE_CURRENCY"}, first=1, after=first["pageInfo"]["endCursor"]
    )
    # The cursor is a place in the whole list: another filter continues from it too.
    points_after = await transfers_of(
        api, by_mobile(mobile), filter={"kind": "POINTS"}, after=second["pageInfo"]["endCursor"]
    )

    assert first["records"] + second["records"] == currencies[:2]
    assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (True, True)
    assert points_after["records"] == [expected[4]]


async def test_an_unknown_currency_or_a_currency_with_points_only_is_a_typed_error_naming_the_field(api):
    (mobile, _, _), _, _ = await mixed_history(api)
    stale_cursor = "dHJhbnNmZXI6MQ=="  # "transfer:1", the cursor before currencies were listed

    answers = [
        await transfers_of(api, by_mobile(mobile), filter=given)
        for given in ({"alternateCurrency": "nope"}, {"kind": "POINTS", "alternateCurrency": "rgpws7"})
    ]
    stale = await transfers_of(api, by_mobile(mobile), after=stale_cursor)

    assert [(answer["__typename"], answer["code"], answer["field"]) for answer in answers] == [
        ("InvalidInputError", "INVALID_INPUT", "filter.alternateCurrency"),
        ("InvalidInputError", "INVALID_INPUT", "filter.alternateCurrency"),
    ]
    assert answers[0]["message"] == "no program declares alternate currency 'nope'"
    assert (stale["__typename"], stale["code"], stale["field"]) == ("InvalidInputError", "INVALID_INPUT", "after")


# --- The download ---------------------------------------------------------------------------


async def test_the_download_lists_what_the_query_answers_with_the_same_filter(api):
    (mobile, _, _), _, expected = await mixed_history(api)

    found = {}
    for name, params in (
        ("both", {}),
        ("currencies", {"kind": "ALTERNATE_CURRENCY"}),
        ("ac2", {"alternateCurrency": "pJ6E8A"}),
    ):
        response = await download(
            api, "/downloads/points-transfers.csv", customer=mobile, customerType="MOBILE", **params
        )
        lines = csv_lines(response)
        found[name] = [(row[0], row[1], row[-2], row[-1]) for row in csv.reader(lines[1:-1])]
    unknown = await download(
        api, "/downloads/points-transfers.csv", customer=mobile, customerType="MOBILE", alternateCurrency="nope"
    )

    def rows(items: list[dict]) -> list[tuple]:
        return [
            (item["transferType"], item["transferId"], item["alternateCurrency"] or "", item["eventLogId"])
            for item in items
        ]

    assert lines[0].split(",")[-2:] == ["Alternate currency", "Event log id"]
    assert found == {
        "both": rows(expected),
        "currencies": rows([item for item in expected if item["alternateCurrency"]]),
        "ac2": rows([item for item in expected if item["alternateCurrency"] == "pJ6E8A"]),
    }
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (422, "filter.alternateCurrency")


# --- Merged customers, other organisations, roles -------------------------------------------


async def test_a_merged_customers_transfers_of_both_kinds_stay_its_own(api):
    (victim, survivor, third), (victim_id, survivor_id, third_id) = await three_customers(api)
    sent_points = await points_to(api, victim, third, "4")
    sent_units = await units_to(api, victim, third, "6")
    survivors = await units_to(api, third, survivor, "2", "pJ6E8A")
    assert (await merge(api, by_mobile(survivor), by_mobile(victim)))["__typename"] == "CustomersMerged"

    by_victim_id = await transfers_of(api, by_user_id(victim_id))
    by_victim_mobile = await transfers_of(api, by_mobile(victim))  # the survivor's now

    # As for points: the victim's user id still reads its own transfers, the survivor does not take them over.
    assert (by_victim_id["customerId"], by_victim_mobile["customerId"]) == (victim_id, survivor_id)
    assert [(item["transferId"], item["alternateCurrency"], item["toUserId"]) for item in by_victim_id["records"]] == [
        (sent_units["eventLogId"], "rgpws7", third_id),
        (sent_points["id"], None, third_id),
    ]
    assert [(item["transferId"], item["fromUserId"]) for item in by_victim_mobile["records"]] == [
        (survivors["eventLogId"], third_id)
    ]


async def test_another_organisations_customer_is_not_found_and_its_list_shows_nothing_of_this_one(api, database):
    (mobile, _, _), (user_id, _, _), _ = await mixed_history(api)
    other_org = await make_org(database, transferable_spec("other"))
    other = Api(api.client, other_org, database, api.clock)
    own_mobile = new_mobile()
    own_id = (await purchase(other, own_mobile, "1000"))["customer"]["userId"]

    answers = [await transfers_of(other, lookup) for lookup in (by_mobile(mobile), by_user_id(user_id))]
    own = await transfers_of(other, by_mobile(own_mobile))

    assert [(answer["__typename"], answer["code"], answer["field"]) for answer in answers] == [
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "customer")
    ] * 2
    assert own == {
        "__typename": "PointsTransferPage",
        "customerId": own_id,
        "records": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }


async def test_member_care_may_list_transfers_and_a_brands_app_or_a_till_may_not(api, database, org):
    (mobile, _, _), _, expected = await mixed_history(api)
    keys = {
        role: await make_key(database, org.org_id, frozenset({role}), role.value)
        for role in (Role.MEMBER_CARE, Role.APP, Role.TILL)
    }
    before = await table_counts(database)

    answers = {
        role: await api.post(TRANSFERS_OF, {"customer": by_mobile(mobile)}, credentials=key)
        for role, key in keys.items()
    }

    assert answers[Role.MEMBER_CARE]["data"]["customerPointsTransfers"]["records"] == expected
    for role in (Role.APP, Role.TILL):
        assert answers[role]["data"] is None
        assert [(error["path"], error["extensions"]["code"]) for error in answers[role]["errors"]] == [
            (["customerPointsTransfers"], "FORBIDDEN")
        ]
    assert await table_counts(database) == before


# --- Statements -----------------------------------------------------------------------------


async def test_a_page_of_2_or_20_transfers_of_both_kinds_costs_the_same_statements(api, count_statements):
    async def statements(size: int) -> int:
        (mobile, friend, _), _ = await three_customers(api)
        for index in range(size):
            if index % 2:
                await points_to(api, mobile, friend, "1")
            else:
                await units_to(api, friend, mobile, str(index + 1))
        counter = count_statements()
        page = await transfers_of(api, by_mobile(mobile), first=20)
        assert len(page["records"]) == size
        assert {item["alternateCurrency"] for item in page["records"]} == {"rgpws7", None}
        return counter.count

    # The customer, the transfer entries with the other parties, the points transfers, the
    # parties' customers and their identifiers (one loader); SQLite's reads add their BEGIN.
    expected = 6 if api.database.is_sqlite else 5
    assert (await statements(2), await statements(20)) == (expected, expected)
