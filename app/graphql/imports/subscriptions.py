"""An import job's progress, live over WebSocket (graphql-transport-ws): app/subscriptions."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import cast

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import NotFoundError, to_graphql_error
from app.graphql.core.subscription_context import SubscriptionInfo
from app.graphql.imports.types import ImportJob, ImportJobStreamResult, job_template_name
from app.imports.errors import ImportJobNotFoundError
from app.kernel.decimals import ID_MAX, read_whole_number
from app.kernel.errors import DomainError
from app.subscriptions import service as subscriptions


@strawberry.type
class ImportSubscription:
    @strawberry.subscription(
        description=(
            "The import job as it is now, then again as it moves on (progress read about every second), until it is "
            "DONE or FAILED (its import_job.finished event): then the stream completes. A job of another "
            "organisation: one NotFoundError."
        )
    )
    async def import_job(
        self, info: SubscriptionInfo, id: strawberry.ID
    ) -> AsyncGenerator[ImportJobStreamResult, None]:
        try:
            job_id = read_whole_number(str(id), ID_MAX)
            if job_id is None:
                raise ImportJobNotFoundError(f"no import job {id}", field="id")
            updates = await subscriptions.open_import_job(info.context.streams, info.context.caller_org.id, job_id)
        except DomainError as error:
            info.context.error_codes.append(error.code)
            yield to_graphql_error(error, (NotFoundError,))
            return
        template_name = None
        async for job in updates:
            if template_name is None and job.template_id is not None:  # reads only `database` of the context
                template_name = await job_template_name(cast(Info, info), job)
            yield ImportJob.from_view(job, template_name)
