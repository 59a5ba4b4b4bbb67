"""Typed errors of points promotions."""

from app.kernel.errors import ConflictError, NotFoundError


class PromotionNameMismatchError(ConflictError):
    """The identifier names an existing promotion with another name (the seed: the same
    identifier must come with the same name)."""

    code = "PROMOTION_NAME_MISMATCH"


class PromotionSettingsMismatchError(ConflictError):
    """The identifier names an existing promotion with another program or expiry strategy."""

    code = "PROMOTION_SETTINGS_MISMATCH"


class PromotionNotFoundError(NotFoundError):
    code = "PROMOTION_NOT_FOUND"
