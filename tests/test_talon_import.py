"""Talon.One's import endpoint (seed 002): POST /v1/loyalty_programs/{programId}/import_points with
the CSV in a multipart upFile part, Talon.One's management-key header, and Talon.One's answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from app.imports.models import ImportJob
from app.organizations.roles import Role
from tests.client import Credentials
from tests.conftest import make_key, org_config
from tests.import_checks import finished, points_of
from tests.ledger_checks import assert_reconciled

PROFILE_EXAMPLE = (
    b"customerprofileid,amount,startdate,expirydate,subledgerid,reason\n"
    b"URNGV8294NV,100,2009-11-10T23:00:00Z,2099-11-11T23:00:00Z,subledger1,appeasement\n"
    b"TALON-2,40,,,,\n"
)
BOUNDARY = "talon-boundary-7d1f"

jobs = ImportJob.__table__


def management_key(credentials: Credentials) -> dict[str, str]:
    return {"Authorization": f"ManagementKey-v1 {credentials.key_id}:{credentials.secret}"}


def multipart(file: bytes, *, field: str = "upFile", file_name: str = "points.csv") -> bytes:
    """A multipart/form-data body with a small text field before the file (ignored)."""
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nfrom Talon.One\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{file_name}"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + file
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def post_points(
    api: Any, body: bytes, *, program: str = "main", headers: dict[str, str] | None = None, content: Any = None
) -> httpx.Response:
    return await api.client.post(
        f"/v1/loyalty_programs/{program}/import_points",
        content=body if content is None else content,
        headers={
            **(headers if headers is not None else management_key(api.credentials)),
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
    )


async def job_count(database: Any) -> int:
    async with database.read() as connection:
        return (await connection.execute(select(func.count()).select_from(jobs))).scalar_one()


def uploads(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "imports" / "uploads").glob("*")) if (tmp_path / "imports" / "uploads").exists() else []


def talon_error(status: int, code: str, message: str, parameter: str | None) -> dict[str, Any]:
    return {
        "message": message,
        "errors": [{"title": code, "details": message, "source": {"parameter": parameter} if parameter else {}}],
        "StatusCode": status,
    }


# --- Accepted files ---------------------------------------------------------------------------


async def test_the_seed_example_posted_as_talon_one_posts_it_is_imported_into_the_program(
    client_api, database, org, clock, tmp_path
):
    response = await post_points(client_api, multipart(PROFILE_EXAMPLE))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "id": body["id"],
        "created": clock.now().isoformat().replace("+00:00", "Z"),
        "accountId": org.org_id,
        "userId": 0,
        "entity": "LoyaltyPoints",
        "amount": 0,
    }
    assert response.headers["location"] == f"/imports/{body['id']}"
    job = await finished(client_api, str(body["id"]))
    assert {key: job[key] for key in ("status", "rowsRead", "rowsImported", "rowsRejected", "fileName")} == {
        "status": "DONE",
        "rowsRead": 2,
        "rowsImported": 2,
        "rowsRejected": 0,
        "fileName": "points.csv",
    }
    # The file's bytes only: the part's boundaries and the other field are not in it.
    assert job["bytesTotal"] == len(PROFILE_EXAMPLE)
    assert (await points_of(client_api, "EXTERNAL_ID", "URNGV8294NV"))["loyaltyPoints"] == "100"
    assert (await points_of(client_api, "EXTERNAL_ID", "TALON-2"))["loyaltyPoints"] == "40"
    assert uploads(tmp_path) == []  # the job's copy is gone once it ended
    await assert_reconciled(database)


async def test_the_program_is_found_by_its_numeric_id_as_talon_one_names_it(client_api, database, org):
    config = await org_config(database, org.org_id)
    program_id = config.program_by_code("main").id

    response = await post_points(client_api, multipart(PROFILE_EXAMPLE), program=str(program_id))

    assert response.status_code == 200, response.text
    job = await finished(client_api, str(response.json()["id"]))
    assert (job["status"], job["rowsImported"]) == ("DONE", 2)
    assert (await points_of(client_api, "EXTERNAL_ID", "TALON-2"))["loyaltyPoints"] == "40"


async def test_our_basic_header_is_accepted_as_well(client_api):
    response = await post_points(
        client_api, multipart(PROFILE_EXAMPLE), headers={"Authorization": client_api.credentials.header}
    )

    assert response.status_code == 200, response.text
    assert (await finished(client_api, str(response.json()["id"])))["rowsImported"] == 2


async def test_a_body_arriving_in_small_pieces_is_imported_the_same(client_api):
    body = multipart(PROFILE_EXAMPLE)

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):  # boundaries and headers cut across pieces
            yield body[start : start + 7]

    response = await post_points(client_api, b"", content=pieces())

    assert response.status_code == 200, response.text
    job = await finished(client_api, str(response.json()["id"]))
    assert (job["status"], job["rowsImported"], job["bytesTotal"]) == ("DONE", 2, len(PROFILE_EXAMPLE))
    assert (await points_of(client_api, "EXTERNAL_ID", "URNGV8294NV"))["loyaltyPoints"] == "100"


async def test_the_same_file_sent_again_answers_the_first_job_and_imports_nothing_more(client_api, database):
    first = await post_points(client_api, multipart(PROFILE_EXAMPLE))
    await finished(client_api, str(first.json()["id"]))

    again = await post_points(client_api, multipart(PROFILE_EXAMPLE, file_name="again.csv"))

    assert again.status_code == 200
    assert again.json() == {**first.json(), "amount": 2}
    assert await job_count(database) == 1
    assert (await points_of(client_api, "EXTERNAL_ID", "TALON-2"))["loyaltyPoints"] == "40"


# --- Refused requests: Talon.One's error shape, and nothing stored ------------------------------


async def test_an_unknown_program_is_404_and_nothing_is_stored(client_api, database, tmp_path):
    response = await post_points(client_api, multipart(PROFILE_EXAMPLE), program="nope")

    assert (response.status_code, response.json()) == (
        404,
        talon_error(404, "PROGRAM_NOT_FOUND", "no loyalty program 'nope' in this organisation", "programId"),
    )
    assert await job_count(database) == 0
    assert uploads(tmp_path) == []


async def test_a_request_without_an_upfile_part_is_400_and_nothing_is_stored(client_api, database, tmp_path):
    response = await post_points(client_api, multipart(PROFILE_EXAMPLE, field="file"))

    assert (response.status_code, response.json()) == (
        400,
        talon_error(400, "INVALID_INPUT", "the request has no upFile part (the CSV file)", "upFile"),
    )
    assert await job_count(database) == 0
    assert uploads(tmp_path) == []


async def test_a_body_that_is_not_multipart_is_400(client_api, database):
    response = await client_api.client.post(
        "/v1/loyalty_programs/main/import_points",
        content=PROFILE_EXAMPLE,
        headers={**management_key(client_api.credentials), "Content-Type": "text/csv"},
    )

    assert (response.status_code, response.json()) == (
        400,
        talon_error(400, "INVALID_INPUT", "send the file as multipart/form-data, in a part named upFile", "upFile"),
    )
    assert await job_count(database) == 0


async def test_a_body_cut_before_its_closing_boundary_is_400_and_nothing_is_stored(client_api, database, tmp_path):
    body = multipart(PROFILE_EXAMPLE)

    response = await post_points(client_api, body[: len(body) - 20])

    assert (response.status_code, response.json()) == (
        400,
        talon_error(400, "INVALID_INPUT", "the multipart body ends before its closing boundary", "upFile"),
    )
    assert await job_count(database) == 0
    assert uploads(tmp_path) == []


async def test_two_upfile_parts_are_400(client_api, database):
    one = multipart(PROFILE_EXAMPLE)
    body = one.replace(
        f"--{BOUNDARY}--".encode(),
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upFile"; filename="b.csv"\r\n\r\n'
        f"x\r\n--{BOUNDARY}--".encode(),
    )

    response = await post_points(client_api, body)

    assert (response.status_code, response.json()) == (
        400,
        talon_error(400, "INVALID_INPUT", "send one upFile part, not several", "upFile"),
    )
    assert await job_count(database) == 0


async def test_a_file_over_the_import_size_limit_is_413_and_nothing_is_stored(client_api, database, tmp_path):
    large = PROFILE_EXAMPLE + b"TALON-3,1,,,,\n" * 6000  # over the server's 64 KB

    response = await post_points(client_api, multipart(large))

    message = "the file is larger than the import size limit of 65,536 bytes"
    assert (response.status_code, response.json()) == (413, talon_error(413, "FILE_TOO_LARGE", message, "upFile"))
    assert await job_count(database) == 0
    assert uploads(tmp_path) == []


async def test_a_wrong_management_key_is_401_in_talon_ones_shape(client_api, database):
    wrong = Credentials(client_api.credentials.org_id, client_api.credentials.key_id, "not-the-secret")

    response = await post_points(client_api, multipart(PROFILE_EXAMPLE), headers=management_key(wrong))

    assert (response.status_code, response.json()) == (
        401,
        talon_error(
            401,
            "UNAUTHENTICATED",
            "Authentication required: ManagementKey-v1 KEY_ID:SECRET, or HTTP Basic.",
            None,
        ),
    )
    assert response.headers["www-authenticate"] == 'ManagementKey-v1 realm="pointledger"'
    assert await job_count(database) == 0


async def test_a_key_without_the_admin_role_is_403(client_api, database, org):
    member_care = await make_key(database, org.org_id, frozenset({Role.MEMBER_CARE}), "care")

    response = await post_points(client_api, multipart(PROFILE_EXAMPLE), headers=management_key(member_care))

    message = "POST /v1/loyalty_programs/main/import_points needs an API key with the role admin"
    assert (response.status_code, response.json()) == (403, talon_error(403, "FORBIDDEN", message, None))
    assert await job_count(database) == 0
