"""importOpeningBalances: opening balances brought from another system (profile OPENING_BALANCES, seed 003's
PointsLedgerBulkJob), imported in the background."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.imports.inputs import ImportOpeningBalancesInput
from app.graphql.imports.types import ImportPointsResult
from app.graphql.imports.uploads import submit_upload
from app.imports.models import ImportProfile as DomainImportProfile


@strawberry.type
class ImportOpeningBalancesMutation:
    @strawberry.mutation(
        description=(
            "Import opening balances from a CSV upload (profile OPENING_BALANCES), before any other history of the "
            "accounts they open; runs in the background like importPoints."
        )
    )
    async def import_opening_balances(self, info: Info, input: ImportOpeningBalancesInput) -> ImportPointsResult:
        return await submit_upload(info, DomainImportProfile.OPENING_BALANCES, input)
