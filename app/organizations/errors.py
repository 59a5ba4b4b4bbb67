"""What a request names in the organisation's configuration and is not there."""

from app.kernel.errors import NotFoundError


class ProgramNotFoundError(NotFoundError):
    code = "PROGRAM_NOT_FOUND"


class StoreNotFoundError(NotFoundError):
    code = "STORE_NOT_FOUND"


class TillNotFoundError(NotFoundError):
    code = "TILL_NOT_FOUND"
