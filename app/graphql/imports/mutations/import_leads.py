"""importLeads: customers' leads from a CSV upload (profile LEADS), imported in the background."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.imports.inputs import ImportLeadsInput
from app.graphql.imports.types import ImportPointsResult
from app.graphql.imports.uploads import submit_upload
from app.imports.models import ImportProfile as DomainImportProfile


@strawberry.type
class ImportLeadsMutation:
    @strawberry.mutation(
        description=(
            "Import customers' leads from a CSV upload (profile LEADS); runs in the background like importPoints."
        )
    )
    async def import_leads(self, info: Info, input: ImportLeadsInput) -> ImportPointsResult:
        return await submit_upload(info, DomainImportProfile.LEADS, input)
