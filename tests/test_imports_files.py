"""Imports of large and broken files: exact counts and row numbers, exactly once, resume after
a crash, and a specific report for every kind of bad file."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.customers.models import CustomerHistory, CustomerIdentifier, HistoryAction
from app.http.app import create_app
from app.imports import service
from app.imports.errors import ImportInterruptedError
from app.imports.models import ErrorPolicy, JobStatus
from app.imports.reader import FIELD_CHARS_MAX
from app.kernel.settings import Settings
from app.ledger import repository as ledger_repository
from app.ledger.models import EventType
from tests.client import Api, add_transaction
from tests.conftest import import_server, make_org
from tests.factories import bill, org_spec
from tests.import_checks import balances, finished, post_csv, submit_local
from tests.ledger_checks import assert_reconciled, count_events

identifiers = CustomerIdentifier.__table__
history = CustomerHistory.__table__

BAD_ROWS = [  # (row text, column, code): one of these every 20 rows
    ("C-{c},abc,,,,x", "amount", "INVALID_AMOUNT"),
    ("C-{c},-4,,,,x", "amount", "INVALID_AMOUNT"),
    (",5,,,,x", "customerprofileid", "MISSING_VALUE"),
    ("C-{c},5,2024-13-01T00:00:00Z,,,x", "startdate", "INVALID_START_DATE"),
    ("C-{c},5,2030-01-01T00:00:00Z,2029-01-01T00:00:00Z,,x", "expirydate", "INVALID_EXPIRY_DATE"),
    ("C-{c},5,,,,x,extra", None, "WRONG_FIELD_COUNT"),
    ("C-{c},2.5,,,,x", "amount", "INVALID_AMOUNT"),  # the program keeps whole points
    ("C-{c},5,2030-01-01,,,x", "startdate", "INVALID_START_DATE"),  # no time, no offset
]


def ten_thousand_rows() -> tuple[bytes, dict[str, Decimal], list[tuple[int, str | None, str]]]:
    """10,000 rows (BOM, CRLF, quoted commas and newlines, 5% bad, duplicates); the points each
    customer should get, and the rejects expected (row number, column, code)."""
    lines = ["customerprofileid,amount,startdate,expirydate,subledgerid,reason"]
    expected: dict[str, Decimal] = defaultdict(Decimal)
    rejects: list[tuple[int, str | None, str]] = []
    previous = ""
    for index in range(10_000):
        row_number = index + 2
        customer = f"C-{index % 3000}"
        if index % 20 == 7:
            text, column, code = BAD_ROWS[(index // 20) % len(BAD_ROWS)]
            lines.append(text.format(c=index % 3000))
            rejects.append((row_number, column, code))
            continue
        if index % 100 == 51:  # an exact duplicate of the row before: imported again (two awards)
            line = previous
            customer = line.split(",")[0]
            amount = Decimal(line.split(",")[1])
        else:
            amount = Decimal(index % 50 + 1)
            start = "2099-06-01T10:00:00+02:00" if index % 10 == 3 else ("immediate" if index % 2 else "")
            expiry = "2100-01-01T00:00:00Z" if index % 5 == 0 else ("unlimited" if index % 3 else "")
            ledger_code = "partner" if index % 7 == 0 else ""
            reason = f'"bonus, row {index}"' if index % 4 else f'"two\r\nlines ""{index}"""'
            line = f"{customer},{amount},{start},{expiry},{ledger_code},{reason}"
        lines.append(line)
        previous = line
        expected[customer] += amount
    return "\ufeff".encode() + "\r\n".join(lines).encode() + b"\r\n", dict(expected), rejects


async def all_rejects(api: Api, job_id: str) -> list[tuple[int, str | None, str]]:
    job = await finished(api, job_id, first=100)
    found = [(r["rowNumber"], r["column"], r["code"]) for r in job["rejects"]["rejects"]]
    cursor = job["rejects"]["pageInfo"]["endCursor"] if job["rejects"]["pageInfo"]["hasNextPage"] else None
    while cursor is not None:
        page = (
            await api.data(
                "query($id: ID!, $after: String) { importJob(id: $id) { rejects(first: 100, after: $after) "
                "{ rejects { rowNumber column code } pageInfo { hasNextPage endCursor } } } }",
                {"id": job_id, "after": cursor},
            )
        )["importJob"]["rejects"]
        found.extend((r["rowNumber"], r["column"], r["code"]) for r in page["rejects"])
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    return found


