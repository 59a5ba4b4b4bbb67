"""Output types of bulk imports: jobs with their rejects and corrections, saved templates, the payload
of a submitted import, and the enums of profiles, policies and job states."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo, decode_id_cursor, page_info_after
from app.imports import service
from app.kernel.errors import ValidationError

IMPORT_PAGE_SIZE_MAX = 100


@strawberry.enum(description="A file format and what its rows do.")
class ImportProfile(Enum):
    TALON_ONE_POINTS = "TALON_ONE_POINTS"
    CUSTOMER_PROMOTION = strawberry.enum_value("CUSTOMER_PROMOTION", description="Points under a points promotion.")
    TRACKERS = strawberry.enum_value("TRACKERS", description="Tracked values on existing bills.")
    LEADS = strawberry.enum_value("LEADS", description="Customers' leads, with their status and follow-ups.")
    SEGMENT_MEMBERS = strawberry.enum_value(
        "SEGMENT_MEMBERS", description="Customers added to or removed from segments."
    )
    INTERACTIONS = strawberry.enum_value("INTERACTIONS", description="Messages brands' systems sent or received.")
    BEHAVIOURAL_EVENTS = strawberry.enum_value(
        "BEHAVIOURAL_EVENTS", description="Behavioural events brands' systems captured."
    )


@strawberry.enum
class ImportErrorPolicy(Enum):
    REJECT_FILE = strawberry.enum_value(
        "REJECT_FILE", description="Validate every row first; any bad row and nothing is imported."
    )
    KEEP_VALID = strawberry.enum_value("KEEP_VALID", description="Import the valid rows, reject the others.")


@strawberry.enum
class ImportJobStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


@strawberry.enum
class ImportJobPhase(Enum):
    VALIDATING = strawberry.enum_value(
        "VALIDATING", description="Checking rows, writing nothing (dry run, REJECT_FILE's first pass)."
    )
    IMPORTING = "IMPORTING"


@strawberry.enum(description="Which column of an import names the customer (the seed's unique identifier type).")
class ImportCustomerIdentifierType(Enum):
    MOBILE = "MOBILE"
    EMAIL = "EMAIL"
    EXTERNAL_ID = "EXTERNAL_ID"
    USER_ID = "USER_ID"
    CARD_NUMBER = strawberry.enum_value("CARD_NUMBER", description="The customer's CARD_NUMBER identifier.")
    CARD_EXTERNAL_ID = strawberry.enum_value(
        "CARD_EXTERNAL_ID", description="An active loyalty card of the promotion's program."
    )


@strawberry.type(description="A row that was not imported (or would not be, in a dry run).")
class ImportReject:
    row_number: int = strawberry.field(description="As a spreadsheet numbers it: the header is row 1.")
    column: str | None
    code: str
    message: str
    original: list[str] = strawberry.field(
        description="The row's fields as in the file (a field over 1,000 characters cut, saying so)."
    )


@strawberry.type
class ImportRejectPage:
    rejects: list[ImportReject]
    page_info: PageInfo


@strawberry.type(description="A value the import changed on its own and imported (COUNTRY_CODE_ADDED, STORE_REPLACED).")
class ImportCorrection:
    row_number: int
    column: str | None
    code: str
    message: str


@strawberry.type
class ImportCorrectionPage:
    corrections: list[ImportCorrection]
    page_info: PageInfo


@strawberry.type(description="An import: its progress, totals and checkpoint.")
class ImportJob:
    id: strawberry.ID
    profile: ImportProfile
    status: ImportJobStatus
    phase: ImportJobPhase
    dry_run: bool
    error_policy: ImportErrorPolicy
    template_name: str | None
    configuration: JSON
    file_name: str | None
    file_sha256: str
    bytes_total: int = strawberry.field(description="The file's size in bytes.")
    bytes_read: int = strawberry.field(description="Up to the last committed batch (the checkpoint).")
    rows_read: int = strawberry.field(description="Rows read so far (blank lines included).")
    rows_imported: int = strawberry.field(
        description="In a dry run (or while VALIDATING): rows that would be imported."
    )
    rows_rejected: int
    customers_created: int = strawberry.field(description="In a dry run: customers that would be registered.")
    points_imported: Decimal
    points_expired: Decimal = strawberry.field(
        description=(
            "Of pointsImported: points already past their expiry date (a Talon.One expirydate gone by), expired in "
            "the same transaction as their credit, by a Points Expiry dated at that date. In a dry run: points that "
            "would be."
        )
    )
    error_code: str | None = strawberry.field(
        description="Why a FAILED job failed (e.g. MISSING_COLUMN, INVALID_ENCODING, ROWS_REJECTED)."
    )
    error_message: str | None
    import_key: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rejects_csv_path: str = strawberry.field(
        description="GET it (same credentials) for the rejected rows as CSV, with the reasons."
    )

    @strawberry.field(description="Rejected rows in file order.")
    async def rejects(self, info: Info, first: int = 50, after: str | None = None) -> ImportRejectPage:
        if not 1 <= first <= IMPORT_PAGE_SIZE_MAX:
            raise ValidationError(f"must be between 1 and {IMPORT_PAGE_SIZE_MAX}", field="first")
        after_row = decode_id_cursor("reject", after)
        async with info.context.database.read() as connection:
            page, more = await service.reject_page(connection, int(self.id), first=first, after_row=after_row)
        return ImportRejectPage(
            rejects=[
                ImportReject(
                    row_number=item.row_number,
                    column=item.column,
                    code=item.code,
                    message=item.message,
                    original=item.original,
                )
                for item in page
            ],
            page_info=page_info_after("reject", [row.row_number for row in page[-1:]], more),
        )

    @strawberry.field(description="Auto-corrections in file order (in a dry run: those the import would make).")
    async def corrections(self, info: Info, first: int = 50, after: str | None = None) -> ImportCorrectionPage:
        if not 1 <= first <= IMPORT_PAGE_SIZE_MAX:
            raise ValidationError(f"must be between 1 and {IMPORT_PAGE_SIZE_MAX}", field="first")
        after_id = decode_id_cursor("correction", after)
        async with info.context.database.read() as connection:
            page, more = await service.correction_page(connection, int(self.id), first=first, after_id=after_id)
        return ImportCorrectionPage(
            corrections=[
                ImportCorrection(row_number=item.row_number, column=item.column, code=item.code, message=item.message)
                for item in page
            ],
            page_info=page_info_after("correction", [row.id for row in page[-1:]], more),
        )

    @classmethod
    def from_view(cls, view: service.JobView, template_name: str | None = None) -> ImportJob:
        return cls(
            id=strawberry.ID(str(view.id)),
            profile=ImportProfile(view.profile.value),
            status=ImportJobStatus(view.status.value),
            phase=ImportJobPhase(view.phase.value),
            dry_run=view.dry_run,
            error_policy=ImportErrorPolicy(view.error_policy.value),
            template_name=template_name,
            configuration=JSON(view.configuration),
            file_name=view.file_name,
            file_sha256=view.file_sha256,
            bytes_total=view.file_size_bytes,
            bytes_read=view.bytes_read,
            rows_read=view.rows_read,
            rows_imported=view.rows_imported,
            rows_rejected=view.rows_rejected,
            customers_created=view.customers_created,
            points_imported=view.points_imported,
            points_expired=view.points_expired,
            error_code=view.error_code,
            error_message=view.error_message,
            import_key=view.import_key,
            created_at=view.created_at,
            started_at=view.started_at,
            finished_at=view.finished_at,
            rejects_csv_path=f"/imports/{view.id}/rejects.csv",
        )


async def job_template_name(info: Info, view: service.JobView) -> str | None:
    """The name of the template a job was submitted with (None without one)."""
    if view.template_id is None:
        return None
    async with info.context.database.read() as connection:
        for template in await service.list_templates(connection, view.org_id):
            if template.id == view.template_id:
                return template.name
    return None


@strawberry.type(description="The import was submitted (or had been: `existing`); it runs in the background.")
class ImportSubmitted:
    existing: bool = strawberry.field(
        description="True when this file (same template configuration) or import key was "
        "submitted before: this is that job, nothing is imported again."
    )
    job: ImportJob


@strawberry.type(description="A saved import configuration; `identity` changes only when the configuration does.")
class ImportTemplate:
    name: str
    profile: ImportProfile
    configuration: JSON
    identity: str
    version: int
    updated_at: datetime

    @classmethod
    def from_view(cls, view: service.TemplateView) -> ImportTemplate:
        return cls(
            name=view.name,
            profile=ImportProfile(view.profile.value),
            configuration=JSON(view.configuration),
            identity=view.identity,
            version=view.version,
            updated_at=view.updated_at,
        )


@strawberry.type
class ImportJobPage:
    jobs: list[ImportJob]
    page_info: PageInfo


# Shared by importPoints, importCustomerPromotion and importTrackerValues.
ImportPointsResult = Annotated[
    ImportSubmitted | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("ImportPointsResult"),
]


ImportJobStreamResult = Annotated[ImportJob | NotFoundError, strawberry.union("ImportJobStreamResult")]
