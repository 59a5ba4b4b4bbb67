"""Bulk imports: the importPoints upload, saved templates, and jobs with their rejects.

The file comes as a multipart upload (the GraphQL multipart request spec); the mutation stores
it, submits a job and returns it at once, QUEUED (or the job that already had this file or
import key). The server's runner imports it in the background; query importJob to follow it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload

from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo, decode_id_cursor, encode_id_cursor
from app.graphql.import_profiles import (
    CustomerPromotionImportConfigurationInput,
    TrackerImportConfigurationInput,
    configuration_document,
)
from app.imports import service
from app.imports.models import ErrorPolicy as DomainErrorPolicy
from app.imports.models import ImportProfile as DomainImportProfile
from app.imports.models import JobStatus as DomainJobStatus
from app.kernel.errors import ValidationError

UPLOAD_CHUNK_BYTES = 1024 * 1024
IMPORT_PAGE_SIZE_MAX = 100


@strawberry.enum(description="A file format and what its rows do.")
class ImportProfile(Enum):
    TALON_ONE_POINTS = "TALON_ONE_POINTS"
    CUSTOMER_PROMOTION = strawberry.enum_value("CUSTOMER_PROMOTION", description="Points under a points promotion.")
    TRACKERS = strawberry.enum_value("TRACKERS", description="Tracked values on existing bills.")


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
    configuration: strawberry.scalars.JSON
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
            page_info=PageInfo(
                has_next_page=more, end_cursor=encode_id_cursor("reject", page[-1].row_number) if page else None
            ),
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
            page_info=PageInfo(
                has_next_page=more, end_cursor=encode_id_cursor("correction", page[-1].id) if page else None
            ),
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
            configuration=view.configuration,
            file_name=view.file_name,
            file_sha256=view.file_sha256,
            bytes_total=view.file_size_bytes,
            bytes_read=view.bytes_read,
            rows_read=view.rows_read,
            rows_imported=view.rows_imported,
            rows_rejected=view.rows_rejected,
            customers_created=view.customers_created,
            points_imported=view.points_imported,
            error_code=view.error_code,
            error_message=view.error_message,
            import_key=view.import_key,
            created_at=view.created_at,
            started_at=view.started_at,
            finished_at=view.finished_at,
            rejects_csv_path=f"/imports/{view.id}/rejects.csv",
        )


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
    configuration: strawberry.scalars.JSON
    identity: str
    version: int
    updated_at: datetime

    @classmethod
    def from_view(cls, view: service.TemplateView) -> ImportTemplate:
        return cls(
            name=view.name,
            profile=ImportProfile(view.profile.value),
            configuration=view.configuration,
            identity=view.identity,
            version=view.version,
            updated_at=view.updated_at,
        )


@strawberry.input(description="Where Talon.One points go, and what to do with unknown names.")
class PointsImportConfigurationInput:
    program_code: str
    register_unknown_customers: bool = strawberry.field(
        default=True,
        description="An unknown customerprofileid registers a customer with that EXTERNAL_ID (else CUSTOMER_NOT_FOUND).",
    )
    create_missing_subledgers: bool = strawberry.field(
        default=True, description="An unknown subledgerid creates the program's subledger (else SUBLEDGER_NOT_FOUND)."
    )

    def to_domain(self) -> dict[str, Any]:
        return configuration_document(self)


@strawberry.input(
    description="A Talon.One loyalty points file (customerprofileid or identifier, amount, startdate, "
    "expirydate, subledgerid, reason)."
)
class ImportPointsInput:
    file: Upload
    configuration: PointsImportConfigurationInput | None = strawberry.field(
        default=None, description="When no template is named."
    )
    template_name: str | None = strawberry.field(default=None, description="A saved TALON_ONE_POINTS template.")
    error_policy: ImportErrorPolicy = ImportErrorPolicy.KEEP_VALID
    dry_run: bool = strawberry.field(default=False, description="Validate the whole file and report; import nothing.")
    import_key: str | None = strawberry.field(default=None, description="The same key again returns the same job.")


@strawberry.input(
    description="A customer promotion file: the customer column (mobile, email, external_id, user_id, "
    "card_number or card_external_id), store_code, points, user_group_identifier."
)
class ImportCustomerPromotionInput:
    file: Upload
    configuration: CustomerPromotionImportConfigurationInput | None = strawberry.field(
        default=None, description="When no template is named."
    )
    template_name: str | None = strawberry.field(default=None, description="A saved CUSTOMER_PROMOTION template.")
    error_policy: ImportErrorPolicy = ImportErrorPolicy.KEEP_VALID
    dry_run: bool = strawberry.field(default=False, description="Validate the whole file and report; import nothing.")
    import_key: str | None = strawberry.field(default=None, description="The same key again returns the same job.")


@strawberry.input(
    description="A trackers file: the customer column (or user_group_identifier), bill_number + "
    "transaction_date + store_code or loyalty_log_id, item_id, tracked_value."
)
class ImportTrackerValuesInput:
    file: Upload
    configuration: TrackerImportConfigurationInput | None = strawberry.field(
        default=None, description="When no template is named."
    )
    template_name: str | None = strawberry.field(default=None, description="A saved TRACKERS template.")
    error_policy: ImportErrorPolicy = ImportErrorPolicy.KEEP_VALID
    dry_run: bool = strawberry.field(default=False, description="Validate the whole file and report; import nothing.")
    import_key: str | None = strawberry.field(default=None, description="The same key again returns the same job.")


@strawberry.input(description="Give the configuration of exactly one profile.")
class SaveImportTemplateInput:
    name: str
    points: PointsImportConfigurationInput | None = strawberry.field(
        default=None, description="The TALON_ONE_POINTS configuration."
    )
    customer_promotion: CustomerPromotionImportConfigurationInput | None = strawberry.field(
        default=None, description="The CUSTOMER_PROMOTION configuration."
    )
    tracker: TrackerImportConfigurationInput | None = strawberry.field(
        default=None, description="The TRACKERS configuration."
    )


ImportPointsResult = Annotated[
    ImportSubmitted | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("ImportPointsResult"),
]
SaveImportTemplateResult = Annotated[
    ImportTemplate | InvalidInputError | NotFoundError | ConflictError,
    strawberry.union("SaveImportTemplateResult"),
]


async def _chunks(upload: Any) -> Any:
    while chunk := await upload.read(UPLOAD_CHUNK_BYTES):
        yield chunk


def import_request(
    profile: DomainImportProfile,
    *,
    configuration: dict[str, Any] | None,
    template_name: str | None,
    error_policy: str,
    dry_run: bool,
    import_key: str | None,
) -> service.ImportRequest:
    return service.ImportRequest(
        profile=profile,
        template_name=template_name,
        configuration=configuration,
        error_policy=DomainErrorPolicy(error_policy),
        dry_run=dry_run,
        import_key=import_key,
    )


async def _template_name(info: Info, view: service.JobView) -> str | None:
    if view.template_id is None:
        return None
    async with info.context.database.read() as connection:
        for template in await service.list_templates(connection, view.org_id):
            if template.id == view.template_id:
                return template.name
    return None


async def _submit_upload(info: Info, profile: DomainImportProfile, input: Any) -> ImportSubmitted:
    """Store the upload, submit its job and queue it (the import mutations of every profile)."""
    settings = info.context.settings
    if (input.configuration is None) == (input.template_name is None):
        raise ValidationError("give either a configuration or a templateName", field="input.configuration")
    stored = await service.spool(
        _chunks(input.file),
        Path(settings.import_directory) / "uploads",
        settings.import_size_limit_bytes,
        getattr(input.file, "filename", None),
    )
    request = import_request(
        profile,
        configuration=input.configuration.to_domain() if input.configuration else None,
        template_name=input.template_name,
        error_policy=input.error_policy.value,
        dry_run=input.dry_run,
        import_key=input.import_key,
    )
    submitted = await service.submit(info.context.database, info.context.org, request, stored, now=info.context.now)
    if not submitted.existing:
        info.context.start_import(submitted.job.id)
    return ImportSubmitted(
        existing=submitted.existing, job=ImportJob.from_view(submitted.job, await _template_name(info, submitted.job))
    )


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description=(
            "Import Talon.One loyalty points from a CSV upload: returns the job at once (QUEUED), run in the "
            "background. The same file under the same configuration, or the same import key, returns the first job "
            "(existing: true)."
        )
    )
    async def import_points(self, info: Info, input: ImportPointsInput) -> ImportPointsResult:
        return await _submit_upload(info, DomainImportProfile.TALON_ONE_POINTS, input)

    @strawberry.mutation(
        description=(
            "Import customer promotion points from a CSV upload (profile CUSTOMER_PROMOTION); runs in the background "
            "like importPoints."
        )
    )
    async def import_customer_promotion(self, info: Info, input: ImportCustomerPromotionInput) -> ImportPointsResult:
        return await _submit_upload(info, DomainImportProfile.CUSTOMER_PROMOTION, input)

    @strawberry.mutation(
        description=(
            "Import tracked values on existing bills from a CSV upload (profile TRACKERS); runs in the background like "
            "importPoints."
        )
    )
    async def import_tracker_values(self, info: Info, input: ImportTrackerValuesInput) -> ImportPointsResult:
        return await _submit_upload(info, DomainImportProfile.TRACKERS, input)

    @strawberry.mutation(
        description="Create or update a saved import template (a changed configuration gets a new identity)."
    )
    async def save_import_template(self, info: Info, input: SaveImportTemplateInput) -> SaveImportTemplateResult:
        given = [
            (profile, configuration)
            for profile, configuration in (
                (DomainImportProfile.TALON_ONE_POINTS, input.points),
                (DomainImportProfile.CUSTOMER_PROMOTION, input.customer_promotion),
                (DomainImportProfile.TRACKERS, input.tracker),
            )
            if configuration is not None
        ]
        if len(given) != 1:
            raise ValidationError(
                "give the configuration of exactly one profile: points, customerPromotion or tracker",
                field="input.points",
            )
        [(profile, configuration)] = given
        view = await service.save_template(
            info.context.database,
            info.context.org,
            name=input.name,
            profile=profile,
            configuration=configuration.to_domain(),
            now=info.context.now,
        )
        return ImportTemplate.from_view(view)


@strawberry.type
class ImportJobPage:
    jobs: list[ImportJob]
    page_info: PageInfo


@strawberry.type
class ImportQuery:
    @strawberry.field(description="An import job of this organisation (null when there is none with this id).")
    async def import_job(self, info: Info, id: strawberry.ID) -> ImportJob | None:
        if not (str(id).isascii() and str(id).isdigit()) or len(str(id)) > 18:
            return None
        async with info.context.database.read() as connection:
            view = await service.get_job(connection, info.context.org.id, int(id))
        return ImportJob.from_view(view, await _template_name(info, view)) if view is not None else None

    @strawberry.field(description="This organisation's import jobs, newest first.")
    async def import_jobs(
        self, info: Info, first: int = 20, after: str | None = None, status: ImportJobStatus | None = None
    ) -> ImportJobPage:
        if not 1 <= first <= IMPORT_PAGE_SIZE_MAX:
            raise ValidationError(f"must be between 1 and {IMPORT_PAGE_SIZE_MAX}", field="first")
        before = decode_id_cursor("import", after)
        async with info.context.database.read() as connection:
            views, more = await service.list_jobs(
                connection,
                info.context.org.id,
                first=first,
                before_id=before,
                status=DomainJobStatus(status.value) if status else None,
            )
            names = {
                template.id: template.name for template in await service.list_templates(connection, info.context.org.id)
            }
        return ImportJobPage(
            jobs=[ImportJob.from_view(view, names.get(view.template_id)) for view in views],
            page_info=PageInfo(
                has_next_page=more, end_cursor=encode_id_cursor("import", views[-1].id) if views else None
            ),
        )

    @strawberry.field(description="Saved import templates, by name.")
    async def import_templates(self, info: Info) -> list[ImportTemplate]:
        async with info.context.database.read() as connection:
            views = await service.list_templates(connection, info.context.org.id)
        return [ImportTemplate.from_view(view) for view in views]
