"""The imports' data access: templates, jobs (with their checkpoint and fencing token), and the
rejects and corrections of their rows.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables. What a batch runs
(store its rejects and corrections, move the checkpoint, read the job back) is built once, at
import; the guarded job updates return whether they matched, and the service decides what a
miss means (another runner took the job over). Functions return plain values and rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.models import Customer, CustomerIdentifier
from app.imports.models import ImportCorrection, ImportJob, ImportReject, ImportTemplate, JobStatus
from app.storage.database import any_of, list_parameter
from app.storage.tables import table_of

jobs = table_of(ImportJob)
rejects = table_of(ImportReject)
corrections = table_of(ImportCorrection)
templates = table_of(ImportTemplate)

# A job is RUNNING while a runner works on it, and stays RUNNING if the process dies: resumable.
RESUMABLE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
MESSAGE_CHARS_MAX = 500  # import_rejects.message, import_corrections.message

ZERO = Decimal(0)

# --- Statements built once --------------------------------------------------------------------

_TEMPLATE_BY_NAME = select(templates).where(
    templates.c.org_id == bindparam("org_id"), templates.c.name == bindparam("name")
)
_TEMPLATES_OF = select(templates).where(templates.c.org_id == bindparam("org_id")).order_by(templates.c.name)
_INSERT_TEMPLATE = insert(templates)
_CHANGE_TEMPLATE = (
    update(templates)
    .where(templates.c.id == bindparam("template_id"))
    .values(
        configuration=bindparam("new_configuration"),
        configuration_sha256=bindparam("new_sha256"),
        identity=bindparam("new_identity"),
        version=bindparam("new_version"),
        updated_at=bindparam("now"),
    )
)

_JOB_BY_ID = select(jobs).where(jobs.c.id == bindparam("job_id"))
_JOB_OF_ORG = select(jobs).where(jobs.c.id == bindparam("job_id"), jobs.c.org_id == bindparam("org_id"))
_JOB_BY_IMPORT_KEY = select(jobs).where(jobs.c.org_id == bindparam("org_id"), jobs.c.import_key == bindparam("key"))
_JOB_BY_DEDUPE_KEY = select(jobs).where(jobs.c.org_id == bindparam("org_id"), jobs.c.dedupe_key == bindparam("key"))
_RELEASE_DEDUPE_KEY = update(jobs).where(jobs.c.id == bindparam("job_id")).values(dedupe_key=None)
_INSERT_JOB = insert(jobs).returning(jobs.c.id)
_UNFINISHED = select(jobs.c.id).where(jobs.c.status.in_(RESUMABLE)).order_by(jobs.c.id)
_CLAIM = (
    update(jobs)
    .where(jobs.c.id == bindparam("job_id"), or_(jobs.c.status.in_(RESUMABLE), jobs.c.error_code == "INTERNAL_ERROR"))
    .values(
        attempt=jobs.c.attempt + 1,
        status=JobStatus.RUNNING.value,
        error_code=None,
        error_message=None,
        started_at=bindparam("start"),
        updated_at=bindparam("now"),
    )
    .returning(jobs.c.attempt)
)
# Bound names differ from the columns an UPDATE sets (SQLAlchemy keeps those for itself).
_HELD = (jobs.c.id == bindparam("job_id"), jobs.c.attempt == bindparam("held_attempt"))
_RESET_PROGRESS = (
    update(jobs)
    .where(*_HELD)
    .values(
        bytes_read=0,
        rows_read=0,
        rows_imported=0,
        rows_rejected=0,
        customers_created=0,
        points_imported=ZERO,
        points_expired=ZERO,
    )
)
_DELETE_REJECTS = delete(rejects).where(rejects.c.job_id == bindparam("job_id"))
_DELETE_CORRECTIONS = delete(corrections).where(corrections.c.job_id == bindparam("job_id"))
_INSERT_REJECTS = insert(rejects)
_INSERT_CORRECTIONS = insert(corrections)


def _advance(*, from_checkpoint: bool) -> Any:
    """A batch's move of the job: only while the runner's attempt holds it and it is RUNNING, and
    with `from_checkpoint` only from the checkpoint the batch started at."""
    statement = update(jobs).where(*_HELD, jobs.c.status == JobStatus.RUNNING.value)
    if from_checkpoint:
        statement = statement.where(jobs.c.bytes_read == bindparam("expected_offset"))
    return statement.values(
        bytes_read=bindparam("checkpoint"),
        rows_read=bindparam("rows_read_total"),
        rows_imported=jobs.c.rows_imported + bindparam("imported", type_=jobs.c.rows_imported.type),
        rows_rejected=jobs.c.rows_rejected + bindparam("rejected", type_=jobs.c.rows_rejected.type),
        customers_created=jobs.c.customers_created + bindparam("created", type_=jobs.c.customers_created.type),
        points_imported=jobs.c.points_imported + bindparam("points", type_=jobs.c.points_imported.type),
        points_expired=jobs.c.points_expired + bindparam("expired", type_=jobs.c.points_expired.type),
        updated_at=bindparam("now"),
    )


_ADVANCE = {from_checkpoint: _advance(from_checkpoint=from_checkpoint) for from_checkpoint in (False, True)}

_COUNT_REJECTS = select(func.count()).select_from(rejects).where(rejects.c.job_id == bindparam("job_id"))
_COUNT_CORRECTIONS = select(func.count()).select_from(corrections).where(corrections.c.job_id == bindparam("job_id"))

# PostgreSQL: many advisory locks in one statement, in sorted order (SQLite's writer lock covers it).
_ADVISORY_LOCKS = text(
    "SELECT count(pg_advisory_xact_lock(hashtextextended(key, 0))) FROM "
    "(SELECT key FROM unnest(CAST(:keys AS text[])) AS key ORDER BY key) AS sorted_keys"
)


# --- Templates --------------------------------------------------------------------------------


async def template_by_name(connection: AsyncConnection, *, org_id: int, name: str) -> Any:
    """The template's row (all its columns), None when the org has none of this name."""
    return (await connection.execute(_TEMPLATE_BY_NAME, {"org_id": org_id, "name": name})).one_or_none()