@pytest.fixture
async def big_api(database, tmp_path: Path, clock, org) -> AsyncIterator[Api]:
    """The org's Api on a server that takes import files up to 4 MB."""
    size_limit = 4 * 1024 * 1024
    async with import_server(database, tmp_path, clock, size_limit_bytes=size_limit, client_timeout=120) as client:
        yield Api(client, org, database, clock)


async def test_ten_thousand_rows_import_exactly_the_valid_ones_and_report_every_bad_one(big_api, database, org):
    body, expected, expected_rejects = ten_thousand_rows()

    response = await post_csv(big_api, body)
    job = await finished(big_api, str(response.json()["job"]["id"]))

    assert {key: job[key] for key in ("status", "rowsRead", "rowsImported", "rowsRejected", "customersCreated")} == {
        "status": "DONE",
        "rowsRead": 10_000,
        "rowsImported": 9_500,
        "rowsRejected": 500,
        "customersCreated": len(expected),
    }
    assert len(expected) == 2820  # 150 of the 3,000 names appear in bad rows only, 30 in duplicates only
    assert Decimal(job["pointsImported"]) == sum(expected.values())
    assert job["bytesRead"] == len(body)
    assert await all_rejects(big_api, job["id"]) == expected_rejects
    assert await balances(database, org.org_id) == expected
    assert await count_events(database, EventType.POINTS_IMPORT) == 9_500
    await assert_reconciled(database)

    again = await post_csv(big_api, body)
    assert (again.status_code, again.json()["existing"], again.json()["job"]["id"]) == (200, True, int(job["id"]))
    assert await balances(database, org.org_id) == expected
    assert await count_events(database, EventType.POINTS_IMPORT) == 9_500


async def test_an_import_killed_mid_file_resumes_to_the_same_totals_as_an_uninterrupted_one(
    database, org, tmp_path, clock
):
    body, expected, _ = ten_thousand_rows()
    path = tmp_path / "points.csv"
    path.write_bytes(body)
    other = await make_org(database, org_spec("other"))

    uninterrupted = await service.run_job(
        database,
        (await submit_local(database, other.org_id, path)).id,
        service.RunOptions(batch_size=700),
        clock=clock,
    )

    def crash_after_three(batches: int) -> None:
        if batches == 3:
            raise ImportInterruptedError("killed")

    job = await submit_local(database, org.org_id, path)
    with pytest.raises(ImportInterruptedError):
        await service.run_job(
            database, job.id, service.RunOptions(batch_size=700, after_batch=crash_after_three), clock=clock
        )
    async with database.read() as connection:
        crashed = await service.get_job(connection, org.org_id, job.id)
    assert crashed is not None
    assert crashed.status is JobStatus.RUNNING
    assert 0 < crashed.bytes_read < len(body)
    assert crashed.rows_read < 10_000
    assert await service.unfinished_jobs(database) == [job.id]
    await assert_reconciled(database)

    resumed = await service.run_job(database, job.id, service.RunOptions(batch_size=700), clock=clock)

    totals = (
        "status",
        "bytes_read",
        "rows_read",
        "rows_imported",
        "rows_rejected",
        "customers_created",
        "points_imported",
    )
    assert [getattr(resumed, name) for name in totals] == [getattr(uninterrupted, name) for name in totals]
    assert resumed.rows_imported == 9_500
    assert await balances(database, org.org_id) == expected == await balances(database, other.org_id)
    async with database.read() as connection:
        assert await service.count_rejects(connection, job.id) == 500
    await assert_reconciled(database)
    # Done is done: running it again changes nothing.
    assert (await service.run_job(database, job.id, clock=clock)).rows_imported == 9_500
    assert await count_events(database, EventType.POINTS_IMPORT) == 2 * 9_500


async def test_two_runners_of_one_job_cannot_apply_the_same_batch(database, org, tmp_path, clock):
    path = tmp_path / "points.csv"
    path.write_bytes(b"customerprofileid,amount\n" + b"".join(f"R-{i},1\n".encode() for i in range(3000)))
    job = await submit_local(database, org.org_id, path)

    results = await asyncio.gather(
        *(service.run_job(database, job.id, service.RunOptions(batch_size=500), clock=clock) for _ in range(2)),
        return_exceptions=True,
    )

    assert any(isinstance(result, service.JobView) and result.status is JobStatus.DONE for result in results)
    async with database.read() as connection:
        final = await service.get_job(connection, org.org_id, job.id)
    assert final is not None
    assert (final.status, final.rows_imported) == (JobStatus.DONE, 3000)
    assert await count_events(database, EventType.POINTS_IMPORT) == 3000
    await assert_reconciled(database)


