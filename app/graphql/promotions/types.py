"""Output types of code-linked promotions: a promotion, its codes' links and redemptions, member
care's view of a code, and the payloads of the promotion mutations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, TypeAlias

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.errors import (
    PROMO_CODE_ERRORS,
    InvalidInputError,
    NotFoundError,
    PromoCodeCustomerLimitReachedError,
    PromoCodeExpiredError,
    PromoCodeLimitReachedError,
    PromoCodeNotYetActiveError,
    PromoCodeUnknownError,
    PromoConditionsNotMetError,
)
from app.graphql.core.pagination import PageInfo, page_info_after
from app.graphql.transactions.types import NameValue
from app.kernel.bill_conditions import BillCondition, BillConditionKind
from app.promotions import service as promotions_service
from app.promotions.models import LinkMode, PromoCodeSource, PromotionAction

strawberry.enum(
    PromotionAction,
    name="PromotionAction",
    description=(
        "What a promotion gives: PERCENT_OFF (percent of the eligible lines, or of the bill), FIXED_AMOUNT_OFF, "
        "FREE_PRODUCT (one unit of freeItemCode) or BUNDLE_PRICE (bundleItemCodes together for amount)."
    ),
)  # registers the domain enum itself: the class is the schema's enum
PromotionActionEnum: TypeAlias = PromotionAction
strawberry.enum(
    PromoCodeSource, name="PromoCodeSource"
)  # registers the domain enum itself: the class is the schema's enum
PromoCodeSourceEnum: TypeAlias = PromoCodeSource
strawberry.enum(
    LinkMode,
    name="PromoCodeLinkMode",
    description=(
        "NEXT_CHECKOUT: applied once, on the customer's next qualifying bill, then the link is used up. "
        "EVERY_CHECKOUT: applied on each qualifying bill while the code's limits allow."
    ),
)  # registers the domain enum itself: the class is the schema's enum
LinkModeEnum: TypeAlias = LinkMode
strawberry.enum(
    BillConditionKind,
    name="BillConditionKind",
    description=(
        "What a bill condition looks at: EXTENDED_FIELD or CUSTOM_FIELD (the bill carries the field `name` with "
        "`value`), PAYMENT_MODE (one of the bill's payment details is of mode `name`)."
    ),
)  # registers the domain enum itself: the class is the schema's enum
BillConditionKindEnum: TypeAlias = BillConditionKind


@strawberry.type(name="BillCondition")
class BillConditionType:
    kind: BillConditionKindEnum
    name: str
    value: str | None

    @classmethod
    def from_condition(cls, condition: BillCondition) -> BillConditionType:
        return cls(kind=condition.kind, name=condition.name, value=condition.value)


@strawberry.enum(
    description="REJECT_ALL: any row in error and nothing is stored. SKIP_INVALID: the valid rows are stored."
)
class UploadErrorPolicy(Enum):
    REJECT_ALL = "REJECT_ALL"
    SKIP_INVALID = "SKIP_INVALID"


@strawberry.type
class CartPromotion:
    id: strawberry.ID
    name: str
    description: str | None
    valid_from: datetime
    valid_until: datetime
    action: PromotionActionEnum
    minimum_bill_amount: Decimal | None
    eligible_item_codes: list[str]
    eligible_attributes: list[NameValue]
    percent: Decimal | None
    amount: Decimal | None
    free_item_code: str | None
    bundle_item_codes: list[str]
    bill_conditions: list[BillConditionType] = strawberry.field(
        description="Conditions on the bill's extended and custom fields and payment modes; all must hold."
    )
    code_redemption_limit: int | None
    customer_code_redemption_limit: int | None
    redemption_limit: int | None
    customer_transaction_limit: int | None
    redemptions_count: int = strawberry.field(
        description="Redemptions across all its codes, returns given back excluded."
    )
    codes_count: int
    created_at: datetime

    @classmethod
    def from_view(cls, view: promotions_service.PromotionView) -> CartPromotion:
        terms, limits = view.terms, view.limits
        return cls(
            id=strawberry.ID(str(view.id)),
            name=view.name,
            description=view.description,
            valid_from=terms.valid_from,
            valid_until=terms.valid_until,
            action=terms.action,
            minimum_bill_amount=terms.minimum_bill_amount,
            eligible_item_codes=list(terms.eligible_item_codes),
            eligible_attributes=[NameValue(name=pair.name, value=pair.value) for pair in terms.eligible_attributes],
            percent=terms.percent,
            amount=terms.amount,
            free_item_code=terms.free_item_code,
            bundle_item_codes=list(terms.bundle_item_codes),
            bill_conditions=[BillConditionType.from_condition(condition) for condition in terms.bill_conditions],
            code_redemption_limit=limits.code_redemption_limit,
            customer_code_redemption_limit=limits.customer_code_redemption_limit,
            redemption_limit=limits.redemption_limit,
            customer_transaction_limit=limits.customer_transaction_limit,
            redemptions_count=view.redemptions_count,
            codes_count=view.codes_count,
            created_at=view.created_at,
        )


@strawberry.type
class CartPromotionCreated:
    promotion: CartPromotion
    replayed: bool


@strawberry.type
class PromoCodesGenerated:
    promotion: CartPromotion
    generated: int = strawberry.field(description="Codes this request generated (0 when it replayed).")
    replayed: bool


@strawberry.type(description="A row of an upload in error. Rows are the file's lines: the header is row 1.")
class PromoCodeRowError:
    row: int
    column: str
    code: str
    error_code: str = strawberry.field(description="INVALID_CODE, DUPLICATE_IN_FILE or CODE_EXISTS.")
    message: str


@strawberry.type
class PromoCodesUploaded:
    promotion: CartPromotion
    rows: int
    stored: int
    errors: list[PromoCodeRowError]

    @classmethod
    def from_report(
        cls, report: promotions_service.UploadReport, promotion: promotions_service.PromotionView
    ) -> PromoCodesUploaded:
        return cls(
            promotion=CartPromotion.from_view(promotion),
            rows=report.rows,
            stored=report.stored,
            errors=[
                PromoCodeRowError(
                    row=error.row,
                    column=error.column,
                    code=error.code,
                    error_code=error.error_code,
                    message=error.message,
                )
                for error in report.errors
            ],
        )


@strawberry.type(description="The code applies to this cart now, with this discount (nothing was written or held).")
class PromoCodeValidated:
    code: str
    promotion_id: strawberry.ID
    promotion_name: str
    discount: Decimal
    amount_after_discount: Decimal

    @classmethod
    def from_validation(cls, result: promotions_service.Validation) -> PromoCodeValidated:
        return cls(
            code=result.code,
            promotion_id=strawberry.ID(str(result.promotion_id)),
            promotion_name=result.promotion_name,
            discount=result.discount,
            amount_after_discount=result.cart_amount - result.discount,
        )


@strawberry.type(description="A code linked to a customer: applied on their qualifying checkouts without being named.")
class PromoCodeLink:
    id: strawberry.ID
    code: str
    customer_id: strawberry.ID
    mode: LinkModeEnum
    promotion_id: strawberry.ID
    promotion_name: str
    valid_until: datetime
    linked_at: datetime
    used_at: datetime | None = strawberry.field(
        description="NEXT_CHECKOUT links: when the bill that used it was added."
    )
    used_transaction_id: strawberry.ID | None

    @classmethod
    def from_view(cls, view: promotions_service.LinkView) -> PromoCodeLink:
        return cls(
            id=strawberry.ID(str(view.id)),
            code=view.code,
            customer_id=strawberry.ID(str(view.customer_id)),
            mode=view.mode,
            promotion_id=strawberry.ID(str(view.promotion_id)),
            promotion_name=view.promotion_name,
            valid_until=view.valid_until,
            linked_at=view.linked_at,
            used_at=view.used_at,
            used_transaction_id=strawberry.ID(str(view.used_transaction_id)) if view.used_transaction_id else None,
        )


@strawberry.type
class PromoCodeLinked:
    link: PromoCodeLink
    replayed: bool = strawberry.field(description="The code was linked to this customer already (the mode is updated).")


@strawberry.type
class LinkedPromoCodes:
    customer_id: strawberry.ID
    links: list[PromoCodeLink] = strawberry.field(description="Newest first, used ones included.")


async def _bill_number(root: PromoCodeRedemption, info: Info) -> str:
    return await info.context.bill_numbers.load(int(root.transaction_id))


@strawberry.type(description="A bill a code was applied to.")
class PromoCodeRedemption:
    id: strawberry.ID
    customer_id: strawberry.ID | None = strawberry.field(description="Empty for a non-loyalty (NOT_INTERESTED) bill.")
    transaction_id: strawberry.ID
    transaction_number: str = strawberry.field(resolver=_bill_number)
    discount: Decimal
    linked: bool
    redeemed_at: datetime
    reversed: bool
    reversed_at: datetime | None
    reversal_transaction_id: strawberry.ID | None = strawberry.field(description="The return that gave the code back.")


@strawberry.type
class PromoCodeRedemptionConnection:
    nodes: list[PromoCodeRedemption]
    page_info: PageInfo


@strawberry.type(description="Member care's view of a code: its promotion, counters, limits and redemptions.")
class PromoCodeStatus:
    code: str
    source: PromoCodeSourceEnum
    redemptions_count: int = strawberry.field(description="Redemptions of this code, returns given back excluded.")
    redemptions_left: int | None = strawberry.field(description="Under the code's own limit; empty when it has none.")
    created_at: datetime
    promotion: CartPromotion
    redemptions: PromoCodeRedemptionConnection = strawberry.field(description="Newest first, keyset pages.")

    @classmethod
    def from_status(cls, status: promotions_service.CodeStatus) -> PromoCodeStatus:
        limit = status.promotion.limits.code_redemption_limit
        return cls(
            code=status.code,
            source=PromoCodeSource(status.source),
            redemptions_count=status.redemptions_count,
            redemptions_left=max(limit - status.redemptions_count, 0) if limit is not None else None,
            created_at=status.created_at,
            promotion=CartPromotion.from_view(status.promotion),
            redemptions=PromoCodeRedemptionConnection(
                nodes=[
                    PromoCodeRedemption(
                        id=strawberry.ID(str(item.id)),
                        customer_id=strawberry.ID(str(item.customer_id)) if item.customer_id is not None else None,
                        transaction_id=strawberry.ID(str(item.transaction_id)),
                        discount=item.discount,
                        linked=item.linked,
                        redeemed_at=item.redeemed_at,
                        reversed=item.reversed_at is not None,
                        reversed_at=item.reversed_at,
                        reversal_transaction_id=strawberry.ID(str(item.reversal_transaction_id))
                        if item.reversal_transaction_id is not None
                        else None,
                    )
                    for item in status.redemptions
                ],
                page_info=page_info_after(
                    "promo-redemption", [row.id for row in status.redemptions[-1:]], status.has_next_page
                ),
            ),
        )


@strawberry.type
class CartPromotionConnection:
    nodes: list[CartPromotion]
    page_info: PageInfo


# Every promo code error type (core.errors.PROMO_CODE_ERRORS): why a code does not apply.
PromoErrors = (
    PromoCodeUnknownError
    | PromoCodeExpiredError
    | PromoCodeNotYetActiveError
    | PromoCodeLimitReachedError
    | PromoCodeCustomerLimitReachedError
    | PromoConditionsNotMetError
)
assert len(PROMO_CODE_ERRORS) == 6


ValidatePromoCodeResult = Annotated[
    PromoCodeValidated | PromoErrors | InvalidInputError | NotFoundError, strawberry.union("ValidatePromoCodeResult")
]
PromotionResult = Annotated[CartPromotion | NotFoundError | InvalidInputError, strawberry.union("PromotionResult")]
LinkedPromoCodesResult = Annotated[
    LinkedPromoCodes | NotFoundError | InvalidInputError, strawberry.union("LinkedPromoCodesResult")
]
PromoCodeStatusResult = Annotated[
    PromoCodeStatus | PromoCodeUnknownError | InvalidInputError, strawberry.union("PromoCodeStatusResult")
]
