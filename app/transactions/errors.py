from decimal import Decimal

from app.kernel.errors import ConflictError, NotFoundError, ValidationError


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


# --- Returns --------------------------------------------------------------------------------


class TransactionNotFoundError(NotFoundError):
    """No bill of this org with that number, purchase date and store (another org's bill is never found)."""

    code = "TRANSACTION_NOT_FOUND"


class LineItemNotFoundError(NotFoundError):
    code = "LINE_ITEM_NOT_FOUND"


class CustomerMismatchError(ValidationError):
    """The customer named on a return is not the bill's customer (nor the one it was merged into)."""

    code = "CUSTOMER_MISMATCH"


class ReturnExceedsBillError(ConflictError):
    """A return would bring back more than is left of the bill; says what is left."""

    code = "RETURN_EXCEEDS_BILL"

    def __init__(
        self,
        message: str,
        *,
        field: str | None,
        remaining_amount: Decimal,
        remaining_points: Decimal,
        remaining_qty: Decimal | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.remaining_amount = remaining_amount
        self.remaining_points = remaining_points
        self.remaining_qty = remaining_qty


class BillFullyReturnedError(ReturnExceedsBillError):
    code = "ALREADY_FULLY_RETURNED"


class DuplicateReturnNumberError(DuplicateBillNumberError):
    """This return number was used for a return of the same bill, with another payload."""

    code = "DUPLICATE_RETURN_NUMBER"
