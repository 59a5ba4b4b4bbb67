"""Input types of points transfers, and the filter of a customer's list of transfers."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.kernel.enums import PointsCategory
from app.kernel.errors import ValidationError
from app.ledger.views import TransferCategories
from app.organizations.config import OrgConfig
from app.transfers.service import TransferRequest


@strawberry.input(description="Points to move from one customer to another of the same organisation and program.")
class TransferPointsInput:
    from_: CustomerLookupInput = strawberry.field(name="from", description="The sender.")
    to: CustomerLookupInput = strawberry.field(description="The receiver.")
    points: Decimal = strawberry.field(description="More than 0, no finer than the program counts points.")
    program_code: str | None = strawberry.field(default=None, description="The org's default program when omitted.")
    notes: str | None = strawberry.field(default=None, description="At most 1,000 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> TransferRequest:
        return TransferRequest(
            sender=self.from_.to_domain(),
            receiver=self.to.to_domain(),
            points=self.points,
            program_code=self.program_code,
            notes=self.notes,
            idempotency_key=self.idempotency_key,
        )


@strawberry.enum(description="What a transfer moved: points, or units of an alternate currency.")
class TransferKind(Enum):
    POINTS = "POINTS"
    ALTERNATE_CURRENCY = "ALTERNATE_CURRENCY"


@strawberry.input(description="Which of a customer's transfers to list; with neither field, points and every currency.")
class PointsTransferFilterInput:
    kind: TransferKind | None = strawberry.field(
        default=None, description="Only points transfers, or only alternate currency transfers."
    )
    alternate_currency: str | None = strawberry.field(
        default=None,
        description=(
            "Only the transfers of this alternate currency (its identifier, as ledgerEntries' filter takes it). "
            "Not with kind POINTS."
        ),
    )

    def to_domain(self, org: OrgConfig) -> TransferCategories:
        """The ledger categories the list shows: one currency's, points' (REGULAR), every
        currency's, or all."""
        if self.alternate_currency is not None:
            if self.kind is TransferKind.POINTS:
                raise ValidationError(
                    "a currency's transfers are not points transfers", field="filter.alternateCurrency"
                )
            category = org.declared_currency_category(self.alternate_currency, "filter.alternateCurrency")
            return TransferCategories(category=category.value)
        if self.kind is TransferKind.POINTS:
            return TransferCategories(category=PointsCategory.REGULAR.value)
        return TransferCategories(currencies_only=self.kind is TransferKind.ALTERNATE_CURRENCY)
