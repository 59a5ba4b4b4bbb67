"""Input types of code-linked promotions: a promotion, codes to generate or upload, a cart to validate
a code against, and a code to link; and how a promotion id is read."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.promotions.types import BillConditionKindEnum, LinkModeEnum, PromotionActionEnum, UploadErrorPolicy
from app.graphql.transactions.inputs import NameValueInput
from app.kernel.bill_conditions import BillCondition, BillConditionKind, BillFacts
from app.kernel.decimals import AMOUNT, QUANTITY, check_decimal, read_whole_number
from app.kernel.errors import ValidationError
from app.promotions import service as promotions_service
from app.promotions.models import LinkMode, PromotionAction
from app.promotions.rules import AttributeCondition, Cart, CartLine, Limits, PromotionTerms


@strawberry.input(
    description=(
        "A condition on a bill: EXTENDED_FIELD or CUSTOM_FIELD with the field's name and value, or PAYMENT_MODE with "
        "the mode's code as name (and no value)."
    )
)
class BillConditionInput:
    kind: BillConditionKindEnum
    name: str
    value: str | None = None

    def to_domain(self) -> BillCondition:
        return BillCondition(BillConditionKind(self.kind), self.name.strip(), self.value)


@strawberry.input(description="A cart promotion whose codes customers bring (loyalty members or not).")
class CartPromotionInput:
    name: str
    valid_from: datetime = strawberry.field(description="With an offset; codes work from this instant.")
    valid_until: datetime = strawberry.field(description="With an offset; codes stop working at this instant.")
    action: PromotionActionEnum
    description: str | None = None
    minimum_bill_amount: Decimal | None = strawberry.field(
        default=None, description="The bill's amount must be at least this."
    )
    eligible_item_codes: list[str] = strawberry.field(
        default_factory=list,
        description=("Lines with these item codes are eligible (with eligibleAttributes: lines matching either)."),
    )
    eligible_attributes: list[NameValueInput] = strawberry.field(
        default_factory=list, description=("Lines carrying any of these attribute name/value pairs are eligible.")
    )
    bill_conditions: list[BillConditionInput] = strawberry.field(
        default_factory=list,
        description="Conditions on the bill's extended and custom fields and payment modes; all must hold.",
    )
    percent: Decimal | None = strawberry.field(default=None, description="PERCENT_OFF: more than 0, at most 100.")
    amount: Decimal | None = strawberry.field(
        default=None, description="FIXED_AMOUNT_OFF: the discount; BUNDLE_PRICE: the bundle's price."
    )
    free_item_code: str | None = strawberry.field(
        default=None, description="FREE_PRODUCT: the item given free (one unit)."
    )
    bundle_item_codes: list[str] = strawberry.field(
        default_factory=list, description="BUNDLE_PRICE: the items sold together."
    )
    code_redemption_limit: int | None = strawberry.field(
        default=None, description="Redemptions of each code (none: no limit)."
    )
    customer_code_redemption_limit: int | None = strawberry.field(
        default=None, description="Redemptions of each code by one customer."
    )
    redemption_limit: int | None = strawberry.field(
        default=None, description="Redemptions of the promotion across all its codes."
    )
    customer_transaction_limit: int | None = strawberry.field(
        default=None, description="Bills of one customer the promotion applies to."
    )
    common_code: str | None = strawberry.field(default=None, description="One code shared by many (HOLIMAN100).")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> promotions_service.PromotionInput:
        return promotions_service.PromotionInput(
            name=self.name,
            description=self.description,
            common_code=self.common_code,
            idempotency_key=self.idempotency_key,
            terms=PromotionTerms(
                valid_from=self.valid_from,
                valid_until=self.valid_until,
                action=PromotionAction(self.action),
                minimum_bill_amount=self.minimum_bill_amount,
                eligible_item_codes=tuple(self.eligible_item_codes),
                eligible_attributes=tuple(
                    AttributeCondition(pair.name, pair.value) for pair in self.eligible_attributes
                ),
                percent=self.percent,
                amount=self.amount,
                free_item_code=self.free_item_code,
                bundle_item_codes=tuple(self.bundle_item_codes),
                bill_conditions=tuple(condition.to_domain() for condition in self.bill_conditions),
            ),
            limits=Limits(
                code_redemption_limit=self.code_redemption_limit,
                customer_code_redemption_limit=self.customer_code_redemption_limit,
                redemption_limit=self.redemption_limit,
                customer_transaction_limit=self.customer_transaction_limit,
            ),
        )


@strawberry.input
class GeneratePromoCodesInput:
    promotion_id: strawberry.ID
    count: int = strawberry.field(
        description=f"At most {promotions_service.GRAPHQL_GENERATE_MAX:,} here; more with `pointledger promo generate`."
    )
    length: int = strawberry.field(default=8, description="Random characters after the prefix (4 to 24).")
    prefix: str | None = None
    idempotency_key: str | None = strawberry.field(
        default=None,
        description=(
            "Optional. Remembered with the first batch: sent again, nothing more is generated (replayed); the "
            "promotion's codesCount says what exists."
        ),
    )


@strawberry.input
class UploadPromoCodesInput:
    promotion_id: strawberry.ID
    csv: str = strawberry.field(description="The file's text: a header row with a `code` column, one code a row.")
    error_policy: UploadErrorPolicy = UploadErrorPolicy.REJECT_ALL


@strawberry.input(description="A cart line as addTransaction's line items give it.")
class PromoCartLineInput:
    item_code: str
    qty: Decimal
    amount: Decimal = strawberry.field(description="What the line costs after its own discount.")
    attributes: list[NameValueInput] = strawberry.field(default_factory=list)


@strawberry.input
class PromoCartInput:
    amount: Decimal = strawberry.field(description="The bill's amount before the code's discount.")
    line_items: list[PromoCartLineInput] = strawberry.field(default_factory=list)
    extended_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    custom_fields: list[NameValueInput] = strawberry.field(default_factory=list)
    payment_modes: list[str] = strawberry.field(default_factory=list, description="The bill's payment modes.")

    def to_domain(self, path: str) -> Cart:
        if len(self.line_items) > 1000:
            raise ValidationError("at most 1,000 line items", field=f"{path}.lineItems")
        check_decimal(self.amount, f"{path}.amount", AMOUNT)
        for index, line in enumerate(self.line_items):
            check_decimal(line.amount, f"{path}.lineItems[{index}].amount", AMOUNT)
            check_decimal(line.qty, f"{path}.lineItems[{index}].qty", QUANTITY, positive=True)
        return Cart(
            amount=self.amount,
            lines=tuple(
                CartLine(
                    line.item_code.strip(),
                    line.qty,
                    line.amount,
                    tuple(AttributeCondition(pair.name, pair.value) for pair in line.attributes),
                )
                for line in self.line_items
            ),
            facts=BillFacts(
                extended_fields={pair.name: pair.value for pair in self.extended_fields},
                custom_fields={pair.name: pair.value for pair in self.custom_fields},
                payment_modes=frozenset(self.payment_modes),
            ),
        )


@strawberry.input
class ValidatePromoCodeInput:
    code: str
    cart: PromoCartInput
    customer: CustomerLookupInput | None = strawberry.field(
        default=None,
        description=(
            "The customer's per-customer limits are checked when given; leave it out for a non-loyalty customer."
        ),
    )


@strawberry.input(description="The seed's /v1/promotions/code/link.")
class LinkPromoCodeInput:
    code: str
    customer: CustomerLookupInput
    mode: LinkModeEnum = LinkMode.NEXT_CHECKOUT


def parse_promotion_id(value: strawberry.ID, field_name: str) -> int:
    """A promotion id as clients send it; INVALID_INPUT on the field when it cannot be one."""
    promotion_id = read_whole_number(str(value), 2**31 - 1)
    if promotion_id is None:
        raise ValidationError("is not a promotion id", field=field_name)
    return promotion_id
