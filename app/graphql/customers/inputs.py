"""Input types of customers: how a request names a customer (and resolves it to an id), and a merge."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers.errors import CustomerNotFoundError
from app.customers.identifiers import IdentifierChange
from app.customers.service import CustomerLookup, find_customer_id
from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.types import CustomerLookupType
from app.graphql.organization.types import IdentifierTypeEnum
from app.graphql.transactions.types import TransactionSourceEnum
from app.kernel.enums import IdentifierType, TransactionSource


@strawberry.input
class CustomerLookupInput:
    type: CustomerLookupType
    value: str

    def to_domain(self) -> CustomerLookup:
        return CustomerLookup(
            None if self.type is CustomerLookupType.USER_ID else IdentifierType(self.type.value), self.value
        )


async def customer_id_for(
    info: Info, connection: AsyncConnection, lookup: CustomerLookupInput, field: str = "customer"
) -> int:
    """The id of the customer the lookup names, in the caller's org; a typed error otherwise."""
    named = lookup.to_domain()
    customer_id = await find_customer_id(connection, info.context.org, named.kind, named.value, f"{field}.value")
    if customer_id is None:
        raise CustomerNotFoundError(f"no customer with {lookup.type.value} {lookup.value!r}", field=field)
    return customer_id


@strawberry.input(
    description="Merge the victim into the survivor: identifiers, points and purchases move; both ledgers stay."
)
class MergeCustomersInput:
    survivor: CustomerLookupInput
    victim: CustomerLookupInput
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(
    description=(
        "Add, replace or remove one identifier of a customer: `add` alone adds, `remove` alone removes, both replace "
        "(of the one `type`). A value another customer owns is refused (IDENTIFIER_TAKEN) unless `merge` is true: "
        "then that customer is merged into this one, bringing the value."
    )
)
class ChangeIdentifierInput:
    customer: CustomerLookupInput
    type: IdentifierTypeEnum
    add: str | None = None
    remove: str | None = None
    source: TransactionSourceEnum = strawberry.field(
        default=TransactionSource.INSTORE, description="Where the request came from (the history's Source)."
    )
    account: str | None = strawberry.field(
        default=None, description="The source's account, for sources with several (WeChat, MartJack): at most 64."
    )
    merge: bool = False
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> IdentifierChange:
        return IdentifierChange(
            customer=self.customer.to_domain(),
            kind=IdentifierType(self.type),
            add=self.add,
            remove=self.remove,
            source=TransactionSource(self.source).value,
            account=self.account,
            merge=self.merge,
            idempotency_key=self.idempotency_key,
        )
