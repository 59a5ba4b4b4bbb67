"""Input types of loyalty cards."""

from __future__ import annotations

import strawberry

from app.cards.service import CardIssue, CardStatusChange
from app.graphql.cards.types import CardStatusEnum
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.transactions.types import TransactionSourceEnum
from app.kernel.enums import TransactionSource

SOURCE_DESCRIPTION = "Where the request came from (the identifier history's Source for the card's number)."
ACCOUNT_DESCRIPTION = "The source's account, for sources with several (WeChat, MartJack): at most 64."


@strawberry.input(description="A new ACTIVE card of a program for a customer.")
class IssueCardInput:
    customer: CustomerLookupInput
    program_code: str
    number: str = strawberry.field(description="Unique among the program's cards (numbers and external ids).")
    external_id: str | None = strawberry.field(default=None, description="The brand's own id of the card.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)
    source: TransactionSourceEnum = strawberry.field(default=TransactionSource.INSTORE, description=SOURCE_DESCRIPTION)
    account: str | None = strawberry.field(default=None, description=ACCOUNT_DESCRIPTION)

    def to_domain(self) -> CardIssue:
        return CardIssue(
            customer=self.customer.to_domain(),
            program_code=self.program_code,
            number=self.number,
            external_id=self.external_id,
            idempotency_key=self.idempotency_key,
            source=TransactionSource(self.source).value,
            account=self.account,
        )


@strawberry.input(description="A card's new status; REPLACED with the new card's number (and external id).")
class SetCardStatusInput:
    program_code: str
    number: str
    status: CardStatusEnum
    new_number: str | None = None
    new_external_id: str | None = None
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)
    source: TransactionSourceEnum = strawberry.field(default=TransactionSource.INSTORE, description=SOURCE_DESCRIPTION)
    account: str | None = strawberry.field(default=None, description=ACCOUNT_DESCRIPTION)

    def to_domain(self) -> CardStatusChange:
        return CardStatusChange(
            program_code=self.program_code,
            number=self.number,
            status=self.status,
            new_number=self.new_number,
            new_external_id=self.new_external_id,
            source=TransactionSource(self.source).value,
            account=self.account,
            idempotency_key=self.idempotency_key,
        )
