from app.kernel.errors import ConflictError, NotFoundError, ValidationError


class CardNotFoundError(NotFoundError):
    """No loyalty card of the program has this number."""

    code = "CARD_NOT_FOUND"


class CardTakenError(ConflictError):
    """Another card of the program has this number or external id."""

    code = "CARD_TAKEN"


class CardReplacedError(ConflictError):
    """The card was replaced by another: its status is final (change the new card's)."""

    code = "CARD_REPLACED"


class ReplacementNumberError(ValidationError):
    """REPLACED needs the new card's number, and only REPLACED takes one."""

    code = "REPLACEMENT_NUMBER"
