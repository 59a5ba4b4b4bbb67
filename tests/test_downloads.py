"""Downloads of member-care lists (GET /downloads/<list>.csv|.xlsx), through the HTTP API.

The files are read back as a client would: CSV as text, xlsx with openpyxl (types included).
The test organisation's zone is Asia/Kolkata (UTC+05:30); TEST_NOW is 2026-11-25 06:30 UTC.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import orjson
import pytest

from app.http.downloads import sheets
from app.http.downloads.lists import LISTS
from app.organizations.roles import Role, roles_for
from tests.client import Api, add, buy, customer_with_points, ledger_entries, merge, transfer
from tests.conftest import make_key, make_org
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile, org_spec
from tests.test_behavioural_events import recorded_week
from tests.test_change_identifier import change
from tests.test_customer_coupons import coupons, customer_with_each_status, full_return, redemptions
from tests.test_customer_promotions import award, award_input
from tests.test_interactions import record as record_interactions
from tests.test_interactions import sms
from tests.test_leads import UPDATE_STATUS as UPDATE_LEAD_STATUS
from tests.test_leads import create as create_lead
from tests.test_leads import leads_of
from tests.test_segments import add as add_segment_members
from tests.test_segments import create as create_segment
from tests.test_segments import history as segment_history
from tests.test_segments import remove as remove_segment_members

BOM = "\ufeff"
LEDGER_HEADER = (
    "Entry id,Event log id,Event type,Entry type,Entry kind,Created at (Asia/Kolkata),Program,Points category,"
    "Points,Points on event,Balance after,Event source,Store,Till,Transaction id,Transaction number,Promotion,"
    "Tracker value id"
)
CUSTOMER_ID = """
query Customer($lookup: CustomerLookupInput!) { customer(lookup: $lookup) { ... on Customer { userId } } }
"""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def cents_api(app_client, database, clock) -> Api:
    """An organisation whose main program keeps 2 decimal places: a bill of 10 earns 0.1 point."""
    spec = org_spec("cents")
    spec["programs"][0]["points_decimal_places"] = 2
    return Api(app_client, await make_org(database, spec), database, clock)


async def download(api: Api, path: str, credentials: Any = None, **params: Any) -> Any:
    return await api.client.get(path, params=params, headers={"Authorization": (credentials or api.credentials).header})


def csv_lines(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode()
    assert text.startswith(BOM)
    return text.removeprefix(BOM).split("\r\n")


def xlsx_rows(response: Any) -> list[tuple]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    return [row for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)]


async def points_of_tenth_and_fifth(api: Api, clock: Any) -> tuple[str, list[dict]]:
    """A customer who earned 0.1 point, then (an hour later) 0.2: a balance of 0.1 + 0.2."""
    mobile = new_mobile()
    await buy(api, mobile, "10")
    clock.advance(timedelta(hours=1))
    await buy(api, mobile, "20")
    return mobile, await ledger_entries(api, by_mobile(mobile))


# --- Ledger entries -------------------------------------------------------------------------


async def test_ledger_entries_download_as_csv_with_exact_decimals_and_local_times(cents_api, clock):
    mobile, entries = await points_of_tenth_and_fifth(cents_api, clock)

    response = await download(cents_api, "/downloads/ledger-entries.csv", customer=mobile, customerType="MOBILE")

    user_id = (await cents_api.data(CUSTOMER_ID, {"lookup": by_mobile(mobile)}))["customer"]["userId"]
    assert response.headers["content-disposition"] == f'attachment; filename="ledger-entries-{user_id}.csv"'
    assert [entry["id"] for entry in entries] == ["8", "7", "6", "5", "4", "3", "2", "1"]
    assert csv_lines(response) == [
        LEDGER_HEADER,
        "8,3,TRANSACTION_ADD,CREDIT,POINTS_ALLOCATION,2026-11-25 13:00:00,main,REGULAR,0.2,0.2,0.3,INSTORE,"
        "store-1,till-1,2,BILL-000002,,".replace("BILL-000002", entries[0]["transactionNumber"]),
        "7,2,TRANSACTION_ADD,CREDIT,POINTS_ALLOCATION,2026-11-25 12:00:00,main,REGULAR,0.1,0.1,0.1,INSTORE,"
        "store-1,till-1,1,BILL-000001,,".replace("BILL-000001", entries[1]["transactionNumber"]),
        *[
            f"{entry_id},1,CUSTOMER_REGISTRATION,CREDIT,OPENING_BALANCE,2026-11-25 12:00:00,{program},{category},"
            "0,0,0,INSTORE,store-1,till-1,,,,"
            for entry_id, program, category in [
                (6, "cafe", "TRIGGER_BASED"),
                (5, "cafe", "PROMISED"),
                (4, "cafe", "REGULAR"),
                (3, "main", "TRIGGER_BASED"),
                (2, "main", "PROMISED"),
                (1, "main", "REGULAR"),
            ]
        ],
        "",
    ]


async def test_ledger_entries_download_as_xlsx_with_typed_cells(cents_api, clock):
    mobile, entries = await points_of_tenth_and_fifth(cents_api, clock)

    response = await download(cents_api, "/downloads/ledger-entries.xlsx", customer=mobile, customerType="MOBILE")

    rows = xlsx_rows(response)
    assert rows[0] == tuple(LEDGER_HEADER.split(","))
    assert rows[1] == (
        8,
        3,
        "TRANSACTION_ADD",
        "CREDIT",
        "POINTS_ALLOCATION",
        datetime(2026, 11, 25, 13, 0),
        "main",
        "REGULAR",
        0.2,
        0.2,
        0.3,
        "INSTORE",
        "store-1",
        "till-1",
        2,
        entries[0]["transactionNumber"],
        None,
        None,
    )
    assert [row[0] for row in rows[1:]] == [8, 7, 6, 5, 4, 3, 2, 1]
    assert [Decimal(repr(row[10])) for row in rows[1:3]] == [Decimal("0.3"), Decimal("0.1")]
    # The stored text of the balance is the decimal's own digits, not a float's 0.30000000000000004.
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>0.3</v>" in sheet
    assert "0.30000000000000004" not in sheet
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    created_at = workbook.active["F2"]
    assert (created_at.is_date, created_at.number_format) == (True, "yyyy-mm-dd hh:mm:ss")


async def test_ledger_entries_download_has_the_graphql_filters_and_answer(cents_api, clock):
    mobile, _ = await points_of_tenth_and_fifth(cents_api, clock)
    await buy(cents_api, mobile, "40", till="till-cafe")
    graphql_filter = {
        "programCodes": ["main"],
        "pointsCategories": ["REGULAR"],
        "startDate": "2026-11-25T06:00:00+00:00",
        "endDate": "2026-11-25T07:00:00Z",
    }
    expected = await ledger_entries(cents_api, by_mobile(mobile), graphql_filter)

    response = await download(
        cents_api,
        "/downloads/ledger-entries.csv",
        customer=mobile,
        customerType="MOBILE",
        programCodes="main",
        pointsCategories="REGULAR",
        startDate="2026-11-25T06:00:00+00:00",
        endDate="2026-11-25T07:00:00Z",
    )

    assert [entry["id"] for entry in expected] == ["7", "1"]
    assert [line.split(",")[0] for line in csv_lines(response)[1:-1]] == ["7", "1"]


async def test_without_dates_the_ledger_download_has_the_last_seven_days_as_the_query(cents_api, clock):
    mobile, _ = await points_of_tenth_and_fifth(cents_api, clock)
    clock.advance(timedelta(days=7, minutes=-30))  # the registration and the first bill fall out of the window
    await buy(cents_api, mobile, "30")
    expected = [entry["id"] for entry in await ledger_entries(cents_api, by_mobile(mobile))]

    response = await download(cents_api, "/downloads/ledger-entries.csv", customer=mobile, customerType="MOBILE")

    assert expected == ["9", "8"]
    assert [line.split(",")[0] for line in csv_lines(response)[1:-1]] == ["9", "8"]


async def test_a_long_list_is_read_page_by_page_in_order(cents_api, clock, monkeypatch):
    monkeypatch.setattr("app.http.downloads.routes.READ_PAGE_SIZE_MAX", 3)
    mobile, _ = await points_of_tenth_and_fifth(cents_api, clock)

    csv_response = await download(cents_api, "/downloads/ledger-entries.csv", customer=mobile, customerType="MOBILE")
    xlsx_response = await download(cents_api, "/downloads/ledger-entries.xlsx", customer=mobile, customerType="MOBILE")

    assert [line.split(",")[0] for line in csv_lines(csv_response)[1:-1]] == ["8", "7", "6", "5", "4", "3", "2", "1"]
    assert [row[0] for row in xlsx_rows(xlsx_response)[1:]] == [8, 7, 6, 5, 4, 3, 2, 1]


async def test_past_a_sheets_row_limit_the_rows_go_on_in_another_sheet(cents_api, clock, monkeypatch):
    monkeypatch.setattr(sheets, "XLSX_ROWS_MAX", 4)  # a header and 3 rows a sheet
    mobile, _ = await points_of_tenth_and_fifth(cents_api, clock)

    response = await download(cents_api, "/downloads/ledger-entries.xlsx", customer=mobile, customerType="MOBILE")

    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["ledger-entries", "ledger-entries 2", "ledger-entries 3"]
    assert [[row[0] for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets] == [
        ["Entry id", 8, 7, 6],
        ["Entry id", 5, 4, 3],
        ["Entry id", 2, 1],
    ]


async def test_the_statements_of_a_download_do_not_grow_with_the_list(cents_api, clock, count_statements):
    short_mobile = new_mobile()
    await buy(cents_api, short_mobile, "10")
    long_mobile = new_mobile()
    for _ in range(6):
        await buy(cents_api, long_mobile, "10")
    await download(cents_api, "/downloads/ledger-entries.csv", customer=short_mobile, customerType="MOBILE")

    counts = []
    data_rows = []
    for mobile in (short_mobile, long_mobile):
        for file_format in ("csv", "xlsx"):
            counter = count_statements()
            response = await download(
                cents_api, f"/downloads/ledger-entries.{file_format}", customer=mobile, customerType="MOBILE"
            )
            counts.append(counter.count)
            data_rows.append(len(csv_lines(response)) - 2 if file_format == "csv" else len(xlsx_rows(response)) - 1)

    # The long list has 5 more entries (one per further bill): equal counts mean no statement per row.
    assert data_rows == [7, 7, 12, 12]
    assert counts[0] == counts[1] == counts[2] == counts[3]


# --- Formula injection ----------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil","x")', "+SUM(1,2)", "-2+3", "@cmd", "-5"]


async def test_text_a_spreadsheet_would_run_is_written_as_text(api):
    mobile = new_mobile()
    for notes in FORMULAS:
        document = bill(customer={"mobile": mobile}, notes=notes)
        assert (await add(api, document))["__typename"] == "TransactionAdded"

    csv_response = await download(api, "/downloads/transactions.csv", customer=mobile, customerType="MOBILE")
    xlsx_response = await download(api, "/downloads/transactions.xlsx", customer=mobile, customerType="MOBILE")

    lines = csv_lines(csv_response)
    notes_column = lines[0].split(",").index("Notes")
    csv_notes = [row[notes_column] for row in csv.reader(lines[1:-1])]
    assert csv_notes == ["-5", "'@cmd", "'-2+3", "'+SUM(1,2)", '\'=HYPERLINK("http://evil","x")']
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_response.content))
    cells = [row[notes_column] for row in workbook.active.iter_rows(min_row=2)]
    assert [(cell.value, cell.data_type) for cell in cells] == [
        ("-5", "s"),
        ("@cmd", "s"),
        ("-2+3", "s"),
        ("+SUM(1,2)", "s"),
        ('=HYPERLINK("http://evil","x")', "s"),
    ]


def test_tab_and_carriage_return_starts_are_text_in_both_files(tmp_path):
    texts = ["\t=1+2", "\r=1+2", "plain"]
    columns = [sheets.Column("Text", sheets.Kind.TEXT, lambda text: text)]

    csv_text = sheets.csv_chunk([sheets.Kind.TEXT], [[text] for text in texts]).decode()
    workbook_path = tmp_path / "texts.xlsx"
    workbook = sheets.XlsxFile(str(workbook_path), ["Text"], [sheets.Kind.TEXT], "texts")
    workbook.write_rows(sheets.typed_rows(columns, texts, ZoneInfo("UTC")))
    workbook.close()

    assert [row[0] for row in csv.reader(io.StringIO(csv_text))] == ["'\t=1+2", "'\r=1+2", "plain"]
    read = openpyxl.load_workbook(workbook_path).active
    assert [(cell.value, cell.data_type) for (cell,) in read.iter_rows(min_row=2)] == [
        ("\t=1+2", "s"),
        ("_x000D_=1+2", "s"),  # the file's escape of a carriage return, which Excel reads back (openpyxl does not)
        ("plain", "s"),
    ]


# --- Every list -----------------------------------------------------------------------------

LISTS_OF = """
query Lists($customer: CustomerLookupInput!) {
  customer(lookup: $customer) {
    ... on Customer {
      transactions(first: 100) { nodes { id } }
      expirySchedule(first: 100) { expiresOn programCode points }
      expiredPoints(first: 100) { nodes { eventLogId } }
    }
  }
  pointsRedemptions(customer: $customer, first: 100) { ... on PointsRedemptionConnection { nodes { id } } }
  customerPointsTransfers(customer: $customer, first: 100) { ... on PointsTransferPage { records { transferId } } }
  customerTrackerHistory(customer: $customer, first: 100) { ... on TrackerHistoryPage { records { id } } }
  customerHistory(customer: $customer, first: 100) { ... on CustomerHistoryPage { records { id } } }
}
"""
REDEEM = """
mutation Redeem($input: RedeemPointsInput!) { redeemPoints(input: $input) { __typename ... on Error { code } } }
"""


async def test_every_list_downloads_what_its_graphql_query_answers(app_client, database, clock):
    spec = org_spec("lists")
    spec["programs"][0]["points_transferable"] = True
    sender, receiver = new_mobile(), new_mobile()
    api = Api(app_client, await make_org(database, spec), database, clock)
    await buy(api, sender, "5000")
    clock.advance(timedelta(days=40))
    await buy(api, sender, "3000")
    await buy(api, receiver, "100")
    assert (await transfer(api, by_mobile(sender), by_mobile(receiver), "7"))["__typename"] == "PointsTransferred"
    redeemed = await api.data(REDEEM, {"input": {"customer": by_mobile(sender), "points": "10"}})
    assert redeemed["redeemPoints"]["__typename"] == "PointsRedeemed"
    answer = await api.data(LISTS_OF, {"customer": by_mobile(sender)})
    customer = answer["customer"]
    expected = {
        "transactions": [node["id"] for node in customer["transactions"]["nodes"]],
        "expiry-schedule": [
            f"{item['expiresOn']},{item['programCode']},{item['points']}" for item in customer["expirySchedule"]
        ],
        "expired-points": [node["eventLogId"] for node in customer["expiredPoints"]["nodes"]],
        "points-redemptions": [node["id"] for node in answer["pointsRedemptions"]["nodes"]],
        "points-transfers": [record["transferId"] for record in answer["customerPointsTransfers"]["records"]],
        "tracker-history": [record["id"] for record in answer["customerTrackerHistory"]["records"]],
        "customer-history": [record["id"] for record in answer["customerHistory"]["records"]],
    }

    found = {}
    for name in expected:
        lines = csv_lines(await download(api, f"/downloads/{name}.csv", customer=sender, customerType="MOBILE"))
        listing = next(listing for listing in LISTS if listing.name == name)
        assert lines[0].split(",") == [column.title(ZoneInfo("Asia/Kolkata")) for column in listing.columns]
        key_column = 1 if name == "points-transfers" else None
        found[name] = [
            ",".join(row) if name == "expiry-schedule" else row[key_column or 0] for row in csv.reader(lines[1:-1])
        ]

    assert expected["transactions"] == ["2", "1"]
    assert expected["expiry-schedule"] == ["2027-11-30,main,33", "2028-01-31,main,30"]  # 50 - 7 sent - 10 redeemed
    assert len(expected["points-redemptions"]) == 1
    assert len(expected["points-transfers"]) == 1
    assert len(expected["customer-history"]) == 1
    assert expected["expired-points"] == expected["tracker-history"] == []
    assert found == expected


# --- Refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("listing", LISTS, ids=[listing.name for listing in LISTS])
def test_each_download_takes_the_roles_of_its_graphql_query(listing):
    assert roles_for(f"GET /downloads/{listing.name}.{{format}}") == roles_for(listing.operation)


async def test_a_till_key_may_not_download(api, database, org):
    mobile = new_mobile()
    await buy(api, mobile, "1000")
    till = await make_key(database, org.org_id, frozenset({Role.TILL}), "till")
    app_key = await make_key(database, org.org_id, frozenset({Role.APP}), "app")

    refused = await download(api, "/downloads/ledger-entries.csv", till, customer=mobile, customerType="MOBILE")
    transfers = await download(api, "/downloads/points-transfers.xlsx", app_key, customer=mobile, customerType="MOBILE")
    admitted = await download(api, "/downloads/ledger-entries.csv", app_key, customer=mobile, customerType="MOBILE")

    assert (refused.status_code, refused.json()) == (
        403,
        {
            "error": {
                "code": "FORBIDDEN",
                "message": "GET /downloads/ledger-entries.csv needs an API key with one of the roles app, member_care",
                "field": None,
            }
        },
    )
    assert (transfers.status_code, transfers.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert admitted.status_code == 200


async def test_without_credentials_a_download_is_refused(api):
    response = await api.client.get("/downloads/ledger-entries.csv", params={"customer": "1"})

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_another_organisations_customer_is_not_found(api, org_api):
    other = await org_api(org_spec("other"))
    mobile = new_mobile()
    user_id = await earn_user_id(other, mobile)

    by_id = await download(api, "/downloads/ledger-entries.csv", customer=user_id)
    by_phone = await download(api, "/downloads/ledger-entries.xlsx", customer=mobile, customerType="MOBILE")

    assert (by_id.status_code, by_id.json()) == (
        404,
        {
            "error": {
                "code": "CUSTOMER_NOT_FOUND",
                "message": f"no customer with USER_ID '{user_id}'",
                "field": "customer",
            }
        },
    )
    assert (by_phone.status_code, by_phone.json()["error"]["code"]) == (404, "CUSTOMER_NOT_FOUND")


async def earn_user_id(api: Api, mobile: str) -> str:
    return (await buy(api, mobile, "1000"))["transaction"]["customer"]["userId"]


@pytest.mark.parametrize(
    ("path", "params", "status", "error"),
    [
        ("/downloads/ledger-entries.pdf", {}, 404, ("NOT_FOUND", None)),
        ("/downloads/ledger-entries.csv", {"customer": None}, 422, ("INVALID_INPUT", "customer")),
        ("/downloads/ledger-entries.csv", {"programCode": "main"}, 422, ("INVALID_INPUT", "programCode")),
        ("/downloads/ledger-entries.csv", {"programCodes": "nope"}, 422, ("INVALID_INPUT", "filter.programCodes[0]")),
        ("/downloads/ledger-entries.csv", {"entryType": "SIDEWAYS"}, 422, ("INVALID_INPUT", "entryType")),
        ("/downloads/ledger-entries.csv", {"startDate": "yesterday"}, 422, ("INVALID_INPUT", "startDate")),
        (
            "/downloads/ledger-entries.csv",
            {"startDate": "2026-11-01T00:00"},
            422,
            ("INVALID_INPUT", "filter.startDate"),
        ),
        ("/downloads/tracker-history.csv", {"trackerCode": "nope"}, 404, ("TRACKER_NOT_FOUND", "trackerCode")),
        ("/downloads/customer-history.csv", {"actions": "DELETED"}, 422, ("INVALID_INPUT", "actions")),
    ],
)
async def test_a_download_that_does_not_read_is_refused_before_the_file(api, path, params, status, error):
    mobile = new_mobile()
    user_id = await earn_user_id(api, mobile)
    query = {"customer": user_id, **params}

    response = await download(api, path, **{name: value for name, value in query.items() if value is not None})

    assert response.status_code == status
    body = response.json()["error"]
    assert (body["code"], body["field"]) == error


async def test_the_xlsx_temporary_file_is_removed_once_sent(api, tmp_path, monkeypatch):
    temporary = tmp_path / "temporary"
    temporary.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temporary))
    mobile = new_mobile()
    await buy(api, mobile, "1000")

    response = await download(api, "/downloads/ledger-entries.xlsx", customer=mobile, customerType="MOBILE")

    assert [row[0] for row in xlsx_rows(response)[1:]] == [7, 6, 5, 4, 3, 2, 1]
    assert list(temporary.iterdir()) == []


HISTORY_OF = """
query History($customer: CustomerLookupInput!, $actions: [CustomerHistoryAction!]) {
  customerHistory(customer: $customer, actions: $actions, first: 100) {
    ... on CustomerHistoryPage { records { id action } }
  }
}
"""


async def test_the_history_download_has_the_actions_filter_of_the_query(api):
    survivor, victim = new_mobile(), new_mobile()
    await buy(api, survivor, "1000")
    await buy(api, victim, "1000")
    assert (await merge(api, by_mobile(survivor), by_mobile(victim)))["__typename"] == "CustomersMerged"
    everything = await api.data(HISTORY_OF, {"customer": by_mobile(survivor)})
    combined = await api.data(HISTORY_OF, {"customer": by_mobile(survivor), "actions": ["COMBINE"]})

    response = await download(
        api, "/downloads/customer-history.csv", customer=survivor, customerType="MOBILE", actions="COMBINE"
    )

    assert [record["action"] for record in everything["customerHistory"]["records"]] == ["COMBINE", "REGISTERED"]
    expected = [(record["id"], record["action"]) for record in combined["customerHistory"]["records"]]
    assert len(expected) == 1
    assert [(row[0], row[1]) for row in csv.reader(csv_lines(response)[1:-1])] == expected


async def test_the_returns_sub_tab_downloads_with_the_type_filter_of_the_query(api):
    mobile = new_mobile()
    first_bill = (await add(api, bill(customer={"mobile": mobile})))["transaction"]
    second_bill = (await add(api, bill(customer={"mobile": mobile})))["transaction"]
    returned = await api.data(
        RETURN_TRANSACTION,
        {
            "input": {
                "type": "RETURN",
                "returnType": "FULL",
                "number": first_bill["number"],
                "purchaseTime": first_bill["billingTime"][:10],
                "tillCode": first_bill["tillCode"],
                "customer": {"mobile": mobile},
            }
        },
    )
    return_number = returned["returnTransaction"]["transaction"]["number"]

    returns = await download(
        api,
        "/downloads/transactions.csv",
        customer=mobile,
        customerType="MOBILE",
        types=["RETURN", "NOT_INTERESTED_RETURN", "MIXED"],
    )
    purchases = await download(
        api, "/downloads/transactions.csv", customer=mobile, customerType="MOBILE", types="REGULAR"
    )
    unknown = await download(api, "/downloads/transactions.csv", customer=mobile, customerType="MOBILE", types="GIFT")

    def numbers_and_types(response: Any) -> list[tuple[str, str]]:
        return [(row[1], row[2]) for row in csv.reader(csv_lines(response)[1:-1])]

    assert numbers_and_types(returns) == [(return_number, "RETURN")]
    assert numbers_and_types(purchases) == [(second_bill["number"], "REGULAR"), (first_bill["number"], "REGULAR")]
    assert unknown.status_code == 422
    assert (unknown.json()["error"]["code"], unknown.json()["error"]["field"]) == ("INVALID_INPUT", "types")


# --- Member-care lists: coupons, tier, promotion and identifier history, interactions, events, leads, segments


def local(iso: str | None) -> str:
    """An API time as a download's CSV writes it: local time in the org's zone, without offset."""
    if iso is None:
        return ""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M:%S")


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(csv_lines(response)[1:-1]))


# The first line of each list's CSV, word for word (datetimes name the org's zone).
HEADERS = {
    "customer-coupons": [
        "Code",
        "Source",
        "Promotion id",
        "Promotion",
        "Status",
        "Valid from (Asia/Kolkata)",
        "Valid until (Asia/Kolkata)",
        "Link mode",
        "Linked at (Asia/Kolkata)",
        "Redemptions",
    ],
    "customer-coupon-redemptions": [
        "Redemption id",
        "Code",
        "Promotion id",
        "Promotion",
        "Transaction id",
        "Transaction number",
        "Discount",
        "Linked",
        "Redeemed at (Asia/Kolkata)",
        "Reversed",
        "Reversed at (Asia/Kolkata)",
        "Reversal transaction id",
        "Reversal transaction number",
    ],
    "customer-tier-history": [
        "Id",
        "Program",
        "Kind",
        "Cause",
        "From tier serial number",
        "From tier",
        "To tier serial number",
        "To tier",
        "Tier expires at (Asia/Kolkata)",
        "Transaction id",
        "Created at (Asia/Kolkata)",
    ],
    "customer-promotion-history": [
        "Event log id",
        "Promotion",
        "Promotion name",
        "Program",
        "Points",
        "Store",
        "Till",
        "Import job id",
        "Awarded at (Asia/Kolkata)",
    ],
    "identifier-history": [
        "Id",
        "Action",
        "Identifier type",
        "Identifier value",
        "Other user id",
        "Source",
        "Account",
        "Details",
        "Created at (Asia/Kolkata)",
    ],
    "customer-interactions": [
        "Id",
        "Channel",
        "Message id",
        "Account",
        "Direction",
        "Status",
        "Status at (Asia/Kolkata)",
        "Template",
        "Subject",
        "Body preview",
        "Sent at (Asia/Kolkata)",
        "Delivered at (Asia/Kolkata)",
        "Recorded at (Asia/Kolkata)",
        "Status history",
    ],
    "customer-behavioural-events": [
        "Id",
        "Tracking id",
        "Event name",
        "Date",
        "Occurred at (Asia/Kolkata)",
        "Source",
        "Account id",
        "Till",
        "Attributes",
        "Recorded at (Asia/Kolkata)",
    ],
    "customer-leads": [
        "Lead id",
        "Lead type",
        "Lead for",
        "Status",
        "Sub status",
        "Owner user id",
        "Created at (Asia/Kolkata)",
        "Updated at (Asia/Kolkata)",
        "Last follow up at (Asia/Kolkata)",
        "Next follow up at (Asia/Kolkata)",
        "Extended fields",
        "Status history",
    ],
    "customer-segment-history": ["Segment", "Segment name", "Action", "Source", "Changed at (Asia/Kolkata)"],
}


def header_of(response: Any, name: str) -> list[str]:
    """The CSV's header, asserted word for word (not from the list's own declaration, which could not fail)."""
    assert csv_lines(response)[0].split(",") == HEADERS[name]
    return csv_lines(response)[0].split(",")


async def test_the_coupon_lists_download_what_their_queries_answer(api, database, org):
    mobile, _, _, used_bill, _ = await customer_with_each_status(api, database, org)
    await full_return(api, used_bill, mobile)
    codes = await coupons(api, by_mobile(mobile), first=100)
    redeemed_only = await coupons(api, by_mobile(mobile), status="REDEEMED", first=100)
    redeemed = await redemptions(api, by_mobile(mobile), first=100)

    every_code = await download(api, "/downloads/customer-coupons.csv", customer=mobile, customerType="MOBILE")
    redeemed_codes = await download(
        api, "/downloads/customer-coupons.csv", customer=mobile, customerType="MOBILE", status="REDEEMED"
    )
    every_redemption = await download(
        api, "/downloads/customer-coupon-redemptions.csv", customer=mobile, customerType="MOBILE"
    )
    as_sheet = await download(
        api, "/downloads/customer-coupon-redemptions.xlsx", customer=mobile, customerType="MOBILE"
    )

    def coupon_row(coupon: dict) -> list[str]:
        return [
            coupon["code"],
            coupon["source"],
            coupon["promotion"]["id"],
            coupon["promotion"]["name"],
            coupon["status"],
            local(coupon["validFrom"]),
            local(coupon["validUntil"]),
            coupon["linkMode"] or "",
            local(coupon["linkedAt"]),
            str(coupon["redemptionsCount"]),
        ]

    def redemption_row(redemption: dict) -> list[str]:
        return [
            redemption["id"],
            redemption["code"],
            redemption["promotion"]["id"],
            redemption["promotion"]["name"],
            redemption["transactionId"],
            redemption["transactionNumber"],
            redemption["discount"],
            "true" if redemption["linked"] else "false",
            local(redemption["redeemedAt"]),
            "true" if redemption["reversed"] else "false",
            local(redemption["reversedAt"]),
            redemption["reversalTransactionId"] or "",
            redemption["reversalTransactionNumber"] or "",
        ]

    assert header_of(every_code, "customer-coupons")[:2] == ["Code", "Source"]
    assert [row[0] for row in csv_rows(every_code)] == ["PAPER-SHORT", "SOON10", "PAPER-ACTIVE", "NAMED5", "PAPER-USED"]
    assert csv_rows(every_code) == [coupon_row(coupon) for coupon in codes["coupons"]]
    assert [row[0] for row in csv_rows(redeemed_codes)] == ["NAMED5"]  # the return gave PAPER-USED back
    assert csv_rows(redeemed_codes) == [coupon_row(coupon) for coupon in redeemed_only["coupons"]]
    assert header_of(every_redemption, "customer-coupon-redemptions")[0] == "Redemption id"
    assert [(row[1], row[9]) for row in csv_rows(every_redemption)] == [("NAMED5", "false"), ("PAPER-USED", "true")]
    assert csv_rows(every_redemption) == [redemption_row(redemption) for redemption in redeemed["redemptions"]]
    sheet = xlsx_rows(as_sheet)[1:]
    assert [(row[0], row[1], row[6]) for row in sheet] == [
        (int(redemption["id"]), redemption["code"], float(Decimal(redemption["discount"])))
        for redemption in redeemed["redemptions"]
    ]
    assert all(isinstance(row[8], datetime) for row in sheet)


async def test_a_coupon_download_refuses_a_status_the_query_does_not_know(api):
    mobile = new_mobile()
    await buy(api, mobile, "1000")

    response = await download(
        api, "/downloads/customer-coupons.csv", customer=mobile, customerType="MOBILE", status="USED"
    )

    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("INVALID_INPUT", "status")


TIER_PROMOTION_IDENTIFIER_HISTORY = """
query Histories($customer: CustomerLookupInput!, $program: String) {
  customerTierHistory(customer: $customer, program: $program, first: 100) {
    ... on TierHistoryPage {
      records {
        id programCode kind cause fromTier { serialNumber name } toTier { serialNumber name }
        tierExpiresAt transactionId createdAt
      }
    }
  }
  customerPromotionHistory(customer: $customer, first: 100) {
    ... on PromotionAwardPage {
      records {
        eventLogId promotion { identifier name } programCode points storeCode tillCode importJobId awardedAt
      }
    }
  }
  identifierHistory(customer: $customer, first: 100) {
    ... on IdentifierHistoryPage {
      records { id action identifierType identifierValue otherUserId source account details createdAt }
    }
  }
}
"""


async def test_the_tier_promotion_and_identifier_histories_download_what_their_queries_answer(api, clock):
    mobile = new_mobile()
    await buy(api, mobile, "20000")  # bronze to silver
    clock.advance(timedelta(hours=1))
    await buy(api, mobile, "80000")  # silver to gold
    assert (await award(api, award_input(mobile, "250")))["__typename"] == "PromotionPointsAwarded"
    assert (await award(api, award_input(mobile, "40", identifier="BONUS")))["__typename"] == "PromotionPointsAwarded"
    assert (await change(api, by_mobile(mobile), type="EMAIL", add="tom@example.com", source="WECHAT", account="w"))[
        "__typename"
    ] == "IdentifierChanged"
    answer = await api.data(TIER_PROMOTION_IDENTIFIER_HISTORY, {"customer": by_mobile(mobile)})
    cafe_only = await api.data(TIER_PROMOTION_IDENTIFIER_HISTORY, {"customer": by_mobile(mobile), "program": "cafe"})

    tiers = await download(api, "/downloads/customer-tier-history.csv", customer=mobile, customerType="MOBILE")
    cafe_tiers = await download(
        api, "/downloads/customer-tier-history.csv", customer=mobile, customerType="MOBILE", program="cafe"
    )
    unknown_program = await download(
        api, "/downloads/customer-tier-history.csv", customer=mobile, customerType="MOBILE", program="nope"
    )
    awards = await download(api, "/downloads/customer-promotion-history.csv", customer=mobile, customerType="MOBILE")
    awards_sheet = await download(
        api, "/downloads/customer-promotion-history.xlsx", customer=mobile, customerType="MOBILE"
    )
    identifiers = await download(api, "/downloads/identifier-history.csv", customer=mobile, customerType="MOBILE")

    header_of(tiers, "customer-tier-history")
    assert csv_rows(tiers) == [
        [
            record["id"],
            record["programCode"],
            record["kind"],
            record["cause"],
            str(record["fromTier"]["serialNumber"]),
            record["fromTier"]["name"],
            str(record["toTier"]["serialNumber"]),
            record["toTier"]["name"],
            local(record["tierExpiresAt"]),
            record["transactionId"] or "",
            local(record["createdAt"]),
        ]
        for record in answer["customerTierHistory"]["records"]
    ]
    assert [(row[5], row[7]) for row in csv_rows(tiers)] == [("silver", "gold"), ("bronze", "silver")]
    assert cafe_only["customerTierHistory"]["records"] == []
    assert csv_rows(cafe_tiers) == []
    assert (unknown_program.status_code, unknown_program.json()["error"]["field"]) == (422, "program")
    header_of(awards, "customer-promotion-history")
    assert csv_rows(awards) == [
        [
            record["eventLogId"],
            record["promotion"]["identifier"],
            record["promotion"]["name"],
            record["programCode"],
            record["points"],
            record["storeCode"] or "",
            record["tillCode"] or "",
            record["importJobId"] or "",
            local(record["awardedAt"]),
        ]
        for record in answer["customerPromotionHistory"]["records"]
    ]
    assert [(row[1], row[4]) for row in csv_rows(awards)] == [("BONUS", "40"), ("DIWALI-2026", "250")]
    assert [(row[1], row[4]) for row in xlsx_rows(awards_sheet)[1:]] == [("BONUS", 40), ("DIWALI-2026", 250)]
    header_of(identifiers, "identifier-history")
    assert csv_rows(identifiers) == [
        [
            record["id"],
            record["action"],
            record["identifierType"] or "",
            record["identifierValue"] or "",
            record["otherUserId"] or "",
            record["source"] or "",
            record["account"] or "",
            orjson.dumps(record["details"]).decode() if record["details"] is not None else "",
            local(record["createdAt"]),
        ]
        for record in answer["identifierHistory"]["records"]
    ]
    assert [(row[1], row[3], row[5]) for row in csv_rows(identifiers)] == [("ADD", "tom@example.com", "WECHAT")]


INTERACTIONS_AND_EVENTS = """
query InteractionsAndEvents(
  $customer: CustomerLookupInput!, $channel: InteractionChannel, $filter: BehaviouralEventFilterInput
) {
  customerInteractions(customer: $customer, channel: $channel, first: 100) {
    ... on InteractionPage {
      interactions {
        id channel messageId account direction status statusAt template subject bodyPreview sentAt deliveredAt
        recordedAt statusHistory { status atLocal }
      }
    }
  }
  customerBehaviouralEvents(customer: $customer, filter: $filter, first: 100) {
    ... on BehaviouralEventPage {
      events { id trackingId eventName date occurredAt source accountId tillCode attributes recordedAt }
    }
  }
}
"""


def interaction_row(item: dict) -> list[str]:
    return [
        item["id"],
        item["channel"],
        item["messageId"],
        item["account"] or "",
        item["direction"],
        item["status"],
        local(item["statusAt"]),
        sheets.safe_cell(item["template"] or ""),  # as a spreadsheet reads text, not a formula
        item["subject"] or "",
        item["bodyPreview"] or "",
        local(item["sentAt"]),
        local(item["deliveredAt"]),
        local(item["recordedAt"]),
        "; ".join(f"{change['status']} {local(change['atLocal'])}" for change in item["statusHistory"]),
    ]


def event_row(item: dict) -> list[str]:
    return [
        item["id"],
        item["trackingId"],
        item["eventName"],
        item["date"],
        local(item["occurredAt"]),
        item["source"],
        item["accountId"] or "",
        item["tillCode"] or "",
        orjson.dumps(item["attributes"]).decode() if item["attributes"] is not None else "",
        local(item["recordedAt"]),
    ]


async def test_interactions_and_behavioural_events_download_what_their_queries_answer(api):
    mobile, _ = await recorded_week(api)
    recorded = await record_interactions(
        api,
        [
            sms(mobile, "sms-old", sentAt="2026-11-20T08:00:00Z", statusAt="2026-11-20T08:00:00Z", template="=1+2"),
            sms(mobile, "mail", channel="EMAIL", sentAt="2026-11-21T08:00:00Z", statusAt="2026-11-21T08:00:00Z"),
            sms(mobile, "sms-new", status="DELIVERED", statusAt="2026-11-22T08:05:00Z", sentAt="2026-11-22T08:00:00Z"),
        ],
    )
    assert [result["__typename"] for result in recorded] == ["InteractionRecordedPayload"] * 3
    answer = await api.data(INTERACTIONS_AND_EVENTS, {"customer": by_mobile(mobile)})
    filtered = await api.data(
        INTERACTIONS_AND_EVENTS,
        {
            "customer": by_mobile(mobile),
            "channel": "SMS",
            "filter": {"eventName": "store_visit", "source": "INSTORE", "startDate": "2026-11-21"},
        },
    )
    days = await api.data(
        INTERACTIONS_AND_EVENTS,
        {"customer": by_mobile(mobile), "filter": {"startDate": "2026-11-22", "endDate": "2026-11-23"}},
    )

    def get(name: str, **params: Any) -> Any:
        return download(api, f"/downloads/{name}", customer=mobile, customerType="MOBILE", **params)

    every_message = await get("customer-interactions.csv")
    sms_only = await get("customer-interactions.csv", channel="SMS")
    messages_sheet = await get("customer-interactions.xlsx")
    every_event = await get("customer-behavioural-events.csv")
    store_visits = await get(
        "customer-behavioural-events.csv", eventName="store_visit", source="INSTORE", startDate="2026-11-21"
    )
    two_days = await get("customer-behavioural-events.csv", startDate="2026-11-22", endDate="2026-11-23")
    events_sheet = await get("customer-behavioural-events.xlsx")
    reversed_days = await get("customer-behavioural-events.csv", startDate="2026-11-23", endDate="2026-11-22")
    unreadable_day = await get("customer-behavioural-events.csv", startDate="22/11/2026")
    unknown_channel = await get("customer-interactions.csv", channel="PIGEON")

    header_of(every_message, "customer-interactions")
    assert csv_rows(every_message) == [interaction_row(item) for item in answer["customerInteractions"]["interactions"]]
    assert [(row[2], row[6], row[13]) for row in csv_rows(every_message)] == [
        ("sms-new", "2026-11-22 13:35:00", "DELIVERED 2026-11-22 13:35:00"),
        ("mail", "2026-11-21 13:30:00", "SENT 2026-11-21 13:30:00"),
        ("sms-old", "2026-11-20 13:30:00", "SENT 2026-11-20 13:30:00"),
    ]
    assert csv_rows(every_message)[2][7] == "'=1+2"  # a template a spreadsheet would run is text
    assert csv_rows(sms_only) == [interaction_row(item) for item in filtered["customerInteractions"]["interactions"]]
    assert [row[2] for row in csv_rows(sms_only)] == ["sms-new", "sms-old"]
    assert [(row[2], row[6], row[7]) for row in xlsx_rows(messages_sheet)[1:]] == [
        ("sms-new", datetime(2026, 11, 22, 13, 35), None),
        ("mail", datetime(2026, 11, 21, 13, 30), None),
        ("sms-old", datetime(2026, 11, 20, 13, 30), "=1+2"),
    ]
    header_of(every_event, "customer-behavioural-events")
    assert csv_rows(every_event) == [event_row(item) for item in answer["customerBehaviouralEvents"]["events"]]
    assert [row[1] for row in csv_rows(every_event)] == ["e-24", "e-23", "e-22", "e-21", "e-20"]
    assert csv_rows(store_visits) == [event_row(item) for item in filtered["customerBehaviouralEvents"]["events"]]
    assert [row[1] for row in csv_rows(store_visits)] == ["e-22"]
    assert csv_rows(two_days) == [event_row(item) for item in days["customerBehaviouralEvents"]["events"]]
    assert [(row[1], row[3]) for row in csv_rows(two_days)] == [("e-23", "2026-11-23"), ("e-22", "2026-11-22")]
    assert [(row[1], row[3]) for row in xlsx_rows(events_sheet)[1:3]] == [
        ("e-24", datetime(2026, 11, 24)),
        ("e-23", datetime(2026, 11, 23)),
    ]
    assert [
        (response.status_code, response.json()["error"]["field"])
        for response in (reversed_days, unreadable_day, unknown_channel)
    ] == [(422, "filter.endDate"), (422, "startDate"), (422, "channel")]


def lead_row(lead: dict) -> list[str]:
    return [
        lead["id"],
        lead["leadType"],
        lead["leadFor"],
        lead["status"],
        lead["subStatus"] or "",
        lead["ownerUserId"],
        local(lead["createdAt"]),
        local(lead["updatedAt"]),
        local(lead["lastFollowUpAt"]),
        local(lead["nextFollowUpAt"]),
        orjson.dumps({field["name"]: field["value"] for field in lead["extendedFields"]}).decode(),
        "; ".join(
            f"{change['status']}{' (' + change['subStatus'] + ')' if change['subStatus'] else ''} "
            f"{local(change['changedAt'])}"
            for change in lead["statusHistory"]
        ),
    ]


async def test_leads_and_segment_history_download_what_their_queries_answer(api, clock):
    mobile, _ = await customer_with_points(api)
    first_lead = (await create_lead(api, by_mobile(mobile), extendedFields=[{"name": "budget", "value": "500"}]))[
        "lead"
    ]
    await create_lead(api, by_mobile(mobile), leadFor="SKU-7")
    clock.advance(timedelta(hours=1))
    won = await api.data(
        UPDATE_LEAD_STATUS, {"input": {"leadId": first_lead["id"], "status": "WON", "subStatus": "Paid"}}
    )
    assert won["updateLeadStatus"]["lead"]["status"] == "WON"
    for code in ("A", "B"):
        await create_segment(api, code)
        await add_segment_members(api, code, [by_mobile(mobile)])
        clock.advance(timedelta(minutes=1))
    await remove_segment_members(api, "A", [by_mobile(mobile)])
    every_lead = (await leads_of(api, by_mobile(mobile), first=100))["leads"]
    won_leads = (await leads_of(api, by_mobile(mobile), status="WON", first=100))["leads"]
    changes = (await segment_history(api, by_mobile(mobile), first=100))["changes"]

    def get(name: str, **params: Any) -> Any:
        return download(api, f"/downloads/{name}", customer=mobile, customerType="MOBILE", **params)

    leads_file = await get("customer-leads.csv")
    won_file = await get("customer-leads.csv", status="WON")
    leads_sheet = await get("customer-leads.xlsx")
    unknown_status = await get("customer-leads.csv", status="MAYBE")
    history_file = await get("customer-segment-history.csv")
    history_sheet = await get("customer-segment-history.xlsx")

    header_of(leads_file, "customer-leads")
    assert csv_rows(leads_file) == [lead_row(lead) for lead in every_lead]
    assert [(row[2], row[3], row[10], row[11]) for row in csv_rows(leads_file)] == [
        ("SKU-7", "OPEN", "{}", "OPEN 2026-11-25 12:00:00"),
        ("SKU-42", "WON", '{"budget":"500"}', "OPEN 2026-11-25 12:00:00; WON (Paid) 2026-11-25 13:00:00"),
    ]
    assert csv_rows(won_file) == [lead_row(lead) for lead in won_leads]
    assert [row[2] for row in csv_rows(won_file)] == ["SKU-42"]
    assert [(row[0], row[6]) for row in xlsx_rows(leads_sheet)[1:]] == [
        (int(lead["id"]), datetime(2026, 11, 25, 12, 0)) for lead in every_lead
    ]
    assert (unknown_status.status_code, unknown_status.json()["error"]["field"]) == (422, "status")
    header_of(history_file, "customer-segment-history")
    assert csv_rows(history_file) == [
        [
            change["segment"]["code"],
            change["segment"]["name"],
            change["action"],
            change["source"],
            local(change["changedAt"]),
        ]
        for change in changes
    ]
    assert [(row[0], row[2]) for row in csv_rows(history_file)] == [("A", "REMOVED"), ("B", "ADDED"), ("A", "ADDED")]
    assert [(row[0], row[4]) for row in xlsx_rows(history_sheet)[1:]] == [
        ("A", datetime(2026, 11, 25, 13, 2)),
        ("B", datetime(2026, 11, 25, 13, 1)),
        ("A", datetime(2026, 11, 25, 13, 0)),
    ]


async def test_the_member_care_downloads_cost_the_same_statements_for_1_or_3_rows(api, count_statements):
    """The lists whose page reads more than one statement (status histories, promotions)."""
    customers = []
    for size in (1, 3):
        mobile, _ = await customer_with_points(api)
        for index in range(size):
            await record_interactions(api, [sms(mobile, f"{mobile}-{index}")])
            await create_lead(api, by_mobile(mobile), leadFor=f"SKU-{index}")
            assert (await award(api, award_input(mobile, "10")))["__typename"] == "PromotionPointsAwarded"
        customers.append(mobile)

    counts: dict[str, list[tuple[int, int]]] = {}
    for name in ("customer-interactions", "customer-leads", "customer-promotion-history"):
        for mobile in customers:
            found = []
            for file_format in ("csv", "xlsx"):
                counter = count_statements()
                response = await download(
                    api, f"/downloads/{name}.{file_format}", customer=mobile, customerType="MOBILE"
                )
                assert response.status_code == 200
                found.append(counter.count)
            rows = len(csv_rows(await download(api, f"/downloads/{name}.csv", customer=mobile, customerType="MOBILE")))
            counts.setdefault(name, []).append((rows, found[0], found[1]))

    for name, (short, long) in counts.items():
        assert (short[0], long[0]) == (1, 3), name
        assert short[1:] == long[1:], name
        assert short[1] == short[2], name