async def templates_of(connection: AsyncConnection, org_id: int) -> list[Any]:
    """The org's templates by name: rows of all their columns."""
    return list((await connection.execute(_TEMPLATES_OF, {"org_id": org_id})).all())


async def insert_template(
    connection: AsyncConnection,
    *,
    org_id: int,
    name: str,
    profile: str,
    configuration: Mapping[str, Any],
    configuration_sha256: str,
    identity: str,
    now: datetime,
) -> None:
    """A template's first version."""
    await connection.execute(
        _INSERT_TEMPLATE,
        {
            "org_id": org_id,
            "name": name,
            "profile": profile,
            "configuration": configuration,
            "configuration_sha256": configuration_sha256,
            "identity": identity,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        },
    )


async def change_template(
    connection: AsyncConnection,
    template_id: int,
    *,
    configuration: Mapping[str, Any],
    configuration_sha256: str,
    identity: str,
    version: int,
    now: datetime,
) -> None:
    """A template's new version: its configuration and identity."""
    await connection.execute(
        _CHANGE_TEMPLATE,
        {
            "template_id": template_id,
            "new_configuration": configuration,
            "new_sha256": configuration_sha256,
            "new_identity": identity,
            "new_version": version,
            "now": now,
        },
    )


# --- Jobs -------------------------------------------------------------------------------------


async def job_by_id(connection: AsyncConnection, job_id: int) -> Any:
    """The job's row (all its columns), None when there is no such job."""
    return (await connection.execute(_JOB_BY_ID, {"job_id": job_id})).one_or_none()


async def job_of_org(connection: AsyncConnection, *, org_id: int, job_id: int) -> Any:
    """The job's row when it is the org's, else None."""
    return (await connection.execute(_JOB_OF_ORG, {"job_id": job_id, "org_id": org_id})).one_or_none()


async def job_by_import_key(connection: AsyncConnection, *, org_id: int, import_key: str) -> Any:
    return (await connection.execute(_JOB_BY_IMPORT_KEY, {"org_id": org_id, "key": import_key})).one_or_none()


async def job_by_dedupe_key(connection: AsyncConnection, *, org_id: int, dedupe_key: str) -> Any:
    return (await connection.execute(_JOB_BY_DEDUPE_KEY, {"org_id": org_id, "key": dedupe_key})).one_or_none()


async def release_dedupe_key(connection: AsyncConnection, job_id: int) -> None:
    """The job no longer holds its file: submitting the file again makes a new job."""
    await connection.execute(_RELEASE_DEDUPE_KEY, {"job_id": job_id})


