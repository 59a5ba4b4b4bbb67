from app.kernel.errors import NotFoundError, ValidationError


class ReferralCodeNotFoundError(NotFoundError):
    """No customer of this organisation has this referral code."""

    code = "REFERRAL_CODE_NOT_FOUND"


class OwnReferralCodeError(ValidationError):
    """A customer cannot be their own referrer."""

    code = "OWN_REFERRAL_CODE"
