"""What a client posts, as plain values (the GraphQL layer builds these from its inputs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.customers.models import LoyaltyType
from app.transactions.models import DeliveryStatus, OutlierStatus, TransactionType


@dataclass(frozen=True)
class CustomerInput:
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    card_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    # NON_LOYALTY: known by an identifier, not enrolled (earns nothing); None: LOYALTY.
    loyalty_type: LoyaltyType | None = None
    referral_code: str | None = None  # seed 001's customer-level code (the bill's own is beside it)


@dataclass(frozen=True)
class LineItemInput:
    item_code: str
    qty: Decimal
    serial: int | None = None
    transaction_number: str | None = None
    variant: str | None = None
    description: str | None = None
    rate: Decimal | None = None
    value: Decimal | None = None
    discount: Decimal | None = None
    amount: Decimal | None = None
    outlier_status: OutlierStatus = OutlierStatus.NORMAL
    attributes: list[dict[str, Any]] = field(default_factory=list)
    extended_fields: list[dict[str, Any]] = field(default_factory=list)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    addon_items: list[dict[str, Any]] = field(default_factory=list)
    combo_items: list[dict[str, Any]] = field(default_factory=list)
    split_items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TransactionInput:
    type: TransactionType
    number: str
    amount: Decimal
    store_code: str | None = None
    till_code: str | None = None
    bill_client_id: str | None = None
    gross_amount: Decimal | None = None
    discount: Decimal | None = None
    currency_code: str | None = None
    billing_time: datetime | None = None
    notes: str | None = None
    outlier_status: OutlierStatus = OutlierStatus.NORMAL
    source: str = "INSTORE"
    not_interested_reason: str | None = None
    referral_code: str | None = None
    associate_code: str | None = None
    associate_name: str | None = None
    customer: CustomerInput | None = None
    line_items: list[LineItemInput] = field(default_factory=list)
    extended_fields: list[dict[str, Any]] = field(default_factory=list)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    payment_details: list[dict[str, Any]] = field(default_factory=list)
    idempotency_key: str | None = None
    points_redemptions: list[str] = field(default_factory=list)  # ids of redemptions that paid for this bill
    promo_codes: list[str] = field(default_factory=list)  # codes of code-linked promotions applied to this bill
    coupon_redemptions: list[str] = field(default_factory=list)  # the seed's name for the same: codes too
    delivery_status: DeliveryStatus | None = None  # DELIVERED when not given
    shipping_source_till_code: str | None = None
