"""Storing an uploaded file and submitting its import job: what importPoints, importCustomerPromotion
and importTrackerValues share.

The file comes as a multipart upload (the GraphQL multipart request spec); the mutation stores
it, submits a job and returns it at once, QUEUED (or the job that already had this file or
import key). The server's runner imports it in the background; query importJob to follow it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.graphql.core.context import Info
from app.graphql.imports.types import ImportJob, ImportSubmitted, job_template_name
from app.imports import service
from app.imports.models import ErrorPolicy as DomainErrorPolicy
from app.imports.models import ImportProfile as DomainImportProfile
from app.kernel.errors import ValidationError

UPLOAD_CHUNK_BYTES = 1024 * 1024


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


async def submit_upload(info: Info, profile: DomainImportProfile, input: Any) -> ImportSubmitted:
    """Store the upload, submit its job and queue it (the import mutations of every profile)."""
    settings = info.context.settings
    # The Upload scalar takes any value: a file is only what the multipart request put there.
    if not callable(getattr(input.file, "read", None)):
        raise ValidationError(
            "send the file as a multipart upload (the GraphQL multipart request spec)", field="input.file"
        )
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
        existing=submitted.existing,
        job=ImportJob.from_view(submitted.job, await job_template_name(info, submitted.job)),
    )
