"""Posted bills (transactions) and their line items."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.storage.columns import Amount, BigId, JSONDocument, Points, UTCDateTime

BILL_NUMBER_LENGTH_MAX = 50


class TransactionType(StrEnum):
    REGULAR = "REGULAR"
    NOT_INTERESTED = "NOT_INTERESTED"
    RETURN = "RETURN"
    NOT_INTERESTED_RETURN = "NOT_INTERESTED_RETURN"
    MIXED = "MIXED"


class ReturnType(StrEnum):
    FULL = "FULL"
    LINE_ITEM = "LINE_ITEM"
    AMOUNT = "AMOUNT"


class LineItemType(StrEnum):
    """On a MIXED bill (an exchange) each line is a new purchase or a return."""

    REGULAR = "REGULAR"
    RETURN = "RETURN"


class OutlierStatus(StrEnum):
    INTERNAL = "INTERNAL"
    NORMAL = "NORMAL"
    INVALID = "INVALID"
    OUTLIER = "OUTLIER"
    FAILED = "FAILED"
    DELETED = "DELETED"
    RETRO = "RETRO"
    FRAUD = "FRAUD"
    TEST = "TEST"
    OTHER = "OTHER"


class DeliveryStatus(StrEnum):
    """Where a bill's goods are (seed 001's delivery_status; DELIVERED, the value its responses show,
    for a bill that says nothing, as goods bought in a store are)."""

    PLACED = "PLACED"
    PROCESSED = "PROCESSED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    RETURNED = "RETURNED"


class Transaction(SQLModel, table=True):
    __tablename__ = "transactions"
    __table_args__ = (
        # Bill-number uniqueness is checked per store within a time window.
        Index("ix_transactions_bill_number", "org_id", "store_id", "number", "billing_time"),
        Index("ix_transactions_customer", "customer_id", "id"),
        Index("ix_transactions_parent", "parent_transaction_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int | None = Field(default=None, foreign_key="customers.id")
    type: str = Field(max_length=30)  # NOT_INTERESTED_RETURN is 21 characters
    number: str = Field(max_length=BILL_NUMBER_LENGTH_MAX)
    bill_client_id: str | None = Field(default=None, max_length=100)
    amount: Decimal = Field(sa_type=Amount)
    gross_amount: Decimal | None = Field(default=None, sa_type=Amount)
    discount: Decimal | None = Field(default=None, sa_type=Amount)
    eligible_amount: Decimal = Field(sa_type=Amount)
    currency_code: str | None = Field(default=None, max_length=3)
    billing_time: datetime = Field(sa_type=UTCDateTime)
    notes: str | None = Field(default=None, max_length=1000)
    outlier_status: str = Field(max_length=20)
    source: str = Field(max_length=20)
    store_id: int = Field(foreign_key="stores.id")
    till_id: int | None = Field(default=None, foreign_key="tills.id")
    program_id: int = Field(foreign_key="programs.id")
    not_interested_reason: str | None = Field(default=None, max_length=500)
    referral_code: str | None = Field(default=None, max_length=100)
    associate_code: str | None = Field(default=None, max_length=100)
    associate_name: str | None = Field(default=None, max_length=200)
    extended_fields: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    custom_fields: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    payment_details: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    customer_details: dict[str, Any] | None = Field(default=None, sa_type=JSONDocument)
    side_effects: list[dict[str, Any]] = Field(sa_type=JSONDocument)
    # Hash of the request as posted: the same bill posted again with the same payload replays.
    payload_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # What the bill earned, and (on purchases) how much of it has come back so far; returns
    # update these under the bill's lock so several partial returns never exceed the bill.
    points_earned: Decimal = Field(default=Decimal(0), sa_type=Points)
    returned_amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    returned_eligible_amount: Decimal = Field(default=Decimal(0), sa_type=Amount)
    returned_points: Decimal = Field(default=Decimal(0), sa_type=Points)
    reversed_redemption_points: Decimal = Field(default=Decimal(0), sa_type=Points)
    # On returns: the purchase returned, how, and the return's own document number (the seed's
    # parent_bill_number).
    parent_transaction_id: int | None = Field(default=None, foreign_key="transactions.id", sa_type=BigId)
    return_type: str | None = Field(default=None, max_length=20)
    parent_bill_number: str | None = Field(default=None, max_length=BILL_NUMBER_LENGTH_MAX)
    # Purchases: where the goods are, and the till that ships them (seed 001); NULL on returns.
    delivery_status: str | None = Field(default=None, max_length=20)
    shipping_source_till_id: int | None = Field(default=None, foreign_key="tills.id")


class TransactionLineItem(SQLModel, table=True):
    __tablename__ = "transaction_line_items"
    # A serial names one line of a bill: returns (LINE_ITEM) will point at it.
    __table_args__ = (Index("ix_transaction_line_items_transaction", "transaction_id", "serial", unique=True),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    transaction_id: int = Field(foreign_key="transactions.id", sa_type=BigId)
    serial: int
    transaction_number: str | None = Field(default=None, max_length=50)
    item_code: str = Field(max_length=100)
    variant: str | None = Field(default=None, max_length=100)
    product_id: int = Field(foreign_key="products.id")
    description: str | None = Field(default=None, max_length=500)
    qty: Decimal = Field(sa_type=Amount)
    rate: Decimal = Field(sa_type=Amount)
    value: Decimal = Field(sa_type=Amount)
    discount: Decimal = Field(sa_type=Amount)
    amount: Decimal = Field(sa_type=Amount)
    outlier_status: str = Field(max_length=20)
    attributes: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    extended_fields: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    custom_fields: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    addon_items: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    combo_items: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    split_items: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    # On purchases: quantity returned so far. On return lines: the purchase line they return.
    returned_qty: Decimal = Field(default=Decimal(0), sa_type=Amount)
    line_type: str = Field(default="REGULAR", max_length=20)
    returns_serial: int | None = None