async def insert_job(
    connection: AsyncConnection,
    *,
    org_id: int,
    profile: str,
    template_id: int | None,
    template_identity: str,
    configuration: Mapping[str, Any],
    phase: str,
    dry_run: bool,
    error_policy: str,
    file_name: str | None,
    file_path: str,
    file_sha256: str,
    file_size_bytes: int,
    import_key: str | None,
    dedupe_key: str | None,
    now: datetime,
) -> int:
    """A new QUEUED job with nothing read yet; returns its id."""
    values = {
        "org_id": org_id,
        "profile": profile,
        "template_id": template_id,
        "template_identity": template_identity,
        "configuration": configuration,
        "status": JobStatus.QUEUED.value,
        "phase": phase,
        "dry_run": dry_run,
        "error_policy": error_policy,
        "file_name": file_name,
        "file_path": file_path,
        "file_sha256": file_sha256,
        "file_size_bytes": file_size_bytes,
        "import_key": import_key,
        "dedupe_key": dedupe_key,
        "attempt": 0,
        "bytes_read": 0,
        "rows_read": 0,
        "rows_imported": 0,
        "rows_rejected": 0,
        "customers_created": 0,
        "points_imported": ZERO,
        "points_expired": ZERO,
        "created_at": now,
        "updated_at": now,
    }
    return (await connection.execute(_INSERT_JOB, values)).scalar_one()


async def claim_job(connection: AsyncConnection, job_id: int, *, started_at: datetime, now: datetime) -> int | None:
    """Take a resumable job (or one failed by an internal error) over: RUNNING under a new attempt
    number, which fences off every runner that claimed it before. Returns that number, None when
    the job has finished meanwhile."""
    parameters = {"job_id": job_id, "start": started_at, "now": now}
    return (await connection.execute(_CLAIM, parameters)).scalar_one_or_none()


async def reset_progress(connection: AsyncConnection, job_id: int, *, attempt: int) -> bool:
    """Back to nothing read, nothing rejected (a validation pass starts from the top), while
    `attempt` holds the job; False when it does not."""
    return (await connection.execute(_RESET_PROGRESS, {"job_id": job_id, "held_attempt": attempt})).rowcount == 1


async def forget_rows(connection: AsyncConnection, job_id: int) -> None:
    """Delete the job's rejects and corrections."""
    await connection.execute(_DELETE_REJECTS, {"job_id": job_id})
    await connection.execute(_DELETE_CORRECTIONS, {"job_id": job_id})


async def update_job(
    connection: AsyncConnection, job_id: int, *, attempt: int, now: datetime, changes: Mapping[str, Any]
) -> bool:
    """Set these columns while `attempt` holds the job (a few times a job: its header, its phase,
    its end); False when it does not."""
    statement = update(jobs).where(jobs.c.id == job_id, jobs.c.attempt == attempt).values(updated_at=now, **changes)
    return (await connection.execute(statement)).rowcount == 1


async def advance_job(
    connection: AsyncConnection,
    job_id: int,
    *,
    attempt: int,
    expected_offset: int | None,
    bytes_read: int,
    rows_read: int,
    imported: int,
    rejected: int,
    customers_created: int,
    points: Decimal,
    points_expired: Decimal,
    now: datetime,
) -> bool:
    """Move a RUNNING job past a batch: its checkpoint, and its totals by what the batch did; only
    while `attempt` holds the job and, with `expected_offset`, only from that checkpoint. False
    when it did not match (the batch must roll back)."""
    parameters: dict[str, Any] = {
        "job_id": job_id,
        "held_attempt": attempt,
        "checkpoint": bytes_read,
        "rows_read_total": rows_read,
        "imported": imported,
        "rejected": rejected,
        "created": customers_created,
        "points": points,
        "expired": points_expired,
        "now": now,
    }
    if expected_offset is not None:
        parameters["expected_offset"] = expected_offset
    return (await connection.execute(_ADVANCE[expected_offset is not None], parameters)).rowcount == 1


async def unfinished_job_ids(connection: AsyncConnection) -> list[int]:
    """Jobs queued, or left running (all orgs), by id."""
    return list((await connection.execute(_UNFINISHED)).scalars())


async def jobs_page(
    connection: AsyncConnection, *, org_id: int, limit: int, before_id: int | None, status: JobStatus | None
) -> list[Any]:
    """The org's jobs newest first by id (keyset: before `before_id`), at most `limit`, of one
    status when given: rows of all their columns."""
    query = select(jobs).where(jobs.c.org_id == org_id)
    if before_id is not None:
        query = query.where(jobs.c.id < before_id)
    if status is not None:
        query = query.where(jobs.c.status == status.value)
    return list((await connection.execute(query.order_by(jobs.c.id.desc()).limit(limit))).all())


# --- Rejects and corrections ------------------------------------------------------------------


