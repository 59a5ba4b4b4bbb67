"""updateLeadStatus: a lead's new status and sub-status."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.leads.inputs import UpdateLeadStatusInput
from app.graphql.leads.types import LeadChanged, LeadResultUnion
from app.leads import service


@strawberry.type
class UpdateLeadStatusMutation:
    @strawberry.mutation(
        description="Set a lead's status and sub-status; a change adds to its history, the same values add nothing."
    )
    async def update_lead_status(self, info: Info, input: UpdateLeadStatusInput) -> LeadResultUnion:
        result = await service.update_lead_status(
            info.context.database,
            info.context.org,
            str(input.lead_id),
            service.LeadStatus(input.status.value),
            input.sub_status,
            now=info.context.now,
        )
        return LeadChanged.from_result(result)
