"""Code-linked promotions: create promotions, fill them with codes, validate a code against a
cart, link a code to a customer, and member care's view of a code."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.core.errors import (
    PROMO_CODE_ERRORS,
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    PromoCodeCustomerLimitReachedError,
    PromoCodeExpiredError,
    PromoCodeLimitReachedError,
    PromoCodeNotYetActiveError,
    PromoCodeUnknownError,
    PromoConditionsNotMetError,
)
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, PageInfo, check_page_size, decode_id_cursor, encode_id_cursor
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.transactions.inputs import NameValueInput
from app.graphql.transactions.types import NameValue
from app.kernel.errors import ValidationError
from app.promotions import rules
from app.promotions import service as promotions_service
from app.promotions.models import LinkMode, PromoCodeSource, PromotionAction
from app.promotions.rules import AttributeCondition, Cart, CartLine, Limits, PromotionTerms

PromotionActionEnum = strawberry.enum(
    PromotionAction,
    name="PromotionAction",
    description=(
        "What a promotion gives: PERCENT_OFF (percent of the eligible lines, or of the bill), FIXED_AMOUNT_OFF, "
        "FREE_PRODUCT (one unit of freeItemCode) or BUNDLE_PRICE (bundleItemCodes together for amount)."
    ),
)
PromoCodeSourceEnum = strawberry.enum(PromoCodeSource, name="PromoCodeSource")
LinkModeEnum = strawberry.enum(
    LinkMode,
    name="PromoCodeLinkMode",
    description=(
        "NEXT_CHECKOUT: applied once, on the customer's next qualifying bill, then the link is used up. "
        "EVERY_CHECKOUT: applied on each qualifying bill while the code's limits allow."
    ),
)


@strawberry.enum(
    description="REJECT_ALL: any row in error and nothing is stored. SKIP_INVALID: the valid rows are stored."
)
class UploadErrorPolicy(Enum):
    REJECT_ALL = "REJECT_ALL"
    SKIP_INVALID = "SKIP_INVALID"


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
            ),
            limits=Limits(
                code_redemption_limit=self.code_redemption_limit,
                customer_code_redemption_limit=self.customer_code_redemption_limit,
                redemption_limit=self.redemption_limit,
                customer_transaction_limit=self.customer_transaction_limit,
            ),
        )


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


@strawberry.type
class PromoCodesGenerated:
    promotion: CartPromotion
    generated: int = strawberry.field(description="Codes this request generated (0 when it replayed).")
    replayed: bool


@strawberry.input
class UploadPromoCodesInput:
    promotion_id: strawberry.ID
    csv: str = strawberry.field(description="The file's text: a header row with a `code` column, one code a row.")
    error_policy: UploadErrorPolicy = UploadErrorPolicy.REJECT_ALL


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

    def to_domain(self, path: str) -> Cart:
        for value, field_name in [
            (self.amount, f"{path}.amount"),
            *((line.amount, f"{path}.lineItems[{index}].amount") for index, line in enumerate(self.line_items)),
        ]:
            if not value.is_finite() or value < 0 or value >= Decimal(10) ** 11:
                raise ValidationError("must be a non-negative amount below 100,000,000,000", field=field_name)
        for index, line in enumerate(self.line_items):
            if not line.qty.is_finite() or line.qty <= 0:
                raise ValidationError("must be more than 0", field=f"{path}.lineItems[{index}].qty")
        if len(self.line_items) > 1000:
            raise ValidationError("at most 1,000 line items", field=f"{path}.lineItems")
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


@strawberry.type(description="The code applies to this cart now, with this discount (nothing was written or held).")
class PromoCodeValidated:
    code: str
    promotion_id: strawberry.ID
    promotion_name: str
    discount: Decimal
    amount_after_discount: Decimal


@strawberry.input(description="The seed's /v1/promotions/code/link.")
class LinkPromoCodeInput:
    code: str
    customer: CustomerLookupInput
    mode: LinkModeEnum = LinkMode.NEXT_CHECKOUT


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


PromoErrors = (
    PromoCodeUnknownError
    | PromoCodeExpiredError
    | PromoCodeNotYetActiveError
    | PromoCodeLimitReachedError
    | PromoCodeCustomerLimitReachedError
    | PromoConditionsNotMetError
)
CreatePromotionResult = Annotated[
    CartPromotionCreated | InvalidInputError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("CreatePromotionResult"),
]
GeneratePromoCodesResult = Annotated[
    PromoCodesGenerated | InvalidInputError | NotFoundError | ConflictError | IdempotencyKeyReusedError,
    strawberry.union("GeneratePromoCodesResult"),
]
UploadPromoCodesResult = Annotated[
    PromoCodesUploaded | InvalidInputError | NotFoundError, strawberry.union("UploadPromoCodesResult")
]
ValidatePromoCodeResult = Annotated[
    PromoCodeValidated | PromoErrors | InvalidInputError | NotFoundError, strawberry.union("ValidatePromoCodeResult")
]
LinkPromoCodeResult = Annotated[
    PromoCodeLinked | PromoCodeUnknownError | PromoCodeExpiredError | InvalidInputError | NotFoundError | ConflictError,
    strawberry.union("LinkPromoCodeResult"),
]
PromotionResult = Annotated[CartPromotion | NotFoundError | InvalidInputError, strawberry.union("PromotionResult")]
EndPromotionResult = Annotated[
    CartPromotion | NotFoundError | InvalidInputError | ConflictError, strawberry.union("EndPromotionResult")
]


@strawberry.type
class CartPromotionConnection:
    nodes: list[CartPromotion]
    page_info: PageInfo


LinkedPromoCodesResult = Annotated[
    LinkedPromoCodes | NotFoundError | InvalidInputError, strawberry.union("LinkedPromoCodesResult")
]
PromoCodeStatusResult = Annotated[
    PromoCodeStatus | PromoCodeUnknownError | InvalidInputError, strawberry.union("PromoCodeStatusResult")
]

assert len(PROMO_CODE_ERRORS) == 6


def _promotion_id(value: strawberry.ID, field_name: str) -> int:
    text = str(value)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 2**31 - 1:
        raise ValidationError("is not a promotion id", field=field_name)
    return int(text)


@strawberry.type
class PromotionQuery:
    @strawberry.field(
        description=(
            "Would this code apply to this cart now? The discount, or the typed reason it does not (unknown, expired, "
            "not yet active, limit reached, customer limit reached, conditions not met). Nothing is written or held."
        )
    )
    async def validate_promo_code(self, info: Info, input: ValidatePromoCodeInput) -> ValidatePromoCodeResult:
        cart = input.cart.to_domain("input.cart")
        result = await promotions_service.validate_code(
            info.context.database,
            info.context.org,
            input.code,
            input.customer.to_domain() if input.customer else None,
            cart,
            now=info.context.now,
        )
        return PromoCodeValidated(
            code=result.code,
            promotion_id=strawberry.ID(str(result.promotion_id)),
            promotion_name=result.promotion_name,
            discount=result.discount,
            amount_after_discount=result.cart_amount - result.discount,
        )

    @strawberry.field
    async def cart_promotion(self, info: Info, id: strawberry.ID) -> PromotionResult:
        async with info.context.database.read() as connection:
            view = await promotions_service.load_promotion(connection, info.context.org, _promotion_id(id, "id"), "id")
        return CartPromotion.from_view(view)

    @strawberry.field(description="The organisation's cart promotions, newest first, keyset pages.")
    async def cart_promotions(
        self, info: Info, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> CartPromotionConnection:
        check_page_size(first)
        after_id = decode_id_cursor("promotion", after)
        async with info.context.database.read() as connection:
            views, has_next_page = await promotions_service.list_promotions(
                connection, info.context.org, first, after_id
            )
        return CartPromotionConnection(
            nodes=[CartPromotion.from_view(view) for view in views],
            page_info=PageInfo(
                has_next_page=has_next_page, end_cursor=encode_id_cursor("promotion", views[-1].id) if views else None
            ),
        )

    @strawberry.field(description="A customer's linked promo codes (linkPromoCode), newest first.")
    async def linked_promo_codes(self, info: Info, customer: CustomerLookupInput) -> LinkedPromoCodesResult:
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views = await promotions_service.customer_links(connection, info.context.org, customer_id)
        return LinkedPromoCodes(
            customer_id=strawberry.ID(str(customer_id)), links=[PromoCodeLink.from_view(view) for view in views]
        )

    @strawberry.field(description="Member care: a code's promotion, counters, limits and redemptions.")
    async def promo_code_status(
        self, info: Info, code: str, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> PromoCodeStatusResult:
        check_page_size(first)
        after_id = decode_id_cursor("promo-redemption", after)
        async with info.context.database.read() as connection:
            status = await promotions_service.code_status(connection, info.context.org, code, first, after_id)
        limit = status.promotion.limits.code_redemption_limit
        return PromoCodeStatus(
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
                page_info=PageInfo(
                    has_next_page=status.has_next_page,
                    end_cursor=encode_id_cursor("promo-redemption", status.redemptions[-1].id)
                    if status.redemptions
                    else None,
                ),
            ),
        )


@strawberry.type
class PromotionMutation:
    @strawberry.mutation(description="Create a code-linked cart promotion (and its common code, when given).")
    async def create_promotion(self, info: Info, input: CartPromotionInput) -> CreatePromotionResult:
        view, replayed = await promotions_service.create_promotion(
            info.context.database, info.context.org, input.to_domain(), now=info.context.now
        )
        return CartPromotionCreated(promotion=CartPromotion.from_view(view), replayed=replayed)

    @strawberry.mutation(
        description=(
            "End a promotion now: its codes stop working at once (validUntil becomes now; redemptions stay). "
            "Ending it again changes nothing; a promotion that has not started gives PROMOTION_NOT_STARTED."
        )
    )
    async def end_promotion(self, info: Info, id: strawberry.ID) -> EndPromotionResult:
        view = await promotions_service.end_promotion(
            info.context.database, info.context.org, _promotion_id(id, "id"), now=info.context.now
        )
        return CartPromotion.from_view(view)

    @strawberry.mutation(
        description=(
            "Generate new unique codes for a promotion (also after it was created): random characters from an alphabet "
            "without look-alikes (no 0/O, 1/I/L, U), after an optional prefix."
        )
    )
    async def generate_promo_codes(self, info: Info, input: GeneratePromoCodesInput) -> GeneratePromoCodesResult:
        if not 1 <= input.count <= promotions_service.GRAPHQL_GENERATE_MAX:
            raise ValidationError(
                f"must be between 1 and {promotions_service.GRAPHQL_GENERATE_MAX:,} (more with the CLI)",
                field="input.count",
            )
        request = rules.check_generation(input.count, input.length, input.prefix)
        promotion_id = _promotion_id(input.promotion_id, "input.promotionId")
        generated = await promotions_service.generate_codes(
            info.context.database,
            info.context.org,
            promotion_id,
            request,
            idempotency_key=input.idempotency_key,
            now=info.context.now,
        )
        async with info.context.database.read() as connection:
            view = await promotions_service.load_promotion(connection, info.context.org, promotion_id)
        return PromoCodesGenerated(
            promotion=CartPromotion.from_view(view), generated=generated.count, replayed=generated.replayed
        )

    @strawberry.mutation(
        description="Add codes from a CSV file; rows in error are reported (row, column, code, message)."
    )
    async def upload_promo_codes(self, info: Info, input: UploadPromoCodesInput) -> UploadPromoCodesResult:
        promotion_id = _promotion_id(input.promotion_id, "input.promotionId")
        report = await promotions_service.upload_codes(
            info.context.database,
            info.context.org,
            promotion_id,
            input.csv,
            input.error_policy.value,
            now=info.context.now,
        )
        async with info.context.database.read() as connection:
            view = await promotions_service.load_promotion(connection, info.context.org, promotion_id)
        return PromoCodesUploaded(
            promotion=CartPromotion.from_view(view),
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

    @strawberry.mutation(
        description=(
            "Link a physical code to a customer (the seed's /v1/promotions/code/link): it becomes their digital code, "
            "applied on their qualifying checkouts without being named, never on another customer's."
        )
    )
    async def link_promo_code(self, info: Info, input: LinkPromoCodeInput) -> LinkPromoCodeResult:
        view, replayed = await promotions_service.link_code(
            info.context.database,
            info.context.org,
            input.code,
            input.customer.to_domain(),
            LinkMode(input.mode),
            now=info.context.now,
        )
        return PromoCodeLinked(link=PromoCodeLink.from_view(view), replayed=replayed)
