"""Member-care and admin operations: mergeCustomers (any API key of the org) and the
reconciliation query (admin API keys only: `pointledger apikey create --admin`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from app.customers.service import MergeResult, merge_on_request
from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.core.errors import (
    ConflictError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
)
from app.graphql.customers import Customer, CustomerLookupInput
from app.graphql.organization.types import PointsCategoryEnum
from app.kernel.enums import PointsCategory
from app.kernel.errors import ForbiddenError as DomainForbiddenError
from app.ledger.service import reconciliation_report


@strawberry.input(
    description="Merge the victim into the survivor: identifiers, points and purchases move; both ledgers stay."
)
class MergeCustomersInput:
    survivor: CustomerLookupInput
    victim: CustomerLookupInput
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.type(
    description="The victim was merged into the survivor (or, sent again with the same idempotency key, had been)."
)
class CustomersMerged:
    survivor: Customer
    victim_user_id: strawberry.ID = strawberry.field(
        description="The merged customer: its user id still finds its ledger, which ends with the merge."
    )
    replayed: bool = strawberry.field(
        description="True when this is the first result of an earlier request: nothing was written."
    )


MergeCustomersResult = Annotated[
    CustomersMerged | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("MergeCustomersResult"),
]


def _merged(info: Info, result: MergeResult) -> CustomersMerged:
    info.context.customers.prime(result.survivor.id, result.survivor)
    return CustomersMerged(
        survivor=Customer.from_view(result.survivor),
        victim_user_id=strawberry.ID(str(result.victim_id)),
        replayed=result.replayed,
    )


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description=(
            "Merge two customers of the organisation (member care). The victim's balances move to the survivor in one "
            "MERGE_CUSTOMER event whose debit is the victim's last ledger entry; errors: SAME_CUSTOMER, CUSTOMER_MERGED, "
            "CUSTOMER_NOT_FOUND."
        )
    )
    async def merge_customers(self, info: Info, input: MergeCustomersInput) -> MergeCustomersResult:
        result = await merge_on_request(
            info.context.database,
            info.context.org,
            survivor=input.survivor.to_domain(),
            victim=input.victim.to_domain(),
            idempotency_key=input.idempotency_key,
            now=info.context.now,
        )
        return _merged(info, result)


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
