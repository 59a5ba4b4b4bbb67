"""Code-linked cart promotions: the promotion, its codes, their redemptions, usage counters and links.

Every counter kept for speed equals a count of redemption rows (`reconcile_promotions` proves it):
- promotions.redemptions_count = its redemptions not reversed; promotions.codes_count = its codes;
- promo_codes.redemptions_count = the code's redemptions not reversed;
- promo_code_customer_usage.redemptions_count = the code's redemptions by that customer not reversed;
- promotion_customer_usage.transactions_count = that customer's bills with a redemption of the promotion
  not reversed (a promotion is applied at most once per bill).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.columns import Amount, BigId, JSONDocument, UTCDateTime

CODE_LENGTH_MAX = 40
PROMOTION_NAME_LENGTH_MAX = 200
DESCRIPTION_LENGTH_MAX = 1000


class PromotionAction(StrEnum):
    PERCENT_OFF = "PERCENT_OFF"
    FIXED_AMOUNT_OFF = "FIXED_AMOUNT_OFF"
    FREE_PRODUCT = "FREE_PRODUCT"
    BUNDLE_PRICE = "BUNDLE_PRICE"


class PromoCodeSource(StrEnum):
    GENERATED = "GENERATED"
    UPLOADED = "UPLOADED"
    COMMON = "COMMON"  # one code shared by many (an influencer's HOLIMAN100)


class LinkMode(StrEnum):
    NEXT_CHECKOUT = "NEXT_CHECKOUT"  # applied once, on the next qualifying checkout
    EVERY_CHECKOUT = "EVERY_CHECKOUT"  # applied on every qualifying checkout while the limits allow


class CouponStatus(StrEnum):
    """A code as one customer holds it (member care's coupons tab), derived from the links, the
    customer's redemptions not reversed by a return, and the promotion's window at `now`:
    REDEEMED first (the customer has used it up: a live redemption of a code not linked to them
    or linked for NEXT_CHECKOUT, or their per-customer limit of the code reached), then EXPIRED
    (the window ended), NOT_YET_ACTIVE (it has not started), else ACTIVE (issued and usable)."""

    ACTIVE = "ACTIVE"
    NOT_YET_ACTIVE = "NOT_YET_ACTIVE"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"


class Promotion(SQLModel, table=True):
    __tablename__ = "promotions"
    __table_args__ = (
        Index("ix_promotions_org", "org_id", "id"),
        CheckConstraint("valid_from < valid_until", name="promotions_window_ordered"),
        CheckConstraint("redemptions_count >= 0", name="promotions_count_not_negative"),
        CheckConstraint(
            "redemption_limit IS NULL OR redemptions_count <= redemption_limit", name="promotions_count_within_limit"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    name: str = Field(max_length=PROMOTION_NAME_LENGTH_MAX)
    description: str | None = Field(default=None, max_length=DESCRIPTION_LENGTH_MAX)
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime = Field(sa_type=UTCDateTime)  # exclusive: codes stop working at this instant
    # Conditions: the bill's amount at least this; eligible lines by item code or attribute.
    minimum_bill_amount: Decimal | None = Field(default=None, sa_type=Amount)
    eligible_item_codes: list[str] | None = Field(default=None, sa_type=JSONDocument)
    eligible_attributes: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)  # [{name, value}]
    # Conditions on the bill's extended/custom fields and payment modes, all to hold: [{kind, name, value}].
    bill_conditions: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONDocument)
    # The one action.
    action: str = Field(max_length=30)
    percent: Decimal | None = Field(default=None, sa_type=Amount)  # PERCENT_OFF
    amount: Decimal | None = Field(default=None, sa_type=Amount)  # FIXED_AMOUNT_OFF, BUNDLE_PRICE's price
    free_item_code: str | None = Field(default=None, max_length=100)  # FREE_PRODUCT
    bundle_item_codes: list[str] | None = Field(default=None, sa_type=JSONDocument)  # BUNDLE_PRICE
    # Restrictions, each optional (NULL: no limit).
    code_redemption_limit: int | None = None  # redemptions of each code
    customer_code_redemption_limit: int | None = None  # redemptions of each code by one customer
    redemption_limit: int | None = None  # redemptions of the promotion across all its codes
    customer_transaction_limit: int | None = None  # bills of one customer the promotion applies to
    redemptions_count: int = Field(default=0)
    codes_count: int = Field(default=0)  # its codes: kept with every insert, so member care never counts 1,000,000 rows
    created_at: datetime = Field(sa_type=UTCDateTime)


class PromoCode(SQLModel, table=True):
    __tablename__ = "promo_codes"
    __table_args__ = (
        # Codes are unique within an organisation: the index generation tops up against.
        UniqueConstraint("org_id", "code", name="uq_promo_codes_org_code"),
        Index("ix_promo_codes_promotion", "promotion_id", "id"),
        CheckConstraint("redemptions_count >= 0", name="promo_codes_count_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    promotion_id: int = Field(foreign_key="promotions.id")
    code: str = Field(max_length=CODE_LENGTH_MAX)
    source: str = Field(max_length=20)
    redemptions_count: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime)


class PromoCodeRedemption(SQLModel, table=True):
    """A code applied to a bill, with the discount it gave: the bill's applied codes."""

    __tablename__ = "promo_code_redemptions"
    __table_args__ = (
        UniqueConstraint("transaction_id", "code_id", name="uq_promo_code_redemptions_bill_code"),
        Index("ix_promo_code_redemptions_code", "code_id", "id"),
        Index("ix_promo_code_redemptions_promotion", "promotion_id", "id"),
        # Member care's coupons tab: a customer's redemptions, newest first.
        Index("ix_promo_code_redemptions_customer", "customer_id", "id"),
        CheckConstraint("discount >= 0", name="promo_code_redemptions_discount_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    promotion_id: int = Field(foreign_key="promotions.id")
    code_id: int = Field(foreign_key="promo_codes.id", sa_type=BigId)
    transaction_id: int = Field(foreign_key="transactions.id", sa_type=BigId)
    customer_id: int | None = Field(default=None, foreign_key="customers.id")  # None on NOT_INTERESTED bills
    discount: Decimal = Field(sa_type=Amount)
    linked: bool = Field(default=False)  # applied from the customer's linked codes, not named on the bill
    redeemed_at: datetime = Field(sa_type=UTCDateTime)
    reversed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reversal_transaction_id: int | None = Field(default=None, foreign_key="transactions.id", sa_type=BigId)


class PromoCodeCustomerUsage(SQLModel, table=True):
    __tablename__ = "promo_code_customer_usage"
    __table_args__ = (
        UniqueConstraint("code_id", "customer_id", name="uq_promo_code_customer_usage"),
        CheckConstraint("redemptions_count >= 0", name="promo_code_customer_usage_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    code_id: int = Field(foreign_key="promo_codes.id", sa_type=BigId)
    customer_id: int = Field(foreign_key="customers.id")
    redemptions_count: int = Field(default=0)


class PromotionCustomerUsage(SQLModel, table=True):
    __tablename__ = "promotion_customer_usage"
    __table_args__ = (
        UniqueConstraint("promotion_id", "customer_id", name="uq_promotion_customer_usage"),
        CheckConstraint("transactions_count >= 0", name="promotion_customer_usage_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    promotion_id: int = Field(foreign_key="promotions.id")
    customer_id: int = Field(foreign_key="customers.id")
    transactions_count: int = Field(default=0)


class PromoCodeLink(SQLModel, table=True):
    """A physical code made a customer's digital code: auto-applied on their qualifying checkouts."""

    __tablename__ = "promo_code_links"
    __table_args__ = (
        UniqueConstraint("code_id", "customer_id", name="uq_promo_code_links_code_customer"),
        # addTransaction's one lookup: the customer's links still in use.
        Index("ix_promo_code_links_customer", "customer_id", "used_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    code_id: int = Field(foreign_key="promo_codes.id", sa_type=BigId)
    customer_id: int = Field(foreign_key="customers.id")
    mode: str = Field(max_length=20)
    linked_at: datetime = Field(sa_type=UTCDateTime)
    # NEXT_CHECKOUT links are used up by the bill they were applied to.
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_transaction_id: int | None = Field(default=None, foreign_key="transactions.id", sa_type=BigId)


class CouponResend(SQLModel, table=True):
    """Member care asked to send a customer's linked code again (resendCoupon): the request, and the
    outbox event that carries it to the brand's messaging system, written in one transaction."""

    __tablename__ = "coupon_resends"
    __table_args__ = (Index("ix_coupon_resends_customer", "customer_id", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="organizations.id")
    customer_id: int = Field(foreign_key="customers.id")
    code_id: int = Field(foreign_key="promo_codes.id", sa_type=BigId)
    link_id: int = Field(foreign_key="promo_code_links.id", sa_type=BigId)
    outbox_event_id: int = Field(foreign_key="outbox_events.id", sa_type=BigId)
    requested_at: datetime = Field(sa_type=UTCDateTime)
