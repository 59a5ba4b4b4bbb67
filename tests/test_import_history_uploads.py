"""The ledger-history profiles through GraphQL (issue 16): importOpeningBalances and
importPointsDebits take a multipart upload as importPoints does, with the same jobs, dry run,
exactly once, typed errors and per-row rejects as POST /imports/opening-balances and
/imports/points-debits."""

from __future__ import annotations

from typing import Any

from tests.client import Api
from tests.import_checks import finished, upload_through_graphql
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts
from tests.test_import_debits import account_of, lots_left
from tests.test_opening_balances import OPENING


def import_document(mutation: str) -> str:
    """The upload mutation `mutation` (its input type is named after it), asking for the job or the error."""
    input_type = mutation[0].upper() + mutation[1:] + "Input"
    return f"""
mutation Import($input: {input_type}!) {{
  {mutation}(input: $input) {{
    __typename
    ... on ImportSubmitted {{ existing job {{ id profile status dryRun }} }}
    ... on Error {{ code message field }}
  }}
}}
"""


DEBITS = (
    "customerprofileid,type,amount,date,reason\n"
    "M-1,REDEMPTION,120,2026-11-10T00:00:00Z,till 7\n"
    "M-2,EXPIRY,80,,\n"
    "M-2,EXPIRY,75,,\n"
)
# What DEBITS does after OPENING: M-2's 80 is more than its 75.
DEBITS_JOB = {
    "status": "DONE",
    "dryRun": False,
    "fileName": "debits.csv",
    "rowsRead": 3,
    "rowsImported": 2,
    "rowsRejected": 1,
    "customersCreated": 0,
    "pointsImported": "195",
}


async def upload(api: Api, mutation: str, file_name: str, body: str, **input: Any) -> dict[str, Any]:
    return (await upload_through_graphql(api, import_document(mutation), input, file_name, body))[mutation]


async def upload_opening(api: Api, body: str, **input: Any) -> dict[str, Any]:
    return await upload(api, "importOpeningBalances", "opening.csv", body, **input)


async def upload_debits(api: Api, body: str, **input: Any) -> dict[str, Any]:
    return await upload(api, "importPointsDebits", "debits.csv", body, **input)


def counts(job: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "dryRun", "fileName", "rowsRead", "rowsImported", "rowsRejected", "customersCreated")
    return {key: job[key] for key in (*keys, "pointsImported")}


def rejects(job: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(item["rowNumber"], item["column"], item["code"]) for item in job["rejects"]["rejects"]]


async def test_opening_balances_then_debits_upload_through_graphql_once_each(client_api, database):
    main = {"programCode": "main"}

    opened = await upload_opening(client_api, OPENING + "M-3,GOLD,5,2026-10-31T18:30:00Z,\n", configuration=main)
    opening_job = await finished(client_api, opened["job"]["id"])
    again = await upload_opening(client_api, OPENING + "M-3,GOLD,5,2026-10-31T18:30:00Z,\n", configuration=main)
    debited = await upload_debits(client_api, DEBITS, configuration=main)
    debits_job = await finished(client_api, debited["job"]["id"])

    assert (opened["__typename"], opened["existing"], opened["job"]["profile"], opened["job"]["dryRun"]) == (
        "ImportSubmitted",
        False,
        "OPENING_BALANCES",
        False,
    )
    assert counts(opening_job) == {
        "status": "DONE",
        "dryRun": False,
        "fileName": "opening.csv",
        "rowsRead": 4,
        "rowsImported": 3,
        "rowsRejected": 1,
        "customersCreated": 2,
        "pointsImported": "615",
    }
    assert rejects(opening_job) == [(5, "category", "INVALID_CATEGORY")]
    # The same file under the same configuration is the same job, not a second opening.
    assert (again["__typename"], again["existing"], again["job"]["id"]) == (
        "ImportSubmitted",
        True,
        opened["job"]["id"],
    )
    assert (debited["existing"], debited["job"]["profile"]) == (False, "POINTS_DEBITS")
    assert counts(debits_job) == DEBITS_JOB
    assert rejects(debits_job) == [(3, "amount", "INSUFFICIENT_POINTS")]
    assert await account_of(database, "M-1") == {"balance": 380, "earned": 0, "redeemed": 120, "expired": 0}
    assert await account_of(database, "M-2") == {"balance": 0, "earned": 0, "redeemed": 0, "expired": 75}
    assert await lots_left(database, "M-1") == [(500, 380), (40, 40)]
    await assert_reconciled(database)


async def test_a_dry_run_upload_reports_and_writes_nothing_but_its_job(client_api, database):
    opened = await upload_opening(client_api, OPENING, configuration={"programCode": "main"})
    await finished(client_api, opened["job"]["id"])
    before = await table_counts(database)

    submitted = await upload_debits(client_api, DEBITS, configuration={"programCode": "main"}, dryRun=True)
    job = await finished(client_api, submitted["job"]["id"])

    assert counts(job) == {**DEBITS_JOB, "dryRun": True}
    assert rejects(job) == [(3, "amount", "INSUFFICIENT_POINTS")]
    after = await table_counts(database)
    assert after["import_jobs"] == before["import_jobs"] + 1
    assert after["import_rejects"] == before["import_rejects"] + 1
    report = ("import_jobs", "import_rejects")
    assert {table: count for table, count in after.items() if table not in report} == {
        table: count for table, count in before.items() if table not in report
    }


async def test_an_unknown_program_is_a_typed_error_and_no_job(client_api, database):
    before = await table_counts(database)

    debits = await upload_debits(client_api, DEBITS, configuration={"programCode": "nowhere"})
    opening = await upload_opening(client_api, OPENING, configuration={"programCode": " "})

    assert debits == {
        "__typename": "NotFoundError",
        "code": "NOT_FOUND",
        "message": "no program 'nowhere' in this organisation",
        "field": "programCode",
    }
    assert opening == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "an opening balances import names its program",
        "field": "programCode",
    }
    assert await table_counts(database) == before


async def test_an_upload_that_registers_nobody_refuses_unknown_customers_per_row(client_api, database):
    submitted = await upload_opening(
        client_api, OPENING, configuration={"programCode": "main", "registerUnknownCustomers": False}
    )
    job = await finished(client_api, submitted["job"]["id"])

    assert (job["status"], job["rowsImported"], job["customersCreated"]) == ("DONE", 0, 0)
    assert rejects(job) == [
        (2, "customerprofileid", "CUSTOMER_NOT_FOUND"),
        (3, "customerprofileid", "CUSTOMER_NOT_FOUND"),
        (4, "customerprofileid", "CUSTOMER_NOT_FOUND"),
    ]


async def test_a_file_without_a_required_column_fails_its_job_with_the_column(client_api):
    submitted = await upload_debits(
        client_api, "customerprofileid,amount\nM-1,10\n", configuration={"programCode": "main"}
    )
    job = await finished(client_api, submitted["job"]["id"])

    assert (job["status"], job["errorCode"], job["errorMessage"], job["rowsImported"]) == (
        "FAILED",
        "MISSING_COLUMN",
        "the header lacks the column 'type'",
        0,
    )
