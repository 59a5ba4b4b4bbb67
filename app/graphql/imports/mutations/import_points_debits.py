"""importPointsDebits: a file of historic redemptions and expiries (profile POINTS_DEBITS), imported in the
background."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.imports.inputs import ImportPointsDebitsInput
from app.graphql.imports.types import ImportPointsResult
from app.graphql.imports.uploads import submit_upload
from app.imports.models import ImportProfile as DomainImportProfile


@strawberry.type
class ImportPointsDebitsMutation:
    @strawberry.mutation(
        description=(
            "Import historic redemptions and expiries from a CSV upload (profile POINTS_DEBITS), after the opening "
            "balances and credits they take from; runs in the background like importPoints."
        )
    )
    async def import_points_debits(self, info: Info, input: ImportPointsDebitsInput) -> ImportPointsResult:
        return await submit_upload(info, DomainImportProfile.POINTS_DEBITS, input)
