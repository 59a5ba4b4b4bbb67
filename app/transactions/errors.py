from app.errors import ConflictError, NotFoundError, ValidationError


class StoreNotFoundError(NotFoundError):
    code = "STORE_NOT_FOUND"


class TillNotFoundError(NotFoundError):
    code = "TILL_NOT_FOUND"


class IdentifierRequiredError(ValidationError):
    code = "IDENTIFIER_REQUIRED"


class DuplicateBillNumberError(ConflictError):
    """The bill number was used in this store within the uniqueness window, with another payload."""

    code = "DUPLICATE_BILL_NUMBER"

    def __init__(self, message: str, *, field: str | None, existing_transaction_id: int) -> None:
        super().__init__(message, field=field)
        self.existing_transaction_id = existing_transaction_id


class BatchTooLargeError(ValidationError):
    code = "BATCH_TOO_LARGE"
