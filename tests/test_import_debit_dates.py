"""A historic debit is never older than the points it takes (issue 16): a POINTS_DEBITS row dated
before the customer's imported opening balance (its `asof`), or one that only lots starting after
its date could pay, is refused on its `date` column, and nothing of it is written."""

from __future__ import annotations

from decimal import Decimal

from tests.client import Api
from tests.conftest import make_org, org_spec
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts
from tests.test_import_debits import account_of, at, import_credits, import_debits, imported_debits, lots_left
from tests.test_opening_balances import import_opening

# O-1 opens with 50 points as of June 1st, then earns 100 starting July 1st.
OPENING = "customerprofileid,balance,asof\nO-1,50,2026-06-01T00:00:00Z\n"
CREDITS = b"customerprofileid,amount,startdate\nO-1,100,2026-07-01T00:00:00Z\n"
DEBITS = (
    "customerprofileid,type,amount,date\n"
    "O-1,REDEMPTION,10,2026-05-31T23:59:59Z\n"  # before the opening balance
    "O-1,REDEMPTION,30,2026-06-15T00:00:00Z\n"  # the opening balance's points
    "O-1,EXPIRY,40,2026-06-20T00:00:00Z\n"  # 20 left from the opening: the rest starts July 1st
    "O-1,REDEMPTION,40,2026-07-02T00:00:00Z\n"  # 20 from the opening, 20 from July's lot
)
REJECTS = [
    (
        2,
        "date",
        "DATE_BEFORE_OPENING_BALANCE",
        "the customer's opening balance in program main is as of 2026-06-01T00:00:00Z: "
        "a debit cannot be dated before it",
    ),
    (4, "date", "DATE_BEFORE_CREDIT", "the points this debit would take start on 2026-07-01T00:00:00Z, after its date"),
]


def rejects_of(job: dict) -> list[tuple[int, str, str, str]]:
    return [(item["rowNumber"], item["column"], item["code"], item["message"]) for item in job["rejects"]["rejects"]]


async def test_debits_dated_before_the_opening_balance_or_the_points_they_take_are_refused(client_api, database):
    await import_opening(client_api, OPENING)
    await import_credits(client_api, CREDITS)

    job = await import_debits(client_api, DEBITS)

    assert (job["status"], job["rowsImported"], job["rowsRejected"], job["pointsImported"]) == ("DONE", 2, 2, "70")
    assert rejects_of(job) == REJECTS
    assert await imported_debits(database, "O-1") == [
        ("POINTS_REDEMPTION", Decimal(30), Decimal(120), at("2026-06-15T00:00:00"), None, [(50, 30)]),
        ("POINTS_REDEMPTION", Decimal(40), Decimal(80), at("2026-07-02T00:00:00"), None, [(50, 20), (100, 20)]),
    ]
    assert await lots_left(database, "O-1") == [(50, 0), (100, 80)]
    assert await account_of(database, "O-1") == {"balance": 80, "earned": 100, "redeemed": 70, "expired": 0}
    await assert_reconciled(database)


async def test_a_refused_debit_writes_nothing_and_a_dry_run_refuses_the_same_rows(client_api, database):
    await import_opening(client_api, OPENING)
    await import_credits(client_api, CREDITS)
    before = await table_counts(database)
    # The job, its rejects and its import_job.finished event (with its deliveries) are its report.
    report = ("import_jobs", "import_rejects", "outbox_events", "outbox_deliveries")

    dry_run = await import_debits(client_api, DEBITS, dryRun="true")
    refused = await import_debits(
        client_api, "customerprofileid,type,amount,date\nO-1,EXPIRY,60,2026-06-30T23:59:59Z\n"
    )

    assert (dry_run["dryRun"], dry_run["rowsImported"], dry_run["pointsImported"]) == (True, 2, "70")
    assert rejects_of(dry_run) == REJECTS
    assert (refused["rowsImported"], refused["rowsRejected"]) == (0, 1)
    assert [item["code"] for item in refused["rejects"]["rejects"]] == ["DATE_BEFORE_CREDIT"]
    after = await table_counts(database)
    assert {table: count for table, count in after.items() if table not in report} == {
        table: count for table, count in before.items() if table not in report
    }
    assert await account_of(database, "O-1") == {"balance": 150, "earned": 100, "redeemed": 0, "expired": 0}


async def test_a_program_allowing_negative_balances_still_refuses_a_debit_older_than_its_points(
    client_api, database, clock
):
    spec = org_spec("lenient")
    spec["programs"][0]["allow_negative_balance"] = True
    lenient = Api(client_api.client, await make_org(database, spec), database, clock)
    await import_opening(lenient, OPENING)
    await import_credits(lenient, CREDITS)

    job = await import_debits(
        lenient,
        "customerprofileid,type,amount,date\n"
        "O-1,REDEMPTION,200,2026-05-01T00:00:00Z\n"  # before the opening balance, though a debt is allowed
        "O-1,REDEMPTION,80,2026-06-10T00:00:00Z\n"  # the opening's 50 and 30 of July's
        "O-1,REDEMPTION,200,2026-07-10T00:00:00Z\n",  # everything started: 150, then a debt of 50
    )

    assert [(number, code) for number, _, code, _ in rejects_of(job)] == [
        (2, "DATE_BEFORE_OPENING_BALANCE"),
        (3, "DATE_BEFORE_CREDIT"),
    ]
    assert await imported_debits(database, "O-1") == [
        ("POINTS_REDEMPTION", Decimal(200), Decimal(-50), at("2026-07-10T00:00:00"), None, [(50, 50), (100, 100)])
    ]
    assert await account_of(database, "O-1") == {"balance": -50, "earned": 100, "redeemed": 200, "expired": 0}
    await assert_reconciled(database)
