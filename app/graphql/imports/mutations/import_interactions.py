"""importInteractions: a file of messages brands' systems sent or received, imported in the background."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.imports.inputs import ImportInteractionsInput
from app.graphql.imports.types import ImportPointsResult
from app.graphql.imports.uploads import submit_upload
from app.imports.models import ImportProfile as DomainImportProfile


@strawberry.type
class ImportInteractionsMutation:
    @strawberry.mutation(
        description=(
            "Import interactions from a CSV upload (profile INTERACTIONS), as recordInteractions records them; runs in "
            "the background like importPoints."
        )
    )
    async def import_interactions(self, info: Info, input: ImportInteractionsInput) -> ImportPointsResult:
        return await submit_upload(info, DomainImportProfile.INTERACTIONS, input)
