"""Member-care and admin operations: mergeCustomers (any API key of the org) and the
reconciliation query (admin API keys only: `pointledger apikey create --admin`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ForbiddenError,
)
from app.graphql.organization.types import PointsCategoryEnum
from app.kernel.enums import PointsCategory
from app.kernel.errors import ForbiddenError as DomainForbiddenError
from app.ledger.service import reconciliation_report


@strawberry.type(description="An account whose stored figure differs from what its ledger entries give.")
class ReconciliationDiscrepancy:
    account_id: strawberry.ID
    customer_id: strawberry.ID
    program_code: str
    category: PointsCategoryEnum
    check: str = strawberry.field(
        description=(
            "balance, a counter (earned, redeemed, expired, returned, adjusted), last_balance_after, "
            "opening_balance_entry, lots_total, or 'lot N remaining'."
        )
    )
    stored: Decimal
    computed: Decimal = strawberry.field(description="What the ledger entries (or lot movements) give.")


@strawberry.type(description="Every account of the organisation recomputed from its ledger.")
class Reconciliation:
    checked_accounts: int
    discrepancies: list[ReconciliationDiscrepancy] = strawberry.field(description="Empty when every account agrees.")


ReconciliationResult = Annotated[Reconciliation | ForbiddenError, strawberry.union("ReconciliationResult")]


@strawberry.type
class AdminQuery:
    @strawberry.field(
        description="Recompute every balance, counter and lot of the organisation from the ledger (admin keys only)."
    )
    async def reconciliation(self, info: Info) -> ReconciliationResult:
        if not info.context.is_admin:
            raise DomainForbiddenError("reconciliation needs an admin API key")
        org = info.context.org
        async with info.context.database.read() as connection:
            report = await reconciliation_report(connection, org_id=org.id)
        return Reconciliation(
            checked_accounts=report.checked_accounts,
            discrepancies=[
                ReconciliationDiscrepancy(
                    account_id=strawberry.ID(str(item.account_id)),
                    customer_id=strawberry.ID(str(item.customer_id)),
                    program_code=org.program(item.program_id).code,
                    category=PointsCategory(item.category),
                    check=item.counter,
                    stored=item.stored,
                    computed=item.from_entries,
                )
                for item in report.discrepancies
            ],
        )
