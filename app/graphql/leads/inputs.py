"""Input types of leads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.leads.types import LeadStatus
from app.leads import service


@strawberry.input(description="An extended field of a lead.")
class LeadExtendedFieldInput:
    name: str = strawberry.field(description="A code of 1 to 50 characters, once per lead.")
    value: str = strawberry.field(description="At most 500 characters.")


@strawberry.input(description="A new lead for a customer (its owner).")
class CreateLeadInput:
    customer: CustomerLookupInput
    lead_type: str = strawberry.field(description="Product (SKU) or category; 1 to 100 characters.")
    lead_for: str = strawberry.field(description="Product SKU, variant SKU or category id; 1 to 100 characters.")
    status: LeadStatus = LeadStatus.OPEN
    sub_status: str | None = strawberry.field(default=None, description="At most 100 characters.")
    extended_fields: list[LeadExtendedFieldInput] = strawberry.field(default_factory=list, description="At most 20.")
    next_follow_up_at: datetime | None = strawberry.field(default=None, description="In the future.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> service.CreateLeadRequest:
        return service.CreateLeadRequest(
            customer=self.customer.to_domain(),
            lead_type=self.lead_type,
            lead_for=self.lead_for,
            status=service.LeadStatus(self.status.value),
            sub_status=self.sub_status,
            extended_fields=tuple((field.name, field.value) for field in self.extended_fields),
            next_follow_up_at=self.next_follow_up_at,
            idempotency_key=self.idempotency_key,
        )


@strawberry.input(description="A lead's new status and sub-status.")
class UpdateLeadStatusInput:
    lead_id: strawberry.ID
    status: LeadStatus
    sub_status: str | None = strawberry.field(default=None, description="Empty clears it; at most 100 characters.")


@strawberry.input(description="A follow-up of a lead.")
class AddLeadFollowUpInput:
    lead_id: strawberry.ID
    followed_up_at: datetime | None = strawberry.field(
        default=None, description="The last follow-up (may be a scheduled time); now when omitted."
    )
    next_follow_up_at: datetime | None = strawberry.field(
        default=None, description="After now and after followedUpAt; empty: none planned."
    )