async def insert_rejects(
    connection: AsyncConnection,
    *,
    org_id: int,
    job_id: int,
    rows: Iterable[tuple[int, str | None, str, str, list[str]]],
) -> None:
    """Rejected rows: (row number, column, code, message, the row's fields as kept), in one
    executemany. Messages are cut to what the column holds."""
    await connection.execute(
        _INSERT_REJECTS,
        [
            {
                "org_id": org_id,
                "job_id": job_id,
                "row_number": row_number,
                "column": column,
                "code": code,
                "message": message[:MESSAGE_CHARS_MAX],
                "original": original,
            }
            for row_number, column, code, message, original in rows
        ],
    )


async def insert_corrections(
    connection: AsyncConnection, *, org_id: int, job_id: int, rows: Iterable[tuple[int, str | None, str, str]]
) -> None:
    """Corrections: (row number, column, code, message), in one executemany."""
    await connection.execute(
        _INSERT_CORRECTIONS,
        [
            {
                "org_id": org_id,
                "job_id": job_id,
                "row_number": row_number,
                "column": column,
                "code": code,
                "message": message[:MESSAGE_CHARS_MAX],
            }
            for row_number, column, code, message in rows
        ],
    )


async def rejects_page(connection: AsyncConnection, job_id: int, *, limit: int, after_row: int | None) -> list[Any]:
    """The job's rejects in file order (keyset: after row `after_row`), at most `limit`: rows
    (row_number, column, code, message, original)."""
    query = select(rejects.c.row_number, rejects.c.column, rejects.c.code, rejects.c.message, rejects.c.original).where(
        rejects.c.job_id == job_id
    )
    if after_row is not None:
        query = query.where(rejects.c.row_number > after_row)
    return list((await connection.execute(query.order_by(rejects.c.row_number).limit(limit))).all())


async def corrections_page(connection: AsyncConnection, job_id: int, *, limit: int, after_id: int | None) -> list[Any]:
    """The job's corrections in file order (keyset by id: written batch by batch, in row order),
    at most `limit`: rows (id, row_number, column, code, message)."""
    query = select(
        corrections.c.id, corrections.c.row_number, corrections.c.column, corrections.c.code, corrections.c.message
    ).where(corrections.c.job_id == job_id)
    if after_id is not None:
        query = query.where(corrections.c.id > after_id)
    return list((await connection.execute(query.order_by(corrections.c.id).limit(limit))).all())


async def count_rejects(connection: AsyncConnection, job_id: int) -> int:
    return (await connection.execute(_COUNT_REJECTS, {"job_id": job_id})).scalar_one()


async def count_corrections(connection: AsyncConnection, job_id: int) -> int:
    return (await connection.execute(_COUNT_CORRECTIONS, {"job_id": job_id})).scalar_one()


# --- What a batch needs of the database itself --------------------------------------------------


async def lock_keys_at_once(connection: AsyncConnection, keys: Sequence[str]) -> None:
    """PostgreSQL: transaction-scoped advisory locks on all these keys in one statement, taken in
    sorted order (as `app.storage.database.lock_keys` takes them one statement each). SQLite's
    one writer already holds the lock."""
    if connection.dialect.name == "postgresql" and keys:
        await connection.execute(_ADVISORY_LOCKS, {"keys": sorted(set(keys))})


async def enlarge_page_cache(connection: AsyncConnection, size_kib: int) -> None:
    """SQLite: this connection's page cache (the writer keeps the ledger's index pages a large
    import keeps touching)."""
    await connection.exec_driver_sql(f"PRAGMA cache_size=-{int(size_kib)}")


@lru_cache(maxsize=4)
def _identifier_owners_statement(dialect: str) -> Any:
    customers, identifiers = table_of(Customer), table_of(CustomerIdentifier)
    return text(
        "SELECT identifiers.value, identifiers.customer_id, customers.merged_into_customer_id "
        f"FROM {identifiers.name} identifiers "
        f"JOIN {customers.name} customers ON customers.id = identifiers.customer_id "
        "WHERE identifiers.org_id = :org_id AND identifiers.type = :type "
        f"AND identifiers.value {any_of(dialect, 'values')}"
    )


async def identifier_owners(
    connection: AsyncConnection, *, org_id: int, kind: str, values: Sequence[str]
) -> dict[str, tuple[int, int | None]]:
    """The owners of identifiers of one kind, by value: (customer id, whom they were merged into
    or None); unknown values are absent. One statement for the batch's values (bound as one
    list), where looking the owners up and then their merges took two."""
    if not values:
        return {}
    dialect = connection.dialect.name
    parameters = {"org_id": org_id, "type": kind, "values": list_parameter(dialect, values)}
    rows = await connection.execute(_identifier_owners_statement(dialect), parameters)
    return {value: (customer_id, merged_into) for value, customer_id, merged_into in rows}
