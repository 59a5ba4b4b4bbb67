"""createLead: a new lead for a customer."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.leads.inputs import CreateLeadInput
from app.graphql.leads.types import LeadChanged, LeadResultUnion
from app.leads import service


@strawberry.type
class CreateLeadMutation:
    @strawberry.mutation(description="A new lead for a customer (its owner), with its first status in its history.")
    async def create_lead(self, info: Info, input: CreateLeadInput) -> LeadResultUnion:
        result = await service.create_lead(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        return LeadChanged.from_result(result)
