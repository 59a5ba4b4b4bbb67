"""Expected failures as schema types: each implements `Error` (code, message, field).

Resolvers let domain errors propagate; the exception handlers below turn them into the
matching member of the field's result union. A field whose union lacks the specific type gets
the most specific type it has (an InsufficientPointsError is still a ConflictError). Anything
unexpected is masked by the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import strawberry

from app.kernel import errors as domain
from app.promotions import errors as promo
from app.redemptions.errors import ReversalLimitError as RedemptionReversalLimit
from app.transactions.errors import DuplicateBillNumberError as DomainDuplicateBillNumber
from app.transactions.errors import ReturnExceedsBillError as DomainReturnExceedsBill


@strawberry.interface(description="An expected failure: a stable code, a message, and the input field at fault.")
class Error:
    code: str
    message: str
    field: str | None


@strawberry.type(description="The input is malformed or breaks a rule; nothing was written.")
class InvalidInputError(Error):
    pass


@strawberry.type(description="What the input names does not exist in this organisation.")
class NotFoundError(Error):
    pass


@strawberry.type(description="The request conflicts with the current state (the code says how); nothing was written.")
class ConflictError(Error):
    pass


@strawberry.type(
    description="The bill number was already used in this store within the uniqueness window, with a different payload."
)
class DuplicateBillNumberError(Error):
    existing_transaction_id: strawberry.ID


@strawberry.type(description="The customer has fewer spendable points than asked for; nothing was written.")
class InsufficientPointsError(Error):
    available_points: Decimal = strawberry.field(description="Spendable now (pending points excluded).")
    requested_points: Decimal


@strawberry.type(
    description=(
        "A reversal would give back more points than the redemption has left (ALREADY_REVERSED: none is left); "
        "nothing was written."
    )
)
class RedemptionReversalLimitError(Error):
    points_redeemed: Decimal
    points_reversed: Decimal
    points_left: Decimal


@strawberry.type(
    description=(
        "A return would take back more than is left of the bill (ALREADY_FULLY_RETURNED: nothing is left); "
        "says what is left to return. Nothing was written."
    )
)
class ReturnExceedsBillError(Error):
    remaining_amount: Decimal
    remaining_points: Decimal
    remaining_qty: Decimal | None = strawberry.field(
        description="Of the line named by the field, when it is a line's quantity."
    )


@strawberry.type(description="This idempotency key was used before with a different request; nothing was written.")
class IdempotencyKeyReusedError(Error):
    pass


@strawberry.type(description="The API key holds none of the roles this operation needs (the message names them).")
class ForbiddenError(Error):
    pass


@strawberry.type(description="An unexpected failure of one item of a batch; the detail is in the server log.")
class InternalError(Error):
    pass


@strawberry.type(
    description=(
        "The organisation's keys of this role made as many requests this minute as its rate limit allows "
        "(RATE_LIMITED); this item was not processed: retry after retryAfterSeconds."
    )
)
class RateLimitedError(Error):
    retry_after_seconds: int


@strawberry.type(description="No promo code like this in the organisation (PROMO_CODE_UNKNOWN); nothing was written.")
class PromoCodeUnknownError(Error):
    pass


@strawberry.type(description="The code's promotion has ended: its codes no longer work (PROMO_CODE_EXPIRED).")
class PromoCodeExpiredError(Error):
    pass


@strawberry.type(description="The code's promotion has not started yet (PROMO_CODE_NOT_YET_ACTIVE).")
class PromoCodeNotYetActiveError(Error):
    pass


@strawberry.type(
    description=("The code's redemptions, or its promotion's across all codes, are used up (PROMO_CODE_LIMIT_REACHED).")
)
class PromoCodeLimitReachedError(Error):
    pass


@strawberry.type(
    description=(
        "This customer has used the code, or its promotion, as often as allowed (PROMO_CODE_CUSTOMER_LIMIT_REACHED)."
    )
)
class PromoCodeCustomerLimitReachedError(Error):
    pass


@strawberry.type(
    description="The cart does not meet the promotion's conditions (PROMO_CONDITIONS_NOT_MET); the message says which."
)
class PromoConditionsNotMetError(Error):
    pass


PROMO_CODE_ERRORS = (
    PromoCodeUnknownError,
    PromoCodeExpiredError,
    PromoCodeNotYetActiveError,
    PromoCodeLimitReachedError,
    PromoCodeCustomerLimitReachedError,
    PromoConditionsNotMetError,
)


def _plain(graphql_type: type) -> Callable[[domain.DomainError], Any]:
    return lambda error: graphql_type(code=error.code, message=error.message, field=error.field)


# Most specific first: an error becomes the first type here that it is an instance of and that
# the field's result union has.
ERROR_TYPES: list[tuple[type[domain.DomainError], type, Callable[[Any], Any]]] = [
    (
        DomainDuplicateBillNumber,
        DuplicateBillNumberError,
        lambda error: DuplicateBillNumberError(
            code=error.code,
            message=error.message,
            field=error.field,
            existing_transaction_id=strawberry.ID(str(error.existing_transaction_id)),
        ),
    ),
    (
        domain.InsufficientPointsError,
        InsufficientPointsError,
        lambda error: InsufficientPointsError(
            code=error.code,
            message=error.message,
            field=error.field,
            available_points=error.available_points,
            requested_points=error.requested_points,
        ),
    ),
    (
        RedemptionReversalLimit,
        RedemptionReversalLimitError,
        lambda error: RedemptionReversalLimitError(
            code=error.code,
            message=error.message,
            field=error.field,
            points_redeemed=error.points_redeemed,
            points_reversed=error.points_reversed,
            points_left=error.points_left,
        ),
    ),
    (
        DomainReturnExceedsBill,
        ReturnExceedsBillError,
        lambda error: ReturnExceedsBillError(
            code=error.code,
            message=error.message,
            field=error.field,
            remaining_amount=error.remaining_amount,
            remaining_points=error.remaining_points,
            remaining_qty=error.remaining_qty,
        ),
    ),
    (promo.PromoCodeNotFoundError, PromoCodeUnknownError, _plain(PromoCodeUnknownError)),
    (promo.PromoCodeExpiredError, PromoCodeExpiredError, _plain(PromoCodeExpiredError)),
    (promo.PromoCodeNotYetActiveError, PromoCodeNotYetActiveError, _plain(PromoCodeNotYetActiveError)),
    (promo.PromoCodeLimitReachedError, PromoCodeLimitReachedError, _plain(PromoCodeLimitReachedError)),
    (
        promo.PromoCodeCustomerLimitReachedError,
        PromoCodeCustomerLimitReachedError,
        _plain(PromoCodeCustomerLimitReachedError),
    ),
    (promo.PromoConditionsNotMetError, PromoConditionsNotMetError, _plain(PromoConditionsNotMetError)),
    (domain.IdempotencyKeyReusedError, IdempotencyKeyReusedError, _plain(IdempotencyKeyReusedError)),
    (
        domain.RateLimitedError,
        RateLimitedError,
        lambda error: RateLimitedError(
            code=error.code, message=error.message, field=error.field, retry_after_seconds=error.retry_after_seconds
        ),
    ),
    (domain.ForbiddenError, ForbiddenError, _plain(ForbiddenError)),
    (domain.NotFoundError, NotFoundError, _plain(NotFoundError)),
    (domain.InternalError, InternalError, _plain(InternalError)),
    (domain.ConflictError, ConflictError, _plain(ConflictError)),
    (domain.ValidationError, InvalidInputError, _plain(InvalidInputError)),
]


def to_graphql_error(error: domain.DomainError, allowed: tuple[type, ...] | None = None) -> Any:
    """The schema type for a domain error (among `allowed` types when given); None when no type fits."""
    for domain_class, graphql_type, build in ERROR_TYPES:
        if isinstance(error, domain_class) and (allowed is None or graphql_type in allowed):
            return build(error)
    return None  # not a type this schema knows: let it surface (masked) as an unexpected error


def _handler(domain_class: type[domain.DomainError], graphql_type: type, build: Callable[[Any], Any]) -> Any:
    class Handler(strawberry.ExceptionHandler):
        exception_type = domain_class
        error_type = graphql_type

        def handle(self, exception: domain.DomainError, *, field: Any, info: Any) -> Any:
            info.context.error_codes.append(exception.code)
            return build(exception)

    return Handler()


EXCEPTION_HANDLERS = tuple(_handler(*mapping) for mapping in ERROR_TYPES)
