"""Import use cases: store a file, submit a job (exactly once), run it in batches (resumable),
read jobs and their rejects. Every entry point (GraphQL upload, HTTP POST, CLI) goes through here.

A job runs in passes over the file, each a stream of records (app.imports.reader) gathered into
batches of BATCH_SIZE rows:
- VALIDATING (dry runs, and REJECT_FILE before it writes anything): each batch is parsed and
  checked (`ProfileRun.check`, reads only); its rejects and the progress are saved. A dry run
  ends there (DONE: what would happen); REJECT_FILE fails the job (ROWS_REJECTED) if any row was
  rejected, else starts IMPORTING from the top.
- IMPORTING: each batch is applied in one write transaction that also stores its rejects and
  moves the job's checkpoint (rows read, bytes read) with a guarded UPDATE (... WHERE bytes_read
  = the checkpoint the batch started from): a batch is committed with its checkpoint or not at
  all, and two runners can never both apply it. A crash leaves the job RUNNING at the last
  committed batch; `run_job` again (the server does it on start, the CLI with --resume) seeks
  the file to that byte and goes on: the totals equal an uninterrupted run's.
  A batch ends at `batch_size` rows or once its transaction has been open for
  `transaction_max_ms`, whichever comes first (it is applied in chunks of CHUNK_ROWS, and the
  clock is looked at after each): online writes wait behind an import for that long at most,
  whatever the batch size. On SQLite the import then pauses (YIELD_SECONDS) so that a writer of
  another process, polling for the lock, gets it: once its transactions since the last pause
  have held the lock for `transaction_max_ms` (a transaction ends when that window's time is
  up), not after every transaction, so batches of a few rows each do not pause 110 ms apiece.

The statements are app.imports.repository's; the file work (opening, the header, the whole-file
scan, writing an upload) runs in worker threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import hashlib
import inspect
import io
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from app.imports import repository
from app.imports.errors import (
    FileTooLargeError,
    ImportFileError,
    ImportInterruptedError,
    ImportJobNotFoundError,
    ImportTemplateNotFoundError,
    ImportTemplateProfileError,
)
from app.imports.models import ERROR_MESSAGE_CHARS_MAX, ErrorPolicy, ImportProfile, JobPhase, JobStatus
from app.imports.profiles import BatchResult, ParsedRow, ProfileRun, RowError
from app.imports.reader import FIELD_CHARS_MAX, CsvStream, read_header, refused_field, stored_fields
from app.imports.registry import PROFILES
from app.kernel.clock import Clock
from app.kernel.decimals import decimal_text
from app.kernel.errors import IdempotencyKeyReusedError
from app.kernel.settings import get_settings
from app.kernel.spreadsheet import safe_row
from app.kernel.text import check_code, check_required_code, refusal_message
from app.organizations.config import OrgConfig, load_org_config
from app.outbox import service as outbox
from app.storage.database import Database, lock_keys

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
PARSE_TICK_ROWS = 200
# An import batch is applied in chunks of this many rows; the time limit is checked between them,
# so a transaction may run over it by one chunk (about 0.2 s at 5,000 rows/s); smaller chunks
# made the import slower (each is a fixed number of set-based statements).
CHUNK_ROWS = 1000
# Chunks parsed ahead of the one being written (parsing overlaps the database's work).
CHUNKS_AHEAD = 2
# SQLite's busy handler sleeps at most 100 ms between its tries for the lock: a pause a little
# longer after each import transaction lets every writer waiting in another process take it.
YIELD_SECONDS = 0.11
WRITER_CACHE_KIB = 64 * 1024
CHUNK_BYTES = 1024 * 1024
IMPORT_KEY_CHARS_MAX = 100
TEMPLATE_NAME_CHARS_MAX = 100
FILE_NAME_CHARS_MAX = 4096  # accepted; the first 255 are kept
REJECT_PAGE_MAX = 1000
RESUMABLE = repository.RESUMABLE


# --- Files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str
    size_bytes: int
    name: str | None
    spooled: bool  # a copy in the import directory (removed when the job ends), not the user's own file


async def spool(chunks: AsyncIterator[bytes], directory: Path, limit_bytes: int, name: str | None) -> StoredFile:
    """Write an upload to a file of the import directory while hashing it; FILE_TOO_LARGE past the limit
    (and the partial file is removed). Memory holds one chunk. The disk work runs in a worker thread:
    a slow disk holds up no other request."""
    path, output = await asyncio.to_thread(_new_upload_file, directory)
    digest = hashlib.sha256()
    size = 0
    try:
        with output:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit_bytes:
                    raise FileTooLargeError(limit_bytes)
                await asyncio.to_thread(_append, output, digest, chunk)
    except BaseException:
        path.unlink(missing_ok=True)  # not awaited: this may be a cancellation
        raise
    return StoredFile(path, digest.hexdigest(), size, name, spooled=True)


def _new_upload_file(directory: Path) -> tuple[Path, BinaryIO]:
    """A new file in the import directory (made if missing), open for writing."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"upload-{uuid.uuid4().hex}.csv"
    return path, path.open("wb")


