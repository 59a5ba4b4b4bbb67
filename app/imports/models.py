"""Bulk imports: saved templates, jobs (with their checkpoint) and the rows they rejected."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import BigId, JSONDocument, Points, UTCDateTime

ERROR_MESSAGE_CHARS_MAX = 1000  # import_jobs.error_message: what a job's report keeps of its error


class ImportProfile(StrEnum):
    TALON_ONE_POINTS = "TALON_ONE_POINTS"
    CUSTOMER_PROMOTION = "CUSTOMER_PROMOTION"
    TRACKERS = "TRACKERS"
    LEADS = "LEADS"
    SEGMENT_MEMBERS = "SEGMENT_MEMBERS"
    INTERACTIONS = "INTERACTIONS"
    BEHAVIOURAL_EVENTS = "BEHAVIOURAL_EVENTS"
    POINTS_DEBITS = "POINTS_DEBITS"
    OPENING_BALANCES = "OPENING_BALANCES"


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class JobPhase(StrEnum):
    VALIDATING = "VALIDATING"  # REJECT_FILE's first pass (and a dry run): reads, writes nothing
    IMPORTING = "IMPORTING"


class ErrorPolicy(StrEnum):
    REJECT_FILE = "REJECT_FILE"  # validate everything first; any bad row and nothing is imported
    KEEP_VALID = "KEEP_VALID"  # import the valid rows, report the others


class ImportTemplate(SQLModel, table=True):
    """A saved configuration for one profile. Its `identity` stays the same while its
    configuration does; saving a different configuration gives a new version and identity
    (what a customer promotion template uses as its promotion identifier)."""

    __tablename__ = "import_templates"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    name: str = Field(max_length=100)
    profile: str = Field(max_length=40)
    configuration: dict[str, Any] = Field(sa_type=JSONDocument)
    configuration_sha256: str = Field(max_length=64)
    identity: str = Field(max_length=64)
    version: int
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ImportJob(SQLModel, table=True):
    __tablename__ = "import_jobs"
    __table_args__ = (
        # Exactly once: the same file under the same configuration, or the same import key, is one job.
        UniqueConstraint("org_id", "dedupe_key"),
        UniqueConstraint("org_id", "import_key"),
        Index("ix_import_jobs_status", "status"),
        CheckConstraint("status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')", name="import_jobs_status"),
        CheckConstraint("rows_imported + rows_rejected <= rows_read", name="import_jobs_rows_add_up"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    profile: str = Field(max_length=40)
    template_id: int | None = Field(default=None, foreign_key="import_templates.id")
    template_identity: str = Field(max_length=64)  # the template's identity, or "adhoc:" + configuration hash
    configuration: dict[str, Any] = Field(sa_type=JSONDocument)
    status: str = Field(max_length=20)
    phase: str = Field(max_length=20)
    dry_run: bool
    error_policy: str = Field(max_length=20)
    file_name: str | None = Field(default=None, max_length=255)
    file_path: str = Field(max_length=1000)  # where the file is read from (and resumed from)
    file_sha256: str = Field(max_length=64)
    file_size_bytes: int = Field(sa_type=BigInteger)
    header: list[str] | None = Field(default=None, sa_type=JSONDocument)  # the file's header, once read
    import_key: str | None = Field(default=None, max_length=100)
    dedupe_key: str | None = Field(default=None, max_length=64)  # None for dry runs
    # The fencing token: each runner that takes the job over adds one, and updates the job only
    # while it still holds its own number (so a runner taken over cannot write twice).
    attempt: int = Field(default=0)
    # Progress; for IMPORTING also the checkpoint: what the last committed batch ended at.
    bytes_read: int = Field(sa_type=BigInteger)
    rows_read: int = Field(sa_type=BigInteger)
    rows_imported: int = Field(sa_type=BigInteger)
    rows_rejected: int = Field(sa_type=BigInteger)
    customers_created: int = Field(sa_type=BigInteger)  # a dry run: customers it would create
    points_imported: Decimal = Field(sa_type=Points)
    # Of points_imported: past their expiry already, so expired in the transaction that credited them.
    points_expired: Decimal = Field(default=Decimal(0), sa_type=Points)
    error_code: str | None = Field(default=None, max_length=40)
    error_message: str | None = Field(default=None, max_length=ERROR_MESSAGE_CHARS_MAX)
    created_at: datetime = Field(sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ImportReject(SQLModel, table=True):
    """A row not imported: where, why, and the row as it was in the file."""

    __tablename__ = "import_rejects"
    __table_args__ = (UniqueConstraint("job_id", "row_number"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    job_id: int = Field(foreign_key="import_jobs.id", sa_type=BigId)
    row_number: int = Field(sa_type=BigInteger)  # as a spreadsheet shows it: the header is row 1
    column: str | None = Field(default=None, max_length=100)
    code: str = Field(max_length=40)
    message: str = Field(max_length=500)
    original: list[str] = Field(sa_type=JSONDocument)  # the row's fields (over-long ones cut, and said so)


class ImportCorrection(SQLModel, table=True):
    """A value an import changed on its own and imported (a country code added, a store
    replaced): reported per row, as rejects are. A row may have several."""

    __tablename__ = "import_corrections"
    __table_args__ = (Index("ix_import_corrections_job_row", "job_id", "row_number"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    job_id: int = Field(foreign_key="import_jobs.id", sa_type=BigId)
    row_number: int = Field(sa_type=BigInteger)
    column: str | None = Field(default=None, max_length=100)
    code: str = Field(max_length=40)
    message: str = Field(max_length=500)
