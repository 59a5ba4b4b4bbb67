"""Import queries: a job, the organisation's jobs, and its saved templates."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.pagination import decode_id_cursor, page_info_after
from app.graphql.imports.types import (
    IMPORT_PAGE_SIZE_MAX,
    ImportJob,
    ImportJobPage,
    ImportJobStatus,
    ImportTemplate,
    job_template_name,
)
from app.imports import service
from app.imports.models import JobStatus as DomainJobStatus
from app.kernel.decimals import ID_MAX, read_whole_number
from app.kernel.errors import ValidationError


@strawberry.type
class ImportQuery:
    @strawberry.field(description="An import job of this organisation (null when there is none with this id).")
    async def import_job(self, info: Info, id: strawberry.ID) -> ImportJob | None:
        job_id = read_whole_number(str(id), ID_MAX)
        if job_id is None:
            return None
        async with info.context.database.read() as connection:
            view = await service.get_job(connection, info.context.org.id, job_id)
        return ImportJob.from_view(view, await job_template_name(info, view)) if view is not None else None

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
            jobs=[
                ImportJob.from_view(view, names.get(view.template_id) if view.template_id is not None else None)
                for view in views
            ],
            page_info=page_info_after("import", [row.id for row in views[-1:]], more),
        )

    @strawberry.field(description="Saved import templates, by name.")
    async def import_templates(self, info: Info) -> list[ImportTemplate]:
        async with info.context.database.read() as connection:
            views = await service.list_templates(connection, info.context.org.id)
        return [ImportTemplate.from_view(view) for view in views]