def _append(output: BinaryIO, digest: Any, chunk: bytes) -> None:
    digest.update(chunk)
    output.write(chunk)


def local_file(path: Path, limit_bytes: int) -> StoredFile:
    """A file the CLI reads in place (hashed first: the same file is imported once)."""
    resolved = path.resolve()
    size = resolved.stat().st_size
    if size > limit_bytes:
        raise FileTooLargeError(limit_bytes)
    digest = hashlib.sha256()
    with resolved.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
    return StoredFile(resolved, digest.hexdigest(), size, path.name, spooled=False)


# --- Templates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateView:
    id: int
    name: str
    profile: ImportProfile
    configuration: dict[str, Any]
    identity: str
    version: int
    created_at: datetime
    updated_at: datetime


def _configuration_sha256(profile: ImportProfile, document: dict[str, Any]) -> str:
    return hashlib.sha256(
        profile.value.encode() + b"|" + orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def _template_view(row: Any) -> TemplateView:
    return TemplateView(
        row.id,
        row.name,
        ImportProfile(row.profile),
        row.configuration,
        row.identity,
        row.version,
        row.created_at,
        row.updated_at,
    )


async def save_template(
    database: Database,
    org: OrgConfig,
    *,
    name: str,
    profile: ImportProfile,
    configuration: dict[str, Any],
    now: datetime,
) -> TemplateView:
    """Create or update a template by name. Saving the same configuration again changes nothing;
    a different one is a new version with a new identity."""
    name = check_required_code(name, "input.name", TEMPLATE_NAME_CHARS_MAX)
    handler = PROFILES[profile]
    document = handler.configuration_document(handler.configure(configuration))
    async with database.read() as connection:
        await handler.start(connection, org, handler.configure(document))  # what it names exists
    digest = _configuration_sha256(profile, document)

    async def write(connection: AsyncConnection) -> TemplateView:
        await lock_keys(connection, [f"import-template:{org.id}:{name}"])
        row = await repository.template_by_name(connection, org_id=org.id, name=name)
        if row is None:
            await repository.insert_template(
                connection,
                org_id=org.id,
                name=name,
                profile=profile.value,
                configuration=document,
                configuration_sha256=digest,
                identity=uuid.uuid4().hex,
                now=now,
            )
        elif row.profile != profile.value:
            raise ImportTemplateProfileError(f"template {name!r} is a {row.profile} template", field="input.profile")
        elif row.configuration_sha256 != digest:
            await repository.change_template(
                connection,
                row.id,
                configuration=document,
                configuration_sha256=digest,
                identity=uuid.uuid4().hex,
                version=row.version + 1,
                now=now,
            )
        return await find_template(connection, org.id, name)

    return await database.run_write(write)


async def find_template(connection: AsyncConnection, org_id: int, name: str) -> TemplateView:
    row = await repository.template_by_name(connection, org_id=org_id, name=name)
    if row is None:
        raise ImportTemplateNotFoundError(f"no import template {name!r}", field="input.templateName")
    return _template_view(row)


async def list_templates(connection: AsyncConnection, org_id: int) -> list[TemplateView]:
    return [_template_view(row) for row in await repository.templates_of(connection, org_id)]


# --- Jobs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobView:
    id: int
    org_id: int
    profile: ImportProfile
    template_id: int | None
    template_identity: str
    configuration: dict[str, Any]
    status: JobStatus
    phase: JobPhase
    dry_run: bool
    error_policy: ErrorPolicy
    file_name: str | None
    file_path: str
    file_sha256: str
    file_size_bytes: int
    header: list[str] | None
    import_key: str | None
    bytes_read: int
    rows_read: int
    rows_imported: int
    rows_rejected: int
    customers_created: int
    points_imported: Decimal
    points_expired: Decimal  # of points_imported: past their expiry already, expired on import
    error_code: str | None
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


def _job_view(row: Any) -> JobView:
    values = dict(row._mapping)
    values.pop("dedupe_key")
    values.pop("attempt")  # the runners' fencing token, not part of the job's report
    values.update(
        profile=ImportProfile(row.profile),
        status=JobStatus(row.status),
        phase=JobPhase(row.phase),
        error_policy=ErrorPolicy(row.error_policy),
    )
    return JobView(**values)


@dataclass(frozen=True)
class ImportRequest:
    profile: ImportProfile
    template_name: str | None = None
    configuration: dict[str, Any] | None = None  # used when no template is named
    error_policy: ErrorPolicy = ErrorPolicy.KEEP_VALID
    dry_run: bool = False
    import_key: str | None = None


@dataclass(frozen=True)
class Submitted:
    job: JobView
    existing: bool  # the same file (or import key) was submitted before: this is that job, nothing new runs


async def submit(
    database: Database, org: OrgConfig, request: ImportRequest, file: StoredFile, *, now: datetime
) -> Submitted:
    """A job for this file, or the job that already has it (same file under the same template
    configuration, or the same import key). Bad configuration is a typed error; no job then."""
    try:
        return await _submit(database, org, request, file, now)
    except BaseException:
        if file.spooled:
            file.path.unlink(missing_ok=True)
        raise


async def _submit(
    database: Database, org: OrgConfig, request: ImportRequest, file: StoredFile, now: datetime
) -> Submitted:
    handler = PROFILES[request.profile]
    import_key = (
        None
        if request.import_key is None
        else check_required_code(request.import_key, "input.importKey", IMPORT_KEY_CHARS_MAX)
    )
    if request.template_name is not None:
        check_required_code(request.template_name, "input.templateName", TEMPLATE_NAME_CHARS_MAX)
    check_code(file.name, "fileName", FILE_NAME_CHARS_MAX)  # a NUL cannot be stored; a long name is cut
    async with database.read() as connection:
        if request.template_name is not None:
            template = await find_template(connection, org.id, request.template_name)
            if template.profile != request.profile:
                raise ImportTemplateProfileError(
                    f"template {template.name!r} is a {template.profile.value} template", field="input.templateName"
                )
            document, template_id, identity = template.configuration, template.id, template.identity
        else:
            document = handler.configuration_document(handler.configure(request.configuration or {}))
            template_id, identity = None, "adhoc:" + _configuration_sha256(request.profile, document)[:58]
        await handler.start(connection, org, handler.configure(document))
    dedupe_key = (
        None
        if request.dry_run
        else hashlib.sha256(f"{request.profile.value}|{identity}|{file.sha256}".encode()).hexdigest()
    )

    async def write(connection: AsyncConnection) -> Submitted:
        await lock_keys(connection, [f"import:{org.id}:{key}" for key in (dedupe_key, import_key) if key is not None])
        if import_key is not None:
            row = await repository.job_by_import_key(connection, org_id=org.id, import_key=import_key)
            if row is not None:
                same = (
                    row.file_sha256 == file.sha256
                    and row.template_identity == identity
                    and row.dry_run == request.dry_run
                )
                if not same:
                    raise IdempotencyKeyReusedError(
                        "this import key was used for another file or configuration", field="input.importKey"
                    )
                return Submitted(_job_view(row), existing=True)
        if dedupe_key is not None:
            row = await repository.job_by_dedupe_key(connection, org_id=org.id, dedupe_key=dedupe_key)
            if row is not None and _wrote_nothing(row):
                # A failed job that imported nothing (rejected file, bad header ...) does not
                # hold the file: submitting it again is a new attempt.
                await repository.release_dedupe_key(connection, row.id)
            elif row is not None:
                return Submitted(_job_view(row), existing=True)
        job_id = await repository.insert_job(
            connection,
            org_id=org.id,
            profile=request.profile.value,
            template_id=template_id,
            template_identity=identity,
            configuration=document,
            phase=(
                JobPhase.VALIDATING
                if request.dry_run or request.error_policy is ErrorPolicy.REJECT_FILE
                else JobPhase.IMPORTING
            ).value,
            dry_run=request.dry_run,
            error_policy=request.error_policy.value,
            file_name=(file.name or "")[:255] or None,
            file_path=str(file.path),
            file_sha256=file.sha256,
            file_size_bytes=file.size_bytes,
            import_key=import_key,
            dedupe_key=dedupe_key,
            now=now,
        )
        return Submitted(await _load_job(connection, job_id), existing=False)

    submitted = await database.run_write(write)
    if submitted.existing and file.spooled:
        file.path.unlink(missing_ok=True)
    return submitted


def _wrote_nothing(row: Any) -> bool:
    return (
        row.status == JobStatus.FAILED.value
        and row.error_code != "INTERNAL_ERROR"
        and (row.phase == JobPhase.VALIDATING.value or row.rows_imported == 0)
    )


async def _load_job(connection: AsyncConnection, job_id: int) -> JobView:
    row = await repository.job_by_id(connection, job_id)
    if row is None:
        raise ImportJobNotFoundError(f"no import job {job_id}", field="id")
    return _job_view(row)


async def get_job(connection: AsyncConnection, org_id: int, job_id: int) -> JobView | None:
    row = await repository.job_of_org(connection, org_id=org_id, job_id=job_id)
    return _job_view(row) if row is not None else None


async def list_jobs(
    connection: AsyncConnection, org_id: int, *, first: int, before_id: int | None, status: JobStatus | None = None
) -> tuple[list[JobView], bool]:
    """Newest first, keyset-paginated by id."""
    rows = await repository.jobs_page(connection, org_id=org_id, limit=first + 1, before_id=before_id, status=status)
    return [_job_view(row) for row in rows[:first]], len(rows) > first


@dataclass(frozen=True)
class RejectView:
    row_number: int
    column: str | None
    code: str
    message: str
    original: list[str]


async def reject_page(
    connection: AsyncConnection, job_id: int, *, first: int, after_row: int | None
) -> tuple[list[RejectView], bool]:
    """In file order, keyset-paginated by row number."""
    rows = await repository.rejects_page(connection, job_id, limit=first + 1, after_row=after_row)
    return [RejectView(*row) for row in rows[:first]], len(rows) > first


@dataclass(frozen=True)
class CorrectionView:
    id: int
    row_number: int
    column: str | None
    code: str
    message: str


async def correction_page(
    connection: AsyncConnection, job_id: int, *, first: int, after_id: int | None
) -> tuple[list[CorrectionView], bool]:
    """Auto-corrections in file order (keyset by id: written batch by batch, in row order)."""
    rows = await repository.corrections_page(connection, job_id, limit=first + 1, after_id=after_id)
    return [CorrectionView(*row) for row in rows[:first]], len(rows) > first


async def count_corrections(connection: AsyncConnection, job_id: int) -> int:
    return await repository.count_corrections(connection, job_id)


REASON_COLUMNS = ["row_number", "error_column", "error_code", "error_message"]


async def rejects_csv(database: Database, job: JobView) -> AsyncIterator[bytes]:
    """The rejected rows as CSV: the file's header, then each row as it was, plus why (in pages,
    so a large report streams)."""
    header = job.header or []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(safe_row([*header, *REASON_COLUMNS]))
    yield buffer.getvalue().encode()
    after: int | None = None
    while True:
        async with database.read() as connection:
            page, more = await reject_page(connection, job.id, first=REJECT_PAGE_MAX, after_row=after)
        buffer.seek(0)
        buffer.truncate()
        for reject in page:
            writer.writerow(
                safe_row([*reject.original, reject.row_number, reject.column or "", reject.code, reject.message])
            )
        if page:
            yield buffer.getvalue().encode()
            after = page[-1].row_number
        if not more:
            return


async def corrections_csv(database: Database, job_id: int) -> AsyncIterator[bytes]:
    """The auto-corrections as CSV: row, column, code, message (in pages, so a large report streams)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["row_number", "column", "code", "message"])
    after: int | None = None
    while True:
        async with database.read() as connection:
            page, more = await correction_page(connection, job_id, first=REJECT_PAGE_MAX, after_id=after)
        for correction in page:
            writer.writerow(
                safe_row([correction.row_number, correction.column or "", correction.code, correction.message])
            )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        if not more or not page:
            return
        after = page[-1].id


# --- Running ----------------------------------------------------------------------------------


@dataclass
class Batch:
    parsed: list[ParsedRow[Any]] = field(default_factory=list)
    rejects: list[tuple[ParsedRow[Any], RowError]] = field(default_factory=list)
    rows: int = 0  # records read, blank lines included
    end_offset: int = 0
    ends_batch: bool = True  # a chunk that fills its batch (or ends the file)

    def extend(self, chunk: Batch) -> None:
        self.parsed += chunk.parsed
        self.rejects += chunk.rejects
        self.rows += chunk.rows
        self.end_offset = chunk.end_offset


def _parsed(fields: list[str], header: list[str], run: ProfileRun[Any]) -> Any:
    """A record's value as the profile parses it, or why the row is rejected. A field over
    FIELD_CHARS_MAX is not parsed; a row the profile accepts is still refused for a character no
    text may hold (NUL, which PostgreSQL cannot store, other controls, bidi overrides) in any column,
    after the profile's own, more particular checks of its columns."""
    if max(map(len, fields)) > FIELD_CHARS_MAX:
        index = next(index for index, value in enumerate(fields) if len(value) > FIELD_CHARS_MAX)
        return RowError(
            "FIELD_TOO_LONG",
            f"{len(fields[index]):,} characters; a field has at most {FIELD_CHARS_MAX:,}",
            header[index],
        )
    value = run.parse(dict(zip(header, fields, strict=False)))
    # A row of printable characters only (one pass in C) holds no refused one: the per-field
    # check runs on the rare rest.
    refused = None if isinstance(value, RowError) or "".join(fields).isprintable() else refused_field(fields)
    if refused is not None:
        index, character = refused
        return RowError("INVALID_CHARACTER", refusal_message(character), header[index])
    return value


def _batches(
    stream: CsvStream,
    header: list[str],
    run: ProfileRun[Any],
    batch_size: int,
    tick_rows: int = 0,
    chunk_rows: int | None = None,
) -> Iterator[Batch | None]:
    """Batches of parsed rows and row rejects; with `tick_rows`, also None every that many rows
    (the caller yields to the event loop there, so the batch being written goes on meanwhile).
    With `chunk_rows`, each batch comes in chunks of that many rows at most, the last of a batch
    marked `ends_batch`: batches still end every `batch_size` rows."""
    chunk_rows = min(chunk_rows or batch_size, batch_size)
    in_batch = 0  # rows of the current batch in chunks already given
    batch = Batch(end_offset=stream.offset)
    width = len(header)
    for record in stream.records():
        if tick_rows and record.row_number % tick_rows == 0:
            yield None
        batch.rows += 1
        batch.end_offset = record.end_offset
        fields = record.fields
        if not fields or (len(fields) == 1 and not fields[0].strip() and width > 1):
            pass  # a blank line: read, neither imported nor rejected
        elif len(fields) != width:
            batch.rejects.append(
                (
                    ParsedRow(record.row_number, fields, None),
                    RowError("WRONG_FIELD_COUNT", f"the row has {len(fields)} fields, the header {width}"),
                )
            )
        else:
            value = _parsed(fields, header, run)
            if isinstance(value, RowError):
                batch.rejects.append((ParsedRow(record.row_number, fields, None), value))
            else:
                batch.parsed.append(ParsedRow(record.row_number, fields, value))
        counted = len(batch.parsed) + len(batch.rejects)
        if in_batch + counted >= batch_size or counted >= chunk_rows:
            batch.ends_batch = in_batch + counted >= batch_size
            in_batch = 0 if batch.ends_batch else in_batch + counted
            yield batch
            batch = Batch(end_offset=batch.end_offset)
    if batch.rows:
        yield batch


Progress = Callable[[JobView], None]


@dataclass
class RunOptions:
    batch_size: int = BATCH_SIZE
    # A batch's transaction ends once open this long, even short of batch_size rows.
    transaction_max_ms: int = field(default_factory=lambda: get_settings().import_transaction_max_ms)
    timer: Callable[[], float] = time.monotonic  # seconds; tests give one they move
    on_progress: Progress | None = None  # after each batch (the CLI's progress bar)
    after_batch: Callable[[int], Any] | None = None  # after each committed import batch (tests simulate a crash)
    on_pause: Callable[[int], Any] | None = None  # after each SQLite pause, with the batches committed so far
    # SQLite: a transaction whose time is up goes on while no other writer waits for the lock
    # (app/storage/waiting_writers.py), to `batch_size` rows: fewer, larger commits and no pause
    # when the import runs alone; a writer that comes waits as long as without it, at most.
    longer_when_alone: bool = False


async def _call(hook: Callable[[Any], Any] | None, argument: Any) -> None:
    """Run a progress hook; one may be a coroutine function (tests pause a runner there)."""
    if hook is not None and inspect.isawaitable(result := hook(argument)):
        await result


async def run_job(database: Database, job_id: int, options: RunOptions | None = None, *, clock: Clock) -> JobView:
    """Run (or resume) a job to its end: DONE or FAILED. Returns the job as it ended. The clock
    is read at each step (a job runs for minutes): every batch is stamped with its own time.

    ImportInterruptedError (or the process dying) leaves it RUNNING at its last checkpoint."""
    options = options or RunOptions()
    async with database.read() as connection:
        job = await _load_job(connection, job_id)
        org = await load_org_config(connection, job.org_id)
    if job.status.value not in RESUMABLE and job.error_code != "INTERNAL_ERROR":
        return job
    assert org is not None
    if database.is_sqlite:
        # The writer's page cache (2 MiB by default) holds the ledger's index pages a large
        # import keeps touching; the one writer connection keeps it afterwards.
        await database.run_write(lambda connection: repository.enlarge_page_cache(connection, WRITER_CACHE_KIB))
    claimed = await _claim(database, job, clock.now())
    if claimed is None:  # another runner finished it meanwhile
        async with database.read() as connection:
            return await _load_job(connection, job_id)
    job, attempt = claimed
    try:
        job = await _run(database, org, job, attempt, options, clock)
    except ImportInterruptedError:
        raise
    except ImportFileError as error:
        job = await _finish(database, job, attempt, clock.now(), JobStatus.FAILED, error.code, error.message)
    except Exception:
        logger.exception("import job %s failed", job_id)
        return await _finish(
            database,
            job,
            attempt,
            clock.now(),
            JobStatus.FAILED,
            "INTERNAL_ERROR",
            "unexpected error (see the server log); the job can be resumed from its last checkpoint",
        )
    return job


async def _claim(database: Database, job: JobView, now: datetime) -> tuple[JobView, int] | None:
    """Take the job over: a new attempt number fences off every runner that claimed it before
    (each of their job updates requires their own number, so from now on they match no row and
    stop). None if the job finished since it was read."""

    async def write(connection: AsyncConnection) -> tuple[JobView, int] | None:
        attempt = await repository.claim_job(connection, job.id, started_at=job.started_at or now, now=now)
        if attempt is None:
            return None
        return await _load_job(connection, job.id), attempt

    return await database.run_write(write)


async def _run(
    database: Database, org: OrgConfig, job: JobView, attempt: int, options: RunOptions, clock: Clock
) -> JobView:
    handler = PROFILES[job.profile]
    config = handler.configure(job.configuration)
    async with database.read() as connection:
        run = await handler.start(connection, org, config)
    run.template_identity = job.template_identity
    try:
        # Opening, the header and the whole-file scan run in a worker thread: the event loop
        # keeps serving requests meanwhile (the batches' parsing yields to it every few rows).
        source = await asyncio.to_thread(_open_source, job.file_path)
    except OSError as error:
        run.close()
        raise ImportFileError(
            "FILE_MISSING", f"the file of this job cannot be read any more ({error.strerror})"
        ) from error
    with source, contextlib.closing(run):
        written_header, data_offset = await asyncio.to_thread(read_header, source)
        if job.header is None:
            job = await _set(database, job.id, attempt, clock.now(), header=written_header)
        header = [name.lower() for name in written_header]  # column names match in any case
        handler.columns.check(header)
        if job.phase is JobPhase.IMPORTING and job.bytes_read == 0:
            await asyncio.to_thread(_scan, source, data_offset)
        if job.phase is JobPhase.VALIDATING:
            job = await _validate(database, org, job, attempt, run, source, header, data_offset, options, clock)
            if job.dry_run:
                return await _finish(database, job, attempt, clock.now(), JobStatus.DONE)
            if job.rows_rejected:
                return await _finish(
                    database,
                    job,
                    attempt,
                    clock.now(),
                    JobStatus.FAILED,
                    "ROWS_REJECTED",
                    f"{job.rows_rejected:,} rows were rejected, so nothing was imported (error policy "
                    "REJECT_FILE); download the rejects, fix them and import the file again",
                )
            job = await _set(
                database,
                job.id,
                attempt,
                clock.now(),
                phase=JobPhase.IMPORTING.value,
                bytes_read=0,
                rows_read=0,
                rows_imported=0,
                customers_created=0,
                points_imported=Decimal(0),
                points_expired=Decimal(0),
            )
        job = await _import(database, org, job, attempt, run, source, header, data_offset, options, clock)
    return await _finish(database, job, attempt, clock.now(), JobStatus.DONE)


def _open_source(path: str) -> BinaryIO:
    """The job's file, open for reading (the caller closes it)."""
    return Path(path).open("rb")


def _scan(source: BinaryIO, data_offset: int) -> None:
    """Read the whole file as CSV before the first write, so that a file-level fault (encoding,
    broken quoting, an over-long line) fails the job before any row is imported."""
    rows = sum(1 for _ in CsvStream(source, start_offset=data_offset, start_row=1).records())
    if rows == 0:
        raise ImportFileError("NO_ROWS", "the file has a header but no rows")


async def _validate(
    database: Database,
    org: OrgConfig,
    job: JobView,
    attempt: int,
    run: ProfileRun[Any],
    source: BinaryIO,
    header: list[str],
    data_offset: int,
    options: RunOptions,
    clock: Clock,
) -> JobView:
    """Check every row, writing only the job's progress and rejects (from the top: a validation
    pass interrupted is simply run again)."""

    async def reset(connection: AsyncConnection) -> None:
        if not await repository.reset_progress(connection, job.id, attempt=attempt):
            raise ImportInterruptedError(f"import job {job.id} was taken over by another runner")
        await repository.forget_rows(connection, job.id)

    await database.run_write(reset)
    stream = CsvStream(source, start_offset=data_offset, start_row=1)
    rows_read = 0
    # A check reads its whole batch at once (some as lists of identifier pairs: two parameters a
    # row, and asyncpg takes 32,767): at most BATCH_SIZE rows, whatever the import's batches.
    for batch in _batches(stream, header, run, min(options.batch_size, BATCH_SIZE)):
        if batch is None:  # no ticks asked for: the checks read in the caller's turn
            continue
        now = clock.now()
        async with database.read() as connection:
            checked = await run.check(connection, batch.parsed, now)
        rows_read += batch.rows
        job = await _record_batch(database, org, job, attempt, batch, checked, rows_read, now, expected_offset=None)
        await _call(options.on_progress, job)
    if rows_read == 0:
        raise ImportFileError("NO_ROWS", "the file has a header but no rows")
    return job


async def _import(
    database: Database,
    org: OrgConfig,
    job: JobView,
    attempt: int,
    run: ProfileRun[Any],
    source: BinaryIO,
    header: list[str],
    data_offset: int,
    options: RunOptions,
    clock: Clock,
) -> JobView:
    start_offset = max(job.bytes_read, data_offset)
    stream = CsvStream(source, start_offset=start_offset, start_row=1 + job.rows_read)
    # Chunks are parsed ahead while the database applies the one before (it works in its own
    # thread, and SQLite releases the GIL); transactions run one at a time in file order, so the
    # checkpoints and a crash's outcome are those of a one-at-a-time run.
    chunks = _Chunks(asyncio.Queue(maxsize=CHUNKS_AHEAD))
    parser = asyncio.create_task(
        chunks.parse(_batches(stream, header, run, options.batch_size, PARSE_TICK_ROWS, CHUNK_ROWS))
    )
    batches_done = 0
    # SQLite: the timer's reading when the import took the file lock after its last pause.
    window_started: float | None = None
    try:
        while await chunks.get(0) is not None:
            write = functools.partial(
                _apply_batch,
                org=org,
                job=job,
                attempt=attempt,
                run=run,
                chunks=chunks,
                options=options,
                now=clock.now(),
                window_started=window_started,
                writer_waiting=database.writer_waiting if options.longer_when_alone else None,
            )
            job, applied, window = await database.run_write(write)
            chunks.committed(applied)
            batches_done += 1
            await _call(options.on_progress, job)
            await _call(options.after_batch, batches_done)
            if database.is_sqlite:
                if window.time_up:
                    await asyncio.sleep(YIELD_SECONDS)
                    window_started = None
                    await _call(options.on_pause, batches_done)
                else:
                    window_started = window.started
    finally:
        parser.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await parser
    if job.rows_read == 0:
        raise ImportFileError("NO_ROWS", "the file has a header but no rows")
    return job


class _Chunks:
    """Parsed chunks on their way to the import's transactions. Those a transaction took stay
    here until it commits: a transaction retried (PostgreSQL) applies the same ones again."""

    def __init__(self, queue: asyncio.Queue[Batch | Exception | None]) -> None:
        self.queue = queue
        self.taken: list[Batch] = []
        self.file_ended = False

    async def parse(self, batches: Iterator[Batch | None]) -> None:
        """Fill the queue from the parser (a task of its own); a parsing error is passed on."""
        try:
            for item in batches:
                if item is None:
                    await asyncio.sleep(0)
                else:
                    await self.queue.put(item)
            await self.queue.put(None)
        except Exception as error:
            await self.queue.put(error)

    async def get(self, index: int) -> Batch | None:
        """The chunk at `index` among those not committed yet; None past the file's end."""
        while index >= len(self.taken):
            if self.file_ended:
                return None
            item = await self.queue.get()
            if isinstance(item, Exception):
                raise item
            if item is None:
                self.file_ended = True
            else:
                self.taken.append(item)
        return self.taken[index]

    def committed(self, count: int) -> None:
        del self.taken[:count]


async def _apply_batch(
    connection: AsyncConnection,
    *,
    org: OrgConfig,
    job: JobView,
    attempt: int,
    run: ProfileRun[Any],
    chunks: _Chunks,
    options: RunOptions,
    now: datetime,
    window_started: float | None = None,
    writer_waiting: Callable[[], bool] | None = None,
) -> tuple[JobView, int, _LockWindow]:
    """One import batch in its write transaction: the profile writes chunk after chunk until the
    batch is full, its time is up or the file ends; then the job moves on from its checkpoint
    (or the whole batch rolls back). Its time is `transaction_max_ms` from `window_started`
    (the earlier transactions of the same lock window, on SQLite) or from its own start; with
    `writer_waiting`, that time ends it only once another writer waits (none waits: it runs on
    to the batch's end). Returns the job, the number of chunks applied and the lock window."""
    started = options.timer()
    window = _LockWindow(started if window_started is None else window_started)
    deadline = window.started + options.transaction_max_ms / 1000
    batch, result = Batch(end_offset=job.bytes_read), BatchResult()
    applied = 0
    while (chunk := await chunks.get(applied)) is not None:
        result.extend(await run.apply(connection, chunk.parsed, now, job.id))
        batch.extend(chunk)
        applied += 1
        if options.timer() >= deadline and (writer_waiting is None or writer_waiting()):
            window.time_up = True
            break
        if chunk.ends_batch:
            break
    rows_read = job.rows_read + batch.rows
    moved = await _record_batch_in(connection, org, job, attempt, batch, result, rows_read, now, job.bytes_read)
    return moved, applied, window


@dataclass
class _LockWindow:
    """Import transactions since the last pause: when the first began (timer seconds), and
    whether their time is up (the import pauses then, on SQLite)."""

    started: float
    time_up: bool = False


async def _record_batch(
    database: Database,
    org: OrgConfig,
    job: JobView,
    attempt: int,
    batch: Batch,
    result: BatchResult,
    rows_read: int,
    now: datetime,
    expected_offset: int | None,
) -> JobView:
    return await database.run_write(
        lambda connection: _record_batch_in(
            connection, org, job, attempt, batch, result, rows_read, now, expected_offset
        )
    )


async def _record_batch_in(
    connection: AsyncConnection,
    org: OrgConfig,
    job: JobView,
    attempt: int,
    batch: Batch,
    result: BatchResult,
    rows_read: int,
    now: datetime,
    expected_offset: int | None,
) -> JobView:
    """Store the batch's rejects and move the job on, only while this runner's attempt holds the
    job and, with `expected_offset`, only from that checkpoint (guarded UPDATE: a runner fenced
    off fails here and its batch rolls back)."""
    refused = [*batch.rejects, *result.rejects]
    if refused:
        await repository.insert_rejects(
            connection,
            org_id=org.id,
            job_id=job.id,
            rows=[
                (row.row_number, error.column, error.code, error.message, stored_fields(row.fields))
                for row, error in refused
            ],
        )
    # Corrections are reported by the pass that imports (or, in a dry run, by the one that checks).
    if result.corrections and (expected_offset is not None or job.dry_run):
        await repository.insert_corrections(
            connection,
            org_id=org.id,
            job_id=job.id,
            rows=[
                (row.row_number, correction.column, correction.code, correction.message)
                for row, correction in result.corrections
            ],
        )
    moved = await repository.advance_job(
        connection,
        job.id,
        attempt=attempt,
        expected_offset=expected_offset,
        bytes_read=batch.end_offset,
        rows_read=rows_read,
        imported=result.imported,
        rejected=len(refused),
        customers_created=result.customers_created,
        points=result.points,
        points_expired=result.points_expired,
        now=now,
    )
    if not moved:
        raise ImportInterruptedError(f"import job {job.id} was moved on by another runner; this batch is rolled back")
    return await _load_job(connection, job.id)


async def _set(
    database: Database,
    job_id: int,
    attempt: int,
    now: datetime,
    *,
    then: Callable[[AsyncConnection, JobView], Awaitable[object]] | None = None,
    **values: Any,
) -> JobView:
    """Update the job while this runner's attempt holds it; a runner fenced off stops here.
    `then` runs in the same transaction with the job as updated."""
    if values.get("error_message") is not None:  # over the column's length, PostgreSQL refuses the update
        values["error_message"] = values["error_message"][:ERROR_MESSAGE_CHARS_MAX]

    async def write(connection: AsyncConnection) -> JobView:
        if not await repository.update_job(connection, job_id, attempt=attempt, now=now, changes=values):
            raise ImportInterruptedError(f"import job {job_id} was taken over by another runner")
        job = await _load_job(connection, job_id)
        if then is not None:
            await then(connection, job)
        return job

    return await database.run_write(write)


async def _finish(
    database: Database,
    job: JobView,
    attempt: int,
    now: datetime,
    status: JobStatus,
    code: str | None = None,
    message: str | None = None,
) -> JobView:
    job = await _set(
        database,
        job.id,
        attempt,
        now,
        then=functools.partial(_emit_finished, now=now),
        status=status.value,
        error_code=code,
        error_message=message,
        finished_at=now,
    )
    if code != "INTERNAL_ERROR":
        _remove_spooled(job)
    return job


IMPORT_JOB_FINISHED = "import_job.finished"


def finished_payload(job: JobView) -> dict[str, Any]:
    """The import_job.finished event's payload (version 1): the job's totals as the importJob
    query shows them. A job that failed with INTERNAL_ERROR can be resumed, and then finishes
    again (a second event, its totals final)."""
    return {
        "version": 1,
        "userId": None,  # as every event: about no one customer
        "jobId": str(job.id),
        "profile": job.profile.value,
        "status": job.status.value,
        "dryRun": job.dry_run,
        "rowsRead": job.rows_read,
        "rowsImported": job.rows_imported,
        "rowsRejected": job.rows_rejected,
        "customersCreated": job.customers_created,
        "pointsImported": decimal_text(job.points_imported),
        "errorCode": job.error_code,
        "finishedAt": job.finished_at.isoformat() if job.finished_at else None,
    }


async def _emit_finished(connection: AsyncConnection, job: JobView, *, now: datetime) -> None:
    """A dry run changes nothing anyone sees (the caller follows it with the importJob query):
    no event for it."""
    if job.dry_run:
        return
    await outbox.emit(
        connection, org_id=job.org_id, event_type=IMPORT_JOB_FINISHED, payload=finished_payload(job), now=now
    )


def _remove_spooled(job: JobView) -> None:
    """An uploaded file is the job's own copy: gone when the job ends (its rejects keep their rows)."""
    path = Path(job.file_path)
    if path.name.startswith("upload-") and path.parent.name == "uploads":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


async def unfinished_jobs(database: Database) -> list[int]:
    """Jobs a runner should pick up: queued, or left running by a crash (all orgs)."""
    async with database.read() as connection:
        return await repository.unfinished_job_ids(connection)


async def count_rejects(connection: AsyncConnection, job_id: int) -> int:
    return await repository.count_rejects(connection, job_id)
