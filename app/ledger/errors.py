from app.errors import ConflictError, NotFoundError


class NoPointsToConvertError(ConflictError):
    """A trigger fired for points that are not (or no longer) held: converted already, returned,
    expired, or never earned into the TRIGGER_BASED account. Nothing was written."""

    code = "NO_POINTS_TO_CONVERT"


class ProgramNotFoundError(NotFoundError):
    code = "PROGRAM_NOT_FOUND"


class TransactionNotFoundError(NotFoundError):
    """The bill does not exist in this organisation, or is not this customer's."""

    code = "TRANSACTION_NOT_FOUND"