async def test_an_import_and_purchases_registering_the_same_new_customers_run_side_by_side(
    database, org, api, tmp_path, clock
):
    """Concurrency is normal: while an import registers customers batch by batch, bills register
    some of the same external ids. Each id ends as one customer, every row and every bill is
    posted once, nothing fails, and the ledger reconciles."""
    keys = [f"RACE-{index:02d}" for index in range(60)]
    path = tmp_path / "points.csv"
    # 300 rows: every key five times, spread over the file, so later batches name customers
    # registered meanwhile by a bill or by an earlier batch.
    path.write_bytes(b"customerprofileid,amount\n" + b"".join(f"{key},1\n".encode() for _ in range(5) for key in keys))
    job = await submit_local(database, org.org_id, path)

    outcome, *bills = await asyncio.gather(
        service.run_job(database, job.id, service.RunOptions(batch_size=20), clock=clock),
        *(add_transaction(api, bill(customer={"externalId": key})) for key in keys[::2]),
    )

    assert (outcome.status, outcome.rows_imported, outcome.rows_rejected) == (JobStatus.DONE, 300, 0)
    assert [added["__typename"] for added in bills] == ["TransactionAdded"] * 30
    async with database.read() as connection:
        owners = dict(
            (
                await connection.execute(
                    select(identifiers.c.value, identifiers.c.customer_id).where(
                        identifiers.c.org_id == org.org_id, identifiers.c.value.like("RACE-%")
                    )
                )
            ).all()
        )
        imported = dict(
            (
                await connection.execute(
                    select(ledger_repository.entries.c.customer_id, func.sum(ledger_repository.entries.c.points))
                    .where(ledger_repository.entries.c.event_type == EventType.POINTS_IMPORT.value)
                    .group_by(ledger_repository.entries.c.customer_id)
                )
            ).all()
        )
        registrations = (
            await connection.execute(
                select(history.c.customer_id, history.c.details).where(
                    history.c.customer_id.in_(list(owners.values())), history.c.action == HistoryAction.REGISTERED.value
                )
            )
        ).all()
    assert sorted(owners) == keys
    assert len(set(owners.values())) == 60
    assert imported == {customer_id: Decimal(5) for customer_id in owners.values()}  # 5 rows of 1 point each
    # Each registered once, by the import or by a bill: the import registered every key no bill
    # names, and exactly as many customers as its job counts.
    assert sorted(customer_id for customer_id, _ in registrations) == sorted(owners.values())
    by_import = {customer_id for customer_id, details in registrations if details.get("import_job_id") == job.id}
    assert len(by_import) == outcome.customers_created
    assert {key for key, customer_id in owners.items() if customer_id not in by_import} <= set(keys[::2])
    await assert_reconciled(database)


@pytest.mark.parametrize("taken_over", ["while validating", "while importing"])
async def test_a_runner_taken_over_by_a_second_one_stops_and_nothing_is_imported_twice(
    database, org, tmp_path, taken_over, clock
):
    """REJECT_FILE: runner A pauses (after a validation batch, or after its first import batch);
    runner B claims the job and dies after importing one batch; A then resumes its loop and must
    stop without writing (before the fence it re-validated, zeroed the checkpoint and imported B's
    batch again); a third runner finishes the job to the totals of an uninterrupted import."""
    path = tmp_path / "points.csv"
    path.write_bytes(b"customerprofileid,amount\n" + b"".join(f"T-{i},{1 + i % 3}\n".encode() for i in range(3000)))
    other = await make_org(database, org_spec("other"))
    uninterrupted = await service.run_job(
        database,
        (await submit_local(database, other.org_id, path, error_policy=ErrorPolicy.REJECT_FILE)).id,
        service.RunOptions(batch_size=500),
        clock=clock,
    )
    job = await submit_local(database, org.org_id, path, error_policy=ErrorPolicy.REJECT_FILE)

    def die_after_one(batches: int) -> None:
        raise ImportInterruptedError("killed")

    second_ran = False

    async def run_second(_: Any) -> None:
        nonlocal second_ran
        if second_ran:
            return
        second_ran = True
        with pytest.raises(ImportInterruptedError):
            await service.run_job(
                database, job.id, service.RunOptions(batch_size=500, after_batch=die_after_one), clock=clock
            )

    async def pause_while_validating(progress: service.JobView) -> None:
        if progress.phase.value == "VALIDATING":
            await run_second(progress)

    options = (
        service.RunOptions(batch_size=500, on_progress=pause_while_validating)
        if taken_over == "while validating"
        else service.RunOptions(batch_size=500, after_batch=run_second)
    )
    with pytest.raises(ImportInterruptedError):
        await service.run_job(database, job.id, options, clock=clock)
    assert second_ran
    async with database.read() as connection:
        left = await service.get_job(connection, org.org_id, job.id)
    # What the second runner left: its one imported batch; the first wrote nothing after it.
    assert left is not None
    assert (left.status, left.phase.value, left.rows_read, left.rows_imported) == (
        JobStatus.RUNNING,
        "IMPORTING",
        (1000 if taken_over == "while importing" else 500),
        (1000 if taken_over == "while importing" else 500),
    )
    await assert_reconciled(database)

    finished_job = await service.run_job(database, job.id, service.RunOptions(batch_size=500), clock=clock)

    totals = (
        "status",
        "bytes_read",
        "rows_read",
        "rows_imported",
        "rows_rejected",
        "customers_created",
        "points_imported",
    )
    assert [getattr(finished_job, name) for name in totals] == [getattr(uninterrupted, name) for name in totals]
    assert await balances(database, org.org_id) == await balances(database, other.org_id)
    assert await count_events(database, EventType.POINTS_IMPORT) == 2 * 3000
    await assert_reconciled(database)


