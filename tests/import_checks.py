"""What the import tests share: a server with its own import directory, following a job to its
end, and the profile tests' job query and POST."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from app.http.app import create_app
from app.kernel.clock import Clock
from app.kernel.settings import Settings
from tests.conftest import Api

IMPORT_JOB = """
query Job($id: ID!, $first: Int = 50, $after: String) {
  importJob(id: $id) {
    id status phase dryRun errorPolicy fileName bytesTotal bytesRead rowsRead rowsImported rowsRejected
    customersCreated pointsImported errorCode errorMessage rejectsCsvPath
    rejects(first: $first, after: $after) { rejects { rowNumber column code message original } pageInfo { hasNextPage endCursor } }
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


@asynccontextmanager
async def import_server(
    database: Any, tmp_path: Path, clock: Clock, *, size_limit_bytes: int, timeout: float
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose imports go to this test's own directory, held to this size."""
    settings = Settings(
        database_url=database.url, import_directory=str(tmp_path / "imports"), import_size_limit_bytes=size_limit_bytes
    )
    app = create_app(settings, database=database, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=timeout
    ) as client:
        yield client


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
