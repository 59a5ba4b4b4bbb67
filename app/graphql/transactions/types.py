"""Output types of bills: the Transaction type with its line items and side effects (their types in
side_effects.py), the payloads of addTransaction and returnTransaction, and the enums of bills."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeAlias

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    ConflictError,
    DuplicateBillNumberError,
    IdempotencyKeyReusedError,
    InternalError,
    InvalidInputError,
    NotFoundError,
    PromoCodeCustomerLimitReachedError,
    PromoCodeExpiredError,
    PromoCodeLimitReachedError,
    PromoCodeNotYetActiveError,
    PromoCodeUnknownError,
    PromoConditionsNotMetError,
    RateLimitedError,
)
from app.graphql.customers.types import Customer
from app.graphql.transactions.side_effects import SideEffect, side_effect_type
from app.kernel.enums import TransactionSource
from app.organizations.config import OrgConfig
from app.transactions.models import DeliveryStatus, LineItemType, OutlierStatus, ReturnType, TransactionType
from app.transactions.service import TransactionView
from app.transactions.side_effects import PromoCodeApplied

strawberry.enum(
    TransactionType, name="TransactionType"
)  # registers the domain enum itself: the class is the schema's enum
TransactionTypeEnum: TypeAlias = TransactionType
strawberry.enum(
    ReturnType,
    name="ReturnType",
    description=(
        "How a return takes back a bill: FULL (all that is left), LINE_ITEM (quantities of its lines), AMOUNT (money)."
    ),
)  # registers the domain enum itself: the class is the schema's enum
ReturnTypeEnum: TypeAlias = ReturnType
strawberry.enum(
    LineItemType,
    name="LineItemType",
    description=("On a MIXED return (an exchange), each line is a new purchase (REGULAR) or a return (RETURN)."),
)  # registers the domain enum itself: the class is the schema's enum
LineItemTypeEnum: TypeAlias = LineItemType
strawberry.enum(OutlierStatus, name="OutlierStatus")  # registers the domain enum itself: the class is the schema's enum
OutlierStatusEnum: TypeAlias = OutlierStatus
strawberry.enum(
    TransactionSource, name="TransactionSource"
)  # registers the domain enum itself: the class is the schema's enum
TransactionSourceEnum: TypeAlias = TransactionSource
strawberry.enum(
    DeliveryStatus,
    name="DeliveryStatus",
    description="Where a purchase's goods are (seed 001's delivery_status); DELIVERED when the bill does not say.",
)  # registers the domain enum itself: the class is the schema's enum
DeliveryStatusEnum: TypeAlias = DeliveryStatus


@strawberry.enum(
    name="ReturnTransactionType",
    description=(
        "RETURN: a loyalty bill comes back; NOT_INTERESTED_RETURN: a NOT_INTERESTED bill comes back; MIXED: an "
        "exchange, whose RETURN lines come back and whose REGULAR lines are a new purchase."
    ),
)
class ReturnTransactionType(Enum):
    RETURN = "RETURN"
    NOT_INTERESTED_RETURN = "NOT_INTERESTED_RETURN"
    MIXED = "MIXED"


@strawberry.type
class NameValue:
    name: str
    value: str


@strawberry.type
class PaymentDetail:
    mode: str
    value: Decimal
    notes: str | None


@strawberry.type
class AssociateDetails:
    code: str | None
    name: str | None


@strawberry.type
class SubItem:
    item_code: str
    quantity: Decimal
    rate: Decimal | None
    value: Decimal | None
    description: str | None
    outlier_status: OutlierStatusEnum


@strawberry.type
class LineItem:
    serial: int
    transaction_number: str | None
    item_code: str
    variant: str | None
    product_id: strawberry.ID
    description: str | None
    qty: Decimal
    rate: Decimal
    value: Decimal
    discount: Decimal
    amount: Decimal
    outlier_status: OutlierStatusEnum
    attributes: list[NameValue]
    extended_fields: list[NameValue]
    custom_fields: list[NameValue]
    addon_items: list[SubItem]
    combo_items: list[SubItem]
    split_items: list[SubItem]
    returned_qty: Decimal = strawberry.field(description="On purchases: the quantity returned so far.")
    line_type: LineItemTypeEnum = strawberry.field(description="RETURN on a return's lines.")
    returns_serial: int | None = strawberry.field(
        description="On a return's lines: the serial of the purchased line returned."
    )

    @classmethod
    def from_row(cls, row: Any) -> LineItem:
        return cls(
            serial=row.serial,
            transaction_number=row.transaction_number,
            item_code=row.item_code,
            variant=row.variant,
            product_id=strawberry.ID(str(row.product_id)),
            description=row.description,
            qty=row.qty,
            rate=row.rate,
            value=row.value,
            discount=row.discount,
            amount=row.amount,
            outlier_status=OutlierStatus(row.outlier_status),
            attributes=_name_values(row.attributes),
            extended_fields=_name_values(row.extended_fields),
            custom_fields=_name_values(row.custom_fields),
            addon_items=_stored_sub_items(row.addon_items),
            combo_items=_stored_sub_items(row.combo_items),
            split_items=_stored_sub_items(row.split_items),
            returned_qty=row.returned_qty,
            line_type=LineItemType(row.line_type),
            returns_serial=row.returns_serial,
        )


def _name_values(stored: list[dict[str, Any]] | None) -> list[NameValue]:
    return [NameValue(name=pair["name"], value=pair["value"]) for pair in stored or []]


def _optional_decimal(value: Any) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _stored_sub_items(stored: list[dict[str, Any]] | None) -> list[SubItem]:
    return [
        SubItem(
            item_code=item["item_code"],
            quantity=Decimal(item["quantity"]),
            rate=_optional_decimal(item["rate"]),
            value=_optional_decimal(item["value"]),
            description=item["description"],
            outlier_status=OutlierStatus(item.get("outlier_status") or OutlierStatus.NORMAL),
        )
        for item in stored or []
    ]


_RETURN_TYPE_VALUES = frozenset(
    {TransactionType.RETURN.value, TransactionType.NOT_INTERESTED_RETURN.value, TransactionType.MIXED.value}
)


def _parent_id(view: TransactionView) -> strawberry.ID | None:
    return strawberry.ID(str(view.parent_transaction_id)) if view.parent_transaction_id is not None else None


@strawberry.type
class Transaction:
    id: strawberry.ID
    number: str
    type: TransactionTypeEnum
    bill_client_id: str | None
    amount: Decimal
    gross_amount: Decimal | None
    discount: Decimal | None
    eligible_amount: Decimal = strawberry.field(description="The part of the amount that earned points.")
    currency_code: str | None
    billing_time: datetime
    notes: str | None
    outlier_status: OutlierStatusEnum
    source: TransactionSourceEnum
    store_code: str
    till_code: str | None
    program_code: str
    not_interested_reason: str | None
    referral_code: str | None
    associate_details: AssociateDetails | None
    extended_fields: list[NameValue]
    custom_fields: list[NameValue]
    payment_details: list[PaymentDetail]
    side_effects: list[SideEffect]
    created_at: datetime
    points_earned: Decimal = strawberry.field(description="Points this purchase earned.")
    returned_amount: Decimal = strawberry.field(description="On purchases: the value returned so far.")
    returned_points: Decimal = strawberry.field(
        description=(
            "On purchases: the share of its points its returns took account of so far (never more than pointsEarned); "
            "on returns: this return's share."
        )
    )
    reversed_redemption_points: Decimal = strawberry.field(
        description=("Points of redemptions applied to the bill that its returns gave back (on returns: this return).")
    )
    return_type: ReturnTypeEnum | None = strawberry.field(description="On returns: FULL, LINE_ITEM or AMOUNT.")
    parent_bill_number: str | None = strawberry.field(description="On returns: the return's own document number.")
    returned_transaction_id: strawberry.ID | None = strawberry.field(description="On returns: the purchase returned.")
    exchange_return_id: strawberry.ID | None = strawberry.field(
        description=("On the purchase of an exchange (a MIXED return's REGULAR lines): the return it was posted with.")
    )
    promo_discount: Decimal = strawberry.field(
        description=(
            "The discount of the promo codes applied to this bill (its PromoCodeSideEffects), rounded to 2 places."
        )
    )
    delivery_status: DeliveryStatusEnum | None = strawberry.field(
        default=None, description="On purchases: where the goods are (DELIVERED unless the bill said otherwise)."
    )
    shipping_source_till_code: str | None = strawberry.field(
        default=None, description="On purchases: the till that ships the goods, when the bill named one."
    )
    customer_id: strawberry.Private[int | None] = None

    @classmethod
    def from_view(cls, view: TransactionView, org: OrgConfig) -> Transaction:
        return cls(
            id=strawberry.ID(str(view.id)),
            number=view.number,
            type=TransactionType(view.type),
            bill_client_id=view.bill_client_id,
            amount=view.amount,
            gross_amount=view.gross_amount,
            discount=view.discount,
            eligible_amount=view.eligible_amount,
            currency_code=view.currency_code,
            billing_time=view.billing_time,
            notes=view.notes,
            outlier_status=OutlierStatus(view.outlier_status),
            source=TransactionSource(view.source),
            store_code=org.store(view.store_id).code,
            till_code=org.till(view.till_id).code if view.till_id else None,
            program_code=org.program(view.program_id).code,
            not_interested_reason=view.not_interested_reason,
            referral_code=view.referral_code,
            associate_details=AssociateDetails(code=view.associate_code, name=view.associate_name)
            if view.associate_code or view.associate_name
            else None,
            extended_fields=_name_values(view.extended_fields),
            custom_fields=_name_values(view.custom_fields),
            payment_details=[
                PaymentDetail(mode=payment["mode"], value=Decimal(payment["value"]), notes=payment.get("notes"))
                for payment in view.payment_details or []
            ],
            side_effects=[side_effect_type(effect) for effect in view.side_effects],
            created_at=view.created_at,
            points_earned=view.points_earned,
            returned_amount=view.returned_amount,
            returned_points=view.returned_points,
            reversed_redemption_points=view.reversed_redemption_points,
            return_type=ReturnType(view.return_type) if view.return_type else None,
            parent_bill_number=view.parent_bill_number,
            returned_transaction_id=_parent_id(view) if view.type in _RETURN_TYPE_VALUES else None,
            exchange_return_id=_parent_id(view) if view.type not in _RETURN_TYPE_VALUES else None,
            promo_discount=sum(
                (effect.discount for effect in view.side_effects if isinstance(effect, PromoCodeApplied)), Decimal(0)
            ),
            customer_id=view.customer_id,
            delivery_status=DeliveryStatus(view.delivery_status) if view.delivery_status else None,
            shipping_source_till_code=org.till(view.shipping_source_till_id).code
            if view.shipping_source_till_id
            else None,
        )

    @strawberry.field(description="The bill's line items (loaded in one query for a whole list of bills).")
    async def line_items(self, info: Info) -> list[LineItem]:
        return [LineItem.from_row(row) for row in await info.context.line_items.load(int(self.id))]

    @strawberry.field(description="The loyalty customer; empty for NOT_INTERESTED bills.")
    async def customer(self, info: Info) -> Customer | None:
        if self.customer_id is None:
            return None
        view = await info.context.customers.load(self.customer_id)
        return Customer.from_view(view) if view is not None else None


@strawberry.type
class ItemStatus:
    success: bool
    code: int
    message: str


@strawberry.type(description="The transaction was added (or, posted again with the same payload, found).")
class TransactionAdded:
    transaction: Transaction
    item_status: ItemStatus
    replayed: bool = strawberry.field(description="True when this bill had been added before: nothing was written.")


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


# Shared by addTransaction and addTransactions (one result per bill).
AddTransactionResult = Annotated[
    TransactionAdded
    | InvalidInputError
    | RateLimitedError
    | NotFoundError
    | DuplicateBillNumberError
    | ConflictError
    | IdempotencyKeyReusedError
    | InternalError
    | PromoCodeUnknownError
    | PromoCodeExpiredError
    | PromoCodeNotYetActiveError
    | PromoCodeLimitReachedError
    | PromoCodeCustomerLimitReachedError
    | PromoConditionsNotMetError,
    strawberry.union("AddTransactionResult"),
]