# --- Bad files --------------------------------------------------------------------------------

BAD_FILES = [
    (b"", "EMPTY_FILE", "the file is empty: it needs a header row and at least one row"),
    (b"\xef\xbb\xbf\r\n\r\n", "EMPTY_FILE", "the file is empty: it needs a header row and at least one row"),
    (b"customerprofileid,amount\r\n", "NO_ROWS", "the file has a header but no rows"),
    (b"customerprofileid,startdate\nA,immediate\n", "MISSING_COLUMN", "the header lacks the column 'amount'"),
    (b"amount\n5\n", "MISSING_COLUMN", "the header needs one of the columns customerprofileid or identifier"),
    (
        b"customerprofileid,identifier,amount\nA,B,5\n",
        "CONFLICTING_COLUMNS",
        "the header has both customerprofileid and identifier: use one",
    ),
    (
        b"customerprofileid,amount,points\nA,5,5\n",
        "UNKNOWN_COLUMN",
        "unknown column 'points'; the columns are: "
        "amount, customerprofileid, expirydate, identifier, reason, startdate, subledgerid",
    ),
    (b"customerprofileid,amount,Amount\nA,5,5\n", "DUPLICATE_COLUMN", "column 'amount' appears twice in the header"),
    (
        b"customerprofileid,amount\nA,5\nB,5\nM\xfcller,5\n",
        "INVALID_ENCODING",
        "row 4 is not UTF-8 (byte 35 of the file): save the file as UTF-8",
    ),
    (
        b'customerprofileid,amount\nA,5\n"B"x,5\n',
        "MALFORMED_CSV",
        "row 3 is not valid CSV: ',' expected after '\"' (near byte 36)",
    ),
    (
        b'customerprofileid,amount\nA,5\n"B,5\n',
        "MALFORMED_CSV",
        "row 3 is not valid CSV: unexpected end of data (near byte 34)",
    ),
]


@pytest.mark.parametrize(
    ("body", "code", "message"), BAD_FILES, ids=[case[1] + str(i) for i, case in enumerate(BAD_FILES)]
)
async def test_a_bad_file_fails_its_job_with_a_specific_code_and_imports_nothing(
    big_api, database, body, code, message
):
    response = await post_csv(big_api, body)

    assert response.status_code == 202, response.text
    job = await finished(big_api, str(response.json()["job"]["id"]))
    assert (job["status"], job["errorCode"], job["errorMessage"], job["rowsImported"]) == ("FAILED", code, message, 0)
    assert await count_events(database, EventType.POINTS_IMPORT) == 0
    async with database.read() as connection:
        assert (await connection.execute(select(func.count()).select_from(identifiers))).scalar_one() == 0


