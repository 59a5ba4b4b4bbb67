"""Input types of bills: a purchase (addTransaction) and a return (returnTransaction), and their
conversion to the transactions domain's inputs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from app.customers.models import LoyaltyType
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.types import LoyaltyTypeEnum
from app.graphql.transactions.types import (
    DeliveryStatusEnum,
    LineItemTypeEnum,
    OutlierStatusEnum,
    ReturnTransactionType,
    ReturnTypeEnum,
    TransactionSourceEnum,
    TransactionTypeEnum,
)
from app.kernel.enums import TransactionSource
from app.transactions import inputs as domain_inputs
from app.transactions.models import DeliveryStatus, LineItemType, OutlierStatus, ReturnType, TransactionType
from app.transactions.return_rules import ReturnInput, ReturnLineInput


@strawberry.input(description="A name and value pair (extended fields, custom fields, attributes).")
class NameValueInput:
    name: str
    value: str


@strawberry.input
class PaymentDetailInput:
    mode: str
    value: Decimal
    notes: str | None = None


@strawberry.input
class AssociateDetailsInput:
    code: str
    name: str | None = None


@strawberry.input(
    description=(
        "An add-on, combo or split item of a line item. Add-ons are charged on top of the line's amount and earn with "
        "it; a combo's parts are what its bundle holds (with values, they add up to the line's value) and come back "
        "when the combo is returned; split items divide the line's value (their values add up to it) and each earns "
        "on its share of the line's amount."
    )
)
class SubItemInput:
    item_code: str
    quantity: Decimal
    rate: Decimal | None = None
    value: Decimal | None = strawberry.field(default=None, description="rate x quantity when omitted.")
    description: str | None = None
    outlier_status: OutlierStatusEnum | None = strawberry.field(
        default=None,
        description="Add-on and split items: NORMAL when omitted; a status that does not earn keeps it out of earning.",
    )


@strawberry.input
class LineItemInput:
    item_code: str
    qty: Decimal
    serial: int | None = None
    transaction_number: str | None = None
    variant: str | None = None
    description: str | None = None
    rate: Decimal | None = None
    value: Decimal | None = strawberry.field(default=None, description="Before discount; rate x qty when omitted.")
    discount: Decimal | None = None
    amount: Decimal | None = strawberry.field(
        default=None, description="After discount; value - discount when omitted."
    )
    outlier_status: OutlierStatusEnum = OutlierStatus.NORMAL
    attributes: list[NameValueInput] = strawberry.field(default_factory=list)
    extended_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    custom_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    addon_items: list[SubItemInput] = strawberry.field(default_factory=list)
    combo_items: list[SubItemInput] = strawberry.field(default_factory=list)
    split_items: list[SubItemInput] = strawberry.field(default_factory=list)

    def to_domain(self) -> domain_inputs.LineItemInput:
        return domain_inputs.LineItemInput(
            item_code=self.item_code,
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
        )


@strawberry.input(description="Who the bill is for: any of the identifiers, and details to keep up to date.")
class CustomerInput:
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    card_number: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    type: LoyaltyTypeEnum | None = strawberry.field(
        default=None,
        description=(
            "The seed's loyalty type. NON_LOYALTY on a REGULAR bill: a new customer is registered known by the "
            "identifier but not enrolled, and the bill earns nothing (an enrolled customer stays enrolled and earns). "
            "LOYALTY (or omitted): a NON_LOYALTY customer found is enrolled, keeping their bills."
        ),
    )
    referral_code: str | None = strawberry.field(
        default=None,
        description=(
            "The referral code of the customer who referred this one (seed 001's customer-level referral_code; the "
            "bill's referralCode is used when this is empty). Links a customer this bill registers to the referrer; "
            "an unknown code is REFERRAL_CODE_NOT_FOUND on this field and nothing is written."
        ),
    )

    def to_domain(self) -> domain_inputs.CustomerInput:
        return domain_inputs.CustomerInput(
            mobile=self.mobile,
            email=self.email,
            external_id=self.external_id,
            card_number=self.card_number,
            first_name=self.firstname,
            last_name=self.lastname,
            loyalty_type=LoyaltyType(self.type) if self.type is not None else None,
            referral_code=self.referral_code,
        )


@strawberry.input(description="A purchase, as seed 001's Add Transaction describes it.")
class TransactionAddInput:
    number: str = strawberry.field(
        description="The bill number, at most 50 characters; unique per store within the org's window."
    )
    amount: Decimal = strawberry.field(description="Net amount after discounts.")
    type: TransactionTypeEnum = TransactionType.REGULAR
    store_code: str | None = None
    till_code: str | None = None
    bill_client_id: str | None = None
    gross_amount: Decimal | None = None
    discount: Decimal | None = None
    currency_code: str | None = None
    billing_time: datetime | None = strawberry.field(default=None, description="With an offset; now when omitted.")
    notes: str | None = None
    outlier_status: OutlierStatusEnum = OutlierStatus.NORMAL
    source: TransactionSourceEnum = TransactionSource.INSTORE
    not_interested_reason: str | None = None
    referral_code: str | None = strawberry.field(
        default=None,
        description=(
            "Seed 001's transaction-level referral code: used when customer.referralCode is empty, to link a customer "
            "this bill registers to the code's owner (REFERRAL_CODE_NOT_FOUND on this field when unknown)."
        ),
    )
    associate_details: AssociateDetailsInput | None = None
    customer: CustomerInput | None = None
    line_items: list[LineItemInput] = strawberry.field(default_factory=list)
    extended_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    custom_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    payment_details: list[PaymentDetailInput] = strawberry.field(default_factory=list)
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)
    points_redemptions: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description=(
            "Ids of points redemptions (redeemPoints) that paid for this bill: each of this customer, not reversed, "
            "and not applied to another bill. A return of the bill reverses them."
        ),
    )
    promo_codes: list[str] = strawberry.field(
        default_factory=list,
        description=(
            "Promo codes of code-linked promotions, at most 10 per bill, one per promotion. The cart (amount and line "
            "items) is taken before their discount; each must apply, or the bill fails with the code's typed error and "
            "nothing is written. The customer's linked codes are applied too, when the cart qualifies."
        ),
    )
    coupon_redemptions: list[str] = strawberry.field(
        default_factory=list,
        description=(
            "The seed's name for promo codes: codes, applied exactly as promoCodes (a code may be named in one list "
            "only)."
        ),
    )
    delivery_status: DeliveryStatusEnum | None = strawberry.field(
        default=None, description="Where the goods are; DELIVERED when not given (a store purchase)."
    )
    shipping_source_till_code: str | None = strawberry.field(
        default=None, description="The till that ships the goods: one of the organisation's tills (TILL_NOT_FOUND)."
    )

    def to_domain(self) -> domain_inputs.TransactionInput:
        return domain_inputs.TransactionInput(
            type=TransactionType(self.type),
            number=self.number,
            amount=self.amount,
            store_code=self.store_code,
            till_code=self.till_code,
            bill_client_id=self.bill_client_id,
            gross_amount=self.gross_amount,
            discount=self.discount,
            currency_code=self.currency_code,
            billing_time=self.billing_time,
            notes=self.notes,
            outlier_status=OutlierStatus(self.outlier_status),
            source=TransactionSource(self.source).value,
            not_interested_reason=self.not_interested_reason,
            referral_code=self.referral_code,
            associate_code=self.associate_details.code if self.associate_details else None,
            associate_name=self.associate_details.name if self.associate_details else None,
            customer=self.customer.to_domain() if self.customer else None,
            line_items=[line.to_domain() for line in self.line_items],
            extended_fields=_pairs(self.extended_fields),
            custom_fields=_pairs(self.custom_fields),
            payment_details=[
                {"mode": payment.mode, "value": payment.value, "notes": payment.notes}
                for payment in self.payment_details
            ],
            idempotency_key=self.idempotency_key,
            points_redemptions=[str(redemption_id) for redemption_id in self.points_redemptions],
            promo_codes=list(self.promo_codes),
            coupon_redemptions=list(self.coupon_redemptions),
            delivery_status=DeliveryStatus(self.delivery_status) if self.delivery_status is not None else None,
            shipping_source_till_code=self.shipping_source_till_code,
        )


def _pairs(values: list[NameValueInput]) -> list[dict[str, Any]]:
    return [{"name": pair.name, "value": pair.value} for pair in values]


def _sub_items(values: list[SubItemInput]) -> list[dict[str, Any]]:
    items = []
    for item in values:
        document: dict[str, Any] = {
            "item_code": item.item_code,
            "quantity": item.quantity,
            "rate": item.rate,
            "value": item.value,
            "description": item.description,
        }
        if item.outlier_status is not None:  # absent otherwise, as on bills stored before it existed
            document["outlier_status"] = OutlierStatus(item.outlier_status).value
        items.append(document)
    return items


@strawberry.input(
    description=(
        "A line of a return. RETURN lines name a line of the purchased bill by serial (or by itemCode, with variant) "
        "and a qty; they are worth qty x that line's amount per unit, whatever else they say. REGULAR lines (MIXED "
        "only) are the exchange's new purchase, read like addTransaction's lines."
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
            line=domain_inputs.LineItemInput(
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
            "FULL: all that is left of the bill; LINE_ITEM: the RETURN lines; AMOUNT: `amount` of money (not for "
            "MIXED)."
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
    associate_details: AssociateDetailsInput | None = strawberry.field(
        default=None, description="The store associate or cashier who took the return."
    )

    def to_domain(self) -> ReturnInput:
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
            customer=self.customer.to_domain() if self.customer else None,
            line_items=[line.to_domain() for line in self.line_items],
            extended_fields=_pairs(self.extended_fields),
            custom_fields=_pairs(self.custom_fields),
            idempotency_key=self.idempotency_key,
            associate_code=self.associate_details.code if self.associate_details else None,
            associate_name=self.associate_details.name if self.associate_details else None,
        )
