"""What the import tests share: following a job to its end, the profile tests' job query and POST,
the SQL a job sends, and what a customer holds before and after an import. (The server with its
own import directory: tests.conftest.import_server and the client_api fixture.)"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, func, select

from app.customers.models import CustomerIdentifier
from app.imports import service
from app.imports.models import ImportProfile, JobStatus
from app.kernel.clock import FrozenClock
from app.ledger import repository as ledger_repository
from app.ledger.models import EventType
from tests.client import Api, add, customer_points, points_summary
from tests.conftest import TEST_NOW, org_config
from tests.factories import bill

identifiers = CustomerIdentifier.__table__

IMPORT_JOB = """
query Job($id: ID!, $first: Int = 50, $after: String) {
  importJob(id: $id) {
    id status phase dryRun errorPolicy fileName bytesTotal bytesRead rowsRead rowsImported rowsRejected
    customersCreated pointsImported pointsExpired errorCode errorMessage rejectsCsvPath
    rejects(first: $first, after: $after) {
      rejects { rowNumber column code message original }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# A CUSTOMER_PROMOTION or TRACKERS job with its rejects and corrections.
PROFILE_JOB = """
query Job($id: ID!) {
  importJob(id: $id) {
    id status dryRun rowsRead rowsImported rowsRejected pointsImported errorCode errorMessage
    rejects(first: 50) { rejects { rowNumber column code message } }
    corrections(first: 50) { corrections { rowNumber column code message } }
  }
}
"""

CREATE_GROUP = """
mutation Create($input: CreateUserGroupInput!) {
  createUserGroup(input: $input) { __typename ... on UserGroupChanged { group { id userId } } ... on Error { code } }
}
"""


async def finished(api: Api, job_id: str, *, first: int = 50) -> dict[str, Any]:
    """The job once the server's runner has ended it."""
    for _ in range(2000):
        job = (await api.data(IMPORT_JOB, {"id": job_id, "first": first}))["importJob"]
        if job["status"] in ("DONE", "FAILED"):
            return job
        await asyncio.sleep(0.01)
    raise AssertionError(f"job {job_id} did not finish: {job}")


async def post_file(api: Api, path: str, body: str, **params: str) -> httpx.Response:
    return await api.client.post(
        path,
        content=body.encode(),
        params=params,
        headers={"Authorization": api.credentials.header, "Content-Type": "text/csv"},
    )


async def run_file(api: Api, path: str, body: str, **params: str) -> dict[str, Any]:
    """POST the file, wait for its job to end, and return it (PROFILE_JOB)."""
    response = await post_file(api, path, body, **params)
    assert response.status_code == 202, response.text
    await finished(api, str(response.json()["job"]["id"]))
    return (await api.data(PROFILE_JOB, {"id": str(response.json()["job"]["id"])}))["importJob"]


async def post_csv(api: Api, body: bytes, **params: str) -> httpx.Response:
    """POST a Talon.One points file (to the main program unless `program` is given)."""
    return await api.client.post(
        "/imports/points",
        content=body,
        params={"program": "main", **params},
        headers={"Authorization": api.credentials.header, "Content-Type": "text/csv"},
    )


async def registered_customer(api: Api) -> dict[str, Any]:
    """A customer registered by a purchase of 1,800 (with the 18 main points it earned): what they
    hold before an import."""
    return (await add(api, bill()))["transaction"]["customer"]


async def points_of(api: Api, kind: str, value: str, program: str = "main") -> dict[str, Any]:
    """The customer's points in one program, looked up by an identifier of this kind."""
    customer = await customer_points(api, {"type": kind, "value": value})
    summary = points_summary(customer, program)
    return {
        "loyaltyPoints": summary["loyaltyPoints"],
        "pending": summary["pendingPoints"],
        "spendable": summary["spendablePoints"],
        "expired": summary["expired"],
        "userId": customer["userId"],
    }


async def main_points(api: Api, user_id: str) -> str:
    """The main program's points of this user id."""
    return (await points_of(api, "USER_ID", user_id))["loyaltyPoints"]


async def jobs_of_events(database: Any, event_type: EventType) -> list[int | None]:
    """The import jobs the events of this type carry."""
    async with database.read() as connection:
        return list(
            (
                await connection.execute(
                    select(ledger_repository.events.c.import_job_id)
                    .distinct()
                    .where(ledger_repository.events.c.event_type == event_type.value)
                )
            ).scalars()
        )


async def statements_to_run(
    database: Any, org_id: int, profile: ImportProfile, configuration: dict[str, Any], path: Path
) -> int:
    """SQL statements an import job sends, from submit to DONE (every engine)."""
    job = (
        await service.submit(
            database,
            await org_config(database, org_id),
            service.ImportRequest(profile, configuration=configuration),
            service.local_file(path, 10**6),
            now=TEST_NOW,
        )
    ).job
    count = 0

    def counted(*_: Any) -> None:
        nonlocal count
        count += 1

    engines = {id(engine): engine for engine in (database.read_engine, database.write_engine)}.values()
    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", counted)
    try:
        done = await service.run_job(database, job.id, clock=FrozenClock(TEST_NOW))
    finally:
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", counted)
    assert done.status is JobStatus.DONE
    assert done.rows_rejected == 0
    return count


async def balances(database, org_id: int) -> dict[str, Decimal]:
    """REGULAR balances of the org's customers, by EXTERNAL_ID."""
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(identifiers.c.value, func.sum(ledger_repository.accounts.c.balance))
                .join(ledger_repository.accounts, ledger_repository.accounts.c.customer_id == identifiers.c.customer_id)
                .where(
                    identifiers.c.org_id == org_id,
                    identifiers.c.type == "EXTERNAL_ID",
                    ledger_repository.accounts.c.category == "REGULAR",
                )
                .group_by(identifiers.c.value)
            )
        ).all()
    return {row[0]: Decimal(row[1]) for row in rows}


async def submit_local(database, org_id: int, path: Path, **request: Any) -> service.JobView:
    """A TALON_ONE_POINTS job (program "main") of a file on this machine, as the CLI submits one."""
    submitted = await service.submit(
        database,
        await org_config(database, org_id),
        service.ImportRequest(ImportProfile.TALON_ONE_POINTS, configuration={"program_code": "main"}, **request),
        service.local_file(path, 10**9),
        now=TEST_NOW,
    )
    return submitted.job


def job_summary(job: dict[str, Any]) -> dict[str, Any]:
    """A PROFILE_JOB's counts and its rejects as (row, column, code)."""
    return {
        "status": job["status"],
        "rowsRead": job["rowsRead"],
        "rowsImported": job["rowsImported"],
        "rowsRejected": job["rowsRejected"],
        "rejects": [(item["rowNumber"], item["column"], item["code"]) for item in job["rejects"]["rejects"]],
    }


async def upload_through_graphql(
    api: Api, document: str, input: dict[str, Any], file_name: str, body: str
) -> dict[str, Any]:
    """The document's data, posted as a GraphQL multipart upload whose file is `input.file`."""
    operations = json.dumps({"query": document, "variables": {"input": {"file": None, **input}}})
    response = await api.client.post(
        "/graphql",
        headers=api.credentials.upload_headers,
        data={"operations": operations, "map": '{"0": ["variables.input.file"]}'},
        files={"0": (file_name, body.encode(), "text/csv")},
    )
    return response.json()["data"]