@pytest.mark.parametrize(
    ("header", "code", "message"),
    [
        (
            "customerprofileid,amount,{name}",
            "UNKNOWN_COLUMN",
            "unknown column {quoted}; the columns are: amount, "
            "customerprofileid, expirydate, identifier, reason, startdate, subledgerid",
        ),
        ("customerprofileid,amount,{name},{name}", "DUPLICATE_COLUMN", "column {quoted} appears twice in the header"),
    ],
)
async def test_a_5000_character_column_name_fails_the_job_with_its_start_quoted(
    big_api, database, header, code, message
):
    # The whole name in the message was longer than error_message's column: PostgreSQL refused
    # the job's final update and left it RUNNING.
    name = "z" * 5000
    body = (header.format(name=name) + "\nA,5" + ",5" * header.count("{name}") + "\n").encode()
    response = await post_csv(big_api, body)

    assert response.status_code == 202, response.text
    job = await finished(big_api, str(response.json()["job"]["id"]))
    quoted = repr("z" * 100) + "... (5,000 characters)"
    assert (job["status"], job["errorCode"], job["errorMessage"], job["rowsImported"]) == (
        "FAILED",
        code,
        message.format(quoted=quoted),
        0,
    )
    assert await count_events(database, EventType.POINTS_IMPORT) == 0


async def test_a_bad_encoding_late_in_the_file_fails_it_before_any_batch_is_written(database, org, tmp_path, clock):
    path = tmp_path / "points.csv"
    path.write_bytes(
        b"customerprofileid,amount\n" + b"".join(f"E-{i},1\n".encode() for i in range(5000)) + b"\xff\xfe,1\n"
    )
    job = await submit_local(database, org.org_id, path, error_policy=ErrorPolicy.KEEP_VALID)

    ended = await service.run_job(database, job.id, service.RunOptions(batch_size=500), clock=clock)

    assert (ended.status, ended.error_code, ended.rows_imported) == (JobStatus.FAILED, "INVALID_ENCODING", 0)
    assert await count_events(database, EventType.POINTS_IMPORT) == 0


async def test_a_200_kb_field_rejects_its_row_and_the_rest_imports(big_api, database):
    huge = "x" * 200_000
    body = f'customerprofileid,amount,reason\nA-1,5,ok\nA-2,5,"{huge}"\nA-3,5,ok\n'.encode()

    job = await finished(big_api, str((await post_csv(big_api, body)).json()["job"]["id"]))

    assert (job["status"], job["rowsImported"], job["rowsRejected"]) == ("DONE", 2, 1)
    [reject] = job["rejects"]["rejects"]
    assert (reject["rowNumber"], reject["column"], reject["code"], reject["message"]) == (
        3,
        "reason",
        "FIELD_TOO_LONG",
        f"200,000 characters; a field has at most {FIELD_CHARS_MAX:,}",
    )
    assert reject["original"][2] == "x" * 1000 + "...[cut 199,000 characters]"


async def test_a_file_over_the_size_limit_is_refused_while_it_uploads(big_api, database, tmp_path):
    body = b"customerprofileid,amount\n" + b"S-1,1\n" * 800_000  # 4.8 MB, over the 4 MiB limit

    async def chunked():  # no content-length: the limit is enforced while reading the stream
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    declared = await post_csv(big_api, body)
    streamed = await big_api.client.post(
        "/imports/points",
        content=chunked(),
        params={"program": "main"},
        headers={"Authorization": big_api.credentials.header},
    )

    for response in (declared, streamed):
        assert (response.status_code, response.json()["error"]) == (
            413,
            {
                "code": "FILE_TOO_LARGE",
                "message": "the file is larger than the import size limit of 4,194,304 bytes",
                "field": "file",
            },
        )
    assert list((tmp_path / "imports" / "uploads").glob("*")) == []
    jobs = (await big_api.data("{ importJobs { jobs { id } } }"))["importJobs"]["jobs"]
    assert jobs == []


async def test_the_server_resumes_an_import_a_crash_left_running_when_it_starts(database, org, tmp_path, clock):
    path = tmp_path / "points.csv"
    path.write_bytes(b"customerprofileid,amount\n" + b"".join(f"S-{i},2\n".encode() for i in range(2500)))
    job = await submit_local(database, org.org_id, path)

    def crash(batches: int) -> None:
        raise ImportInterruptedError("killed")

    with pytest.raises(ImportInterruptedError):
        await service.run_job(database, job.id, service.RunOptions(batch_size=1000, after_batch=crash), clock=clock)

    app = create_app(
        Settings(database_url=database.url, import_directory=str(tmp_path / "imports"), maintenance_interval_seconds=0),
        database=database,
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        await app.state.services.imports.wait(job.id)

    async with database.read() as connection:
        resumed = await service.get_job(connection, org.org_id, job.id)
    assert resumed is not None
    assert (resumed.status, resumed.rows_read, resumed.rows_imported) == (
        JobStatus.DONE,
        2500,
        2500,
    )
    assert await balances(database, org.org_id) == {f"S-{i}": Decimal(2) for i in range(2500)}
    await assert_reconciled(database)
