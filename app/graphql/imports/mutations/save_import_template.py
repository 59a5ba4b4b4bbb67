"""saveImportTemplate: create or update a saved import configuration."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.graphql.imports.inputs import SaveImportTemplateInput
from app.graphql.imports.types import ImportTemplate
from app.imports import service
from app.imports.models import ImportProfile as DomainImportProfile
from app.kernel.errors import ValidationError

SaveImportTemplateResult = Annotated[
    ImportTemplate | InvalidInputError | NotFoundError | ConflictError,
    strawberry.union("SaveImportTemplateResult"),
]


@strawberry.type
class SaveImportTemplateMutation:
    @strawberry.mutation(
        description="Create or update a saved import template (a changed configuration gets a new identity)."
    )
    async def save_import_template(self, info: Info, input: SaveImportTemplateInput) -> SaveImportTemplateResult:
        given = [
            (profile, configuration)
            for profile, configuration in (
                (DomainImportProfile.TALON_ONE_POINTS, input.points),
                (DomainImportProfile.CUSTOMER_PROMOTION, input.customer_promotion),
                (DomainImportProfile.TRACKERS, input.tracker),
                (DomainImportProfile.INTERACTIONS, input.interactions),
                (DomainImportProfile.BEHAVIOURAL_EVENTS, input.behavioural_events),
            )
            if configuration is not None
        ]
        if len(given) != 1:
            raise ValidationError(
                "give the configuration of exactly one profile: points, customerPromotion, tracker, interactions or "
                "behaviouralEvents",
                field="input.points",
            )
        [(profile, configuration)] = given
        view = await service.save_template(
            info.context.database,
            info.context.org,
            name=input.name,
            profile=profile,
            configuration=configuration.to_domain(),
            now=info.context.now,
        )
        return ImportTemplate.from_view(view)
