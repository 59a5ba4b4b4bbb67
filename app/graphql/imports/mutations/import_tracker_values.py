"""importTrackerValues: a file of tracked values on existing bills, imported in the background."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.imports.inputs import ImportTrackerValuesInput
from app.graphql.imports.types import ImportPointsResult
from app.graphql.imports.uploads import submit_upload
from app.imports.models import ImportProfile as DomainImportProfile


@strawberry.type
class ImportTrackerValuesMutation:
    @strawberry.mutation(
        description=(
            "Import tracked values on existing bills from a CSV upload (profile TRACKERS); runs in the background like "
            "importPoints."
        )
    )
    async def import_tracker_values(self, info: Info, input: ImportTrackerValuesInput) -> ImportPointsResult:
        return await submit_upload(info, DomainImportProfile.TRACKERS, input)
