"""addLeadFollowUp: record a lead's last follow-up and schedule its next one."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.leads.inputs import AddLeadFollowUpInput
from app.graphql.leads.types import LeadChanged, LeadResultUnion
from app.leads import service


@strawberry.type
class AddLeadFollowUpMutation:
    @strawberry.mutation(description="Record a lead's last follow-up and its next one (empty: none planned).")
    async def add_lead_follow_up(self, info: Info, input: AddLeadFollowUpInput) -> LeadResultUnion:
        result = await service.add_follow_up(
            info.context.database,
            info.context.org,
            str(input.lead_id),
            input.followed_up_at,
            input.next_follow_up_at,
            now=info.context.now,
        )
        return LeadChanged.from_result(result)
