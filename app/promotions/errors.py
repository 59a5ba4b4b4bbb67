"""Typed errors of promo codes: why a code does not apply (validatePromoCode and addTransaction
give the same ones), and what a promotion or a link refuses."""

from __future__ import annotations

from app.kernel.errors import ConflictError, NotFoundError, ValidationError


class PromoCodeNotFoundError(NotFoundError):
    """No such code in this organisation (another org's codes are not found either)."""

    code = "PROMO_CODE_UNKNOWN"


class PromotionNotFoundError(NotFoundError):
    code = "PROMOTION_NOT_FOUND"


class PromoCodeExpiredError(ConflictError):
    """The code's promotion has ended: its codes no longer work."""

    code = "PROMO_CODE_EXPIRED"


class PromoCodeNotYetActiveError(ConflictError):
    code = "PROMO_CODE_NOT_YET_ACTIVE"


class PromoCodeLimitReachedError(ConflictError):
    """The code's own limit or its promotion's limit across all its codes is used up."""

    code = "PROMO_CODE_LIMIT_REACHED"


class PromoCodeCustomerLimitReachedError(ConflictError):
    """This customer has used the code (or the promotion) as often as it allows."""

    code = "PROMO_CODE_CUSTOMER_LIMIT_REACHED"


class PromoConditionsNotMetError(ValidationError):
    """The cart does not meet the promotion's conditions (minimum bill, eligible items)."""

    code = "PROMO_CONDITIONS_NOT_MET"


class PromoCodeLinkedToAnotherCustomerError(ConflictError):
    """A code that is not a common code can be linked to one customer only."""

    code = "PROMO_CODE_LINKED_TO_ANOTHER_CUSTOMER"


class PromotionNotStartedError(ConflictError):
    """Ending a promotion before it starts would leave it an empty window."""

    code = "PROMOTION_NOT_STARTED"


class CouponNotLinkedToCustomerError(ConflictError):
    """The code exists but is not linked to this customer (linkPromoCode): there is nothing of theirs to resend."""

    code = "COUPON_NOT_LINKED_TO_CUSTOMER"


class CouponRedeemedError(ConflictError):
    """The customer has used the code up (its status is REDEEMED): it cannot be sent to them again."""

    code = "COUPON_REDEEMED"
