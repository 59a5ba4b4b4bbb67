"""Returns: the returnTransaction mutation (seed 001, Return Transaction)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.core.errors import (
    ConflictError,
    DuplicateBillNumberError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    ReturnExceedsBillError,
)
from app.graphql.transactions import (
    CustomerInput,
    ItemStatus,
    LineItemTypeEnum,
    NameValueInput,
    OutlierStatusEnum,
    ReturnTypeEnum,
    SubItemInput,
    Transaction,
    TransactionSourceEnum,
    _pairs,
    _sub_items,
)
from app.kernel.enums import TransactionSource
from app.transactions import inputs
from app.transactions.models import LineItemType, OutlierStatus, ReturnType, TransactionType
from app.transactions.return_rules import ReturnInput, ReturnLineInput
from app.transactions.returns import RETURNED_CODE, ReturnResult, return_transaction


@strawberry.enum(
    name="ReturnTransactionType",
    description=(
        "RETURN: a loyalty bill comes back; NOT_INTERESTED_RETURN: a NOT_INTERESTED bill comes back; MIXED: an exchange, "
        "whose RETURN lines come back and whose REGULAR lines are a new purchase."
    ),
)
class ReturnTransactionType(Enum):
    RETURN = "RETURN"
    NOT_INTERESTED_RETURN = "NOT_INTERESTED_RETURN"
    MIXED = "MIXED"


@strawberry.input(
    description=(
        "A line of a return. RETURN lines name a line of the purchased bill by serial (or by itemCode, with variant) and a "
        "qty; they are worth qty x that line's amount per unit, whatever else they say. REGULAR lines (MIXED only) are "
        "the exchange's new purchase, read like addTransaction's lines."
    )
)
class ReturnLineItemInput:
    qty: Decimal
    type: LineItemTypeEnum = LineItemType.RETURN
    serial: int | None = strawberry.field(default=None, description="RETURN lines: the purchased line's serial.")
    item_code: str | None = None
    variant: str | None = None
    transaction_number: str | None = None
    description: str | None = None
    rate: Decimal | None = None
    value: Decimal | None = None
    discount: Decimal | None = None
    amount: Decimal | None = None
    outlier_status: OutlierStatusEnum = OutlierStatus.NORMAL
    attributes: list[NameValueInput] = strawberry.field(default_factory=list)
    extended_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    custom_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    addon_items: list[SubItemInput] = strawberry.field(default_factory=list)
    combo_items: list[SubItemInput] = strawberry.field(default_factory=list)
    split_items: list[SubItemInput] = strawberry.field(default_factory=list)

    def to_domain(self) -> ReturnLineInput:
        return ReturnLineInput(
            type=LineItemType(self.type),
            line=inputs.LineItemInput(
                item_code=self.item_code or "",
                qty=self.qty,
                serial=self.serial,
                transaction_number=self.transaction_number,
                variant=self.variant,
                description=self.description,
                rate=self.rate,
                value=self.value,
                discount=self.discount,
                amount=self.amount,
                outlier_status=OutlierStatus(self.outlier_status),
                attributes=_pairs(self.attributes),
                extended_fields=_pairs(self.extended_fields),
                custom_fields=_pairs(self.custom_fields),
                addon_items=_sub_items(self.addon_items),
                combo_items=_sub_items(self.combo_items),
                split_items=_sub_items(self.split_items),
            ),
        )


@strawberry.input(description="A return, as seed 001's Return Transaction describes it.")
class TransactionReturnInput:
    type: ReturnTransactionType
    return_type: ReturnTypeEnum = strawberry.field(
        description=(
            "FULL: all that is left of the bill; LINE_ITEM: the RETURN lines; AMOUNT: `amount` of money (not for MIXED)."
        )
    )
    number: str = strawberry.field(description="The purchased bill's number.")
    purchase_time: date = strawberry.field(description="The purchased bill's date, in the organisation's time zone.")
    store_code: str | None = strawberry.field(default=None, description="Where the bill was bought (or give tillCode).")
    till_code: str | None = None
    billing_time: datetime | None = strawberry.field(
        default=None, description="Of the return, with an offset; now when omitted."
    )
    parent_bill_number: str | None = strawberry.field(
        default=None,
        description=(
            "The return's own document number. Posted again with the same payload, the first result comes back; with "
            "another payload, DUPLICATE_RETURN_NUMBER. Required for MIXED: the exchange's purchase is posted under it."
        ),
    )
    amount: Decimal | None = strawberry.field(
        default=None,
        description=(
            "AMOUNT: the money returned. MIXED: the new purchase's amount (the sum of its REGULAR lines when omitted). "
            "FULL and LINE_ITEM: not used (the bill decides what they are worth)."
        ),
    )
    notes: str | None = None
    source: TransactionSourceEnum = TransactionSource.INSTORE
    customer: CustomerInput | None = strawberry.field(
        default=None,
        description=(
            "RETURN and MIXED: an identifier of the bill's customer (or of the customer it was merged into). "
            "Not used for NOT_INTERESTED_RETURN."
        ),
    )
    line_items: list[ReturnLineItemInput] = strawberry.field(default_factory=list)
    extended_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    custom_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> ReturnInput:
        customer = self.customer
        return ReturnInput(
            type=TransactionType(self.type.value),
            return_type=ReturnType(self.return_type),
            number=self.number,
            purchase_date=self.purchase_time,
            store_code=self.store_code,
            till_code=self.till_code,
            billing_time=self.billing_time,
            parent_bill_number=self.parent_bill_number,
            amount=self.amount,
            notes=self.notes,
            source=TransactionSource(self.source).value,
            customer=inputs.CustomerInput(
                mobile=customer.mobile,
                email=customer.email,
                external_id=customer.external_id,
                card_number=customer.card_number,
                first_name=customer.firstname,
                last_name=customer.lastname,
            )
            if customer
            else None,
            line_items=[line.to_domain() for line in self.line_items],
            extended_fields=_pairs(self.extended_fields),
            custom_fields=_pairs(self.custom_fields),
            idempotency_key=self.idempotency_key,
        )


@strawberry.type(description="The return was added (or, posted again with the same payload, found).")
class TransactionReturned:
    transaction: Transaction = strawberry.field(description="The return.")
    returned_transaction: Transaction = strawberry.field(
        description="The purchased bill, as it stands after the return."
    )
    exchange_purchase: Transaction | None = strawberry.field(
        description="MIXED: the new purchase of the REGULAR lines."
    )
    item_status: ItemStatus
    replayed: bool = strawberry.field(description="True when this return had been added before: nothing was written.")
    points_returned: Decimal = strawberry.field(description="Points debited from the customer by this return.")
    points_not_recovered: Decimal = strawberry.field(
        description=(
            "The rest of the bill's share of points: already spent, and the program does not allow a negative balance."
        )
    )
    redemption_points_reversed: Decimal = strawberry.field(description="Points of redemptions on the bill given back.")


ReturnTransactionResult = Annotated[
    TransactionReturned
    | InvalidInputError
    | NotFoundError
    | ReturnExceedsBillError
    | DuplicateBillNumberError
    | ConflictError
    | IdempotencyKeyReusedError,
    strawberry.union("ReturnTransactionResult"),
]


def _returned(info: Info, result: ReturnResult) -> TransactionReturned:
    org = info.context.org
    if result.customer is not None:
        info.context.customers.prime(result.customer.id, result.customer)
    if result.line_items is not None:
        info.context.line_items.prime(result.transaction.id, result.line_items)
    return TransactionReturned(
        transaction=Transaction.from_view(result.transaction, org),
        returned_transaction=Transaction.from_view(result.returned_transaction, org),
        exchange_purchase=Transaction.from_view(result.purchase, org) if result.purchase is not None else None,
        item_status=ItemStatus(success=True, code=RETURNED_CODE, message=result.item_status_message),
        replayed=result.replayed,
        points_returned=result.points_returned,
        points_not_recovered=result.points_not_recovered,
        redemption_points_reversed=result.transaction.reversed_redemption_points,
    )


@strawberry.type
class ReturnMutation:
    @strawberry.mutation(
        description=(
            "Post a return (RETURN, NOT_INTERESTED_RETURN) or an exchange (MIXED) of a bill: take back the points earned "
            "on what came back, reverse redemptions on it, lower purchases and apply the tier downgrade rule."
        )
    )
    async def return_transaction(self, info: Info, input: TransactionReturnInput) -> ReturnTransactionResult:
        return _returned(
            info,
            await return_transaction(info.context.database, info.context.org, input.to_domain(), now=info.context.now),
        )
