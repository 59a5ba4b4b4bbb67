"""Output types of leads: a lead with its eleven fields of seed 004 and its status history."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from app.graphql.core.errors import ConflictError, IdempotencyKeyReusedError, InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo
from app.leads.service import LeadResult, LeadView, StatusChangeView


@strawberry.enum(description="A lead's status: OPEN and IN_PROGRESS are live, WON and LOST close it (it may reopen).")
class LeadStatus(Enum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    WON = "WON"
    LOST = "LOST"


@strawberry.type(description="An extended field of a lead: a name and its text value.")
class LeadExtendedField:
    name: str
    value: str


@strawberry.type(description="A status (and sub-status) a lead took, and when.")
class LeadStatusChange:
    status: LeadStatus
    sub_status: str | None
    changed_at: datetime

    @classmethod
    def from_view(cls, view: StatusChangeView) -> LeadStatusChange:
        return cls(status=LeadStatus(view.status), sub_status=view.sub_status, changed_at=view.changed_at)


@strawberry.type(description="A lead of a customer (one line of seed 004's Leads tab).")
class Lead:
    id: strawberry.ID = strawberry.field(description="The lead id.")
    lead_type: str = strawberry.field(description="Product (SKU) or category the lead is for.")
    lead_for: str = strawberry.field(description="The product SKU, variant SKU or category id.")
    status: LeadStatus
    sub_status: str | None = strawberry.field(description="The brand's free text, e.g. 'Callback requested'.")
    owner_user_id: strawberry.ID = strawberry.field(description="The lead owner: always the customer.")
    created_at: datetime
    updated_at: datetime
    last_follow_up_at: datetime | None = strawberry.field(description="The latest contact (may be a scheduled one).")
    next_follow_up_at: datetime | None
    extended_fields: list[LeadExtendedField] = strawberry.field(description="By name.")
    status_history: list[LeadStatusChange] = strawberry.field(description="Oldest first; the first is the creation.")

    @classmethod
    def from_view(cls, view: LeadView) -> Lead:
        return cls(
            id=strawberry.ID(str(view.id)),
            lead_type=view.lead_type,
            lead_for=view.lead_for,
            status=LeadStatus(view.status),
            sub_status=view.sub_status,
            owner_user_id=strawberry.ID(str(view.customer_id)),
            created_at=view.created_at,
            updated_at=view.updated_at,
            last_follow_up_at=view.last_follow_up_at,
            next_follow_up_at=view.next_follow_up_at,
            extended_fields=[
                LeadExtendedField(name=name, value=str(value)) for name, value in sorted(view.extended_fields.items())
            ],
            status_history=[LeadStatusChange.from_view(change) for change in view.status_history],
        )


@strawberry.type(description="The lead as it is after the request (or, replayed, as it was first written).")
class LeadChanged:
    lead: Lead
    replayed: bool

    @classmethod
    def from_result(cls, result: LeadResult) -> LeadChanged:
        return cls(lead=Lead.from_view(result.lead), replayed=result.replayed)


@strawberry.type
class LeadPage:
    customer_id: strawberry.ID
    leads: list[Lead]
    page_info: PageInfo


# Shared by createLead, updateLeadStatus and addLeadFollowUp.
LeadResultUnion = Annotated[
    LeadChanged | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("LeadResult"),
]
CustomerLeadsResult = Annotated[LeadPage | NotFoundError | InvalidInputError, strawberry.union("CustomerLeadsResult")]
