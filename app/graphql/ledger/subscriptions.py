"""The customer's events, live over WebSocket (graphql-transport-ws): app/subscriptions."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.graphql.core.errors import InvalidInputError, NotFoundError, to_graphql_error
from app.graphql.core.subscription_context import SubscriptionInfo
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.ledger.types import CustomerEvent, CustomerLedgerResult
from app.kernel.decimals import ID_MAX, read_whole_number
from app.kernel.errors import DomainError, ValidationError
from app.subscriptions import service as subscriptions


@strawberry.type
class LedgerSubscription:
    @strawberry.subscription(
        description=(
            "The customer's events as they commit, in order: with `after` (an event id), first every event after it "
            "(to resume after a reconnect), then live. A customer of another organisation: one NotFoundError."
        )
    )
    async def customer_ledger(
        self, info: SubscriptionInfo, customer: CustomerLookupInput, after: strawberry.ID | None = None
    ) -> AsyncGenerator[CustomerLedgerResult, None]:
        try:
            after_id = None if after is None else read_whole_number(str(after), ID_MAX, minimum=0)
            if after is not None and after_id is None:
                raise ValidationError("must be an event id (a whole number)", field="after")
            events = await subscriptions.open_customer_ledger(
                info.context.streams, info.context.caller_org, customer.to_domain(), after_id
            )
        except DomainError as error:
            info.context.error_codes.append(error.code)
            yield to_graphql_error(error, (NotFoundError, InvalidInputError))
            return
        async for event in events:
            yield CustomerEvent.from_view(event)
