"""importBehaviouralEvents: a file of behavioural events brands' systems captured, imported in the background."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.imports.inputs import ImportBehaviouralEventsInput
from app.graphql.imports.types import ImportPointsResult
from app.graphql.imports.uploads import submit_upload
from app.imports.models import ImportProfile as DomainImportProfile


@strawberry.type
class ImportBehaviouralEventsMutation:
    @strawberry.mutation(
        description=(
            "Import behavioural events from a CSV upload (profile BEHAVIOURAL_EVENTS), as recordBehaviouralEvents "
            "records them; runs in the background like importPoints."
        )
    )
    async def import_behavioural_events(self, info: Info, input: ImportBehaviouralEventsInput) -> ImportPointsResult:
        return await submit_upload(info, DomainImportProfile.BEHAVIOURAL_EVENTS, input)
