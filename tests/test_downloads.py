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
import pytest

from app.http.downloads import sheets
from app.http.downloads.lists import LISTS
from app.organizations.roles import Role, roles_for
from tests.client import Api, add, buy, ledger_entries, merge, transfer
from tests.conftest import make_key, make_org
from tests.documents import RETURN_TRANSACTION
from tests.factories import bill, by_mobile, new_mobile, org_spec

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
    for mobile in (short_mobile, long_mobile):
        for file_format in ("csv", "xlsx"):
            counter = count_statements()
            response = await download(
                cents_api, f"/downloads/ledger-entries.{file_format}", customer=mobile, customerType="MOBILE"
            )
            assert response.status_code == 200
            counts.append(counter.count)

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
