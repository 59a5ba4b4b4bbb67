"""Output types of member care's slab history: one change of a customer's tier, and a page of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeAlias

import strawberry

from app.customers.models import TierChangeCause, TierChangeKind
from app.customers.tiers import TierChangeRecord
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.core.pagination import PageInfo
from app.graphql.organization.types import Tier
from app.organizations.config import OrgConfig

strawberry.enum(
    TierChangeKind,
    name="TierChangeKind",
    description="UPGRADE, DOWNGRADE, or EXPIRY (the tier's validity ended: back to the base tier).",
)  # registers the domain enum itself: the class is the schema's enum
TierChangeKindEnum: TypeAlias = TierChangeKind
strawberry.enum(
    TierChangeCause,
    name="TierChangeCause",
    description=(
        "PURCHASE (a bill, transactionId), RETURN (a return, transactionId), MERGE (another customer's purchases "
        "moved here), TIER_EXPIRY (the maintenance run)."
    ),
)  # registers the domain enum itself: the class is the schema's enum
TierChangeCauseEnum: TypeAlias = TierChangeCause


@strawberry.type(description="One change of a customer's tier in a program (the seed's Slab History).")
class TierChange:
    id: strawberry.ID
    program_code: str
    kind: TierChangeKindEnum
    cause: TierChangeCauseEnum
    from_tier: Tier
    to_tier: Tier
    tier_expires_at: datetime | None = strawberry.field(description="The new tier's validity end; null: no end.")
    transaction_id: strawberry.ID | None = strawberry.field(description="The bill or return that caused it.")
    created_at: datetime

    @classmethod
    def from_record(cls, record: TierChangeRecord, org: OrgConfig) -> TierChange:
        program = org.program(record.program_id)
        return cls(
            id=strawberry.ID(str(record.id)),
            program_code=program.code,
            kind=record.kind,
            cause=record.cause,
            from_tier=Tier.from_config(program.tier(record.tier_id_before)),
            to_tier=Tier.from_config(program.tier(record.tier_id_after)),
            tier_expires_at=record.tier_expires_at_after,
            transaction_id=strawberry.ID(str(record.transaction_id)) if record.transaction_id is not None else None,
            created_at=record.created_at,
        )


@strawberry.type
class TierHistoryPage:
    customer_id: strawberry.ID
    records: list[TierChange]
    page_info: PageInfo


CustomerTierHistoryResult = Annotated[
    TierHistoryPage | InvalidInputError | NotFoundError, strawberry.union("CustomerTierHistoryResult")
]
