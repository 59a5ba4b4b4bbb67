"""importCustomerPromotion: a customer promotion points file, imported in the background."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.imports.inputs import ImportCustomerPromotionInput
from app.graphql.imports.types import ImportPointsResult
from app.graphql.imports.uploads import submit_upload
from app.imports.models import ImportProfile as DomainImportProfile


@strawberry.type
class ImportCustomerPromotionMutation:
    @strawberry.mutation(
        description=(
            "Import customer promotion points from a CSV upload (profile CUSTOMER_PROMOTION); runs in the background "
            "like importPoints."
        )
    )
    async def import_customer_promotion(self, info: Info, input: ImportCustomerPromotionInput) -> ImportPointsResult:
        return await submit_upload(info, DomainImportProfile.CUSTOMER_PROMOTION, input)
