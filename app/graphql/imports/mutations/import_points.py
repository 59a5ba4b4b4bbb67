"""importPoints: a Talon.One loyalty points file, imported in the background."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.imports.inputs import ImportPointsInput
from app.graphql.imports.types import ImportPointsResult
from app.graphql.imports.uploads import submit_upload
from app.imports.models import ImportProfile as DomainImportProfile


@strawberry.type
class ImportPointsMutation:
    @strawberry.mutation(
        description=(
            "Import Talon.One loyalty points from a CSV upload: returns the job at once (QUEUED), run in the "
            "background. The same file under the same configuration, or the same import key, returns the first job "
            "(existing: true)."
        )
    )
    async def import_points(self, info: Info, input: ImportPointsInput) -> ImportPointsResult:
        return await submit_upload(info, DomainImportProfile.TALON_ONE_POINTS, input)
