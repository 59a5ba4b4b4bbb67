from app.kernel.errors import ConflictError, NotFoundError, ValidationError


class InvalidIdentifierError(ValidationError):
    code = "INVALID_IDENTIFIER"


class CustomerNotFoundError(NotFoundError):
    code = "CUSTOMER_NOT_FOUND"


class SameCustomerError(ValidationError):
    """Both sides of a transfer or a merge name one customer."""

    code = "SAME_CUSTOMER"


class CustomerMergedError(ConflictError):
    """The customer was merged into another: its ledger ends with the merge, so nothing more
    moves in or out of it (its identifiers already find the survivor)."""

    code = "CUSTOMER_MERGED"

    def __init__(self, message: str, *, field: str | None, survivor_id: int) -> None:
        super().__init__(message, field=field)
        self.survivor_id = survivor_id


class NotACustomerError(ValidationError):
    """A user group's account holder was named where a customer is needed (a merge, a membership)."""

    code = "NOT_A_CUSTOMER"


class PrimaryIdentifierMismatchError(ConflictError):
    """The bill's primary identifier is not the customer its other identifiers belong to, and the
    organisation's primary identifier strict check refuses such bills instead of merging."""

    code = "PRIMARY_IDENTIFIER_MISMATCH"


class IdentifierTakenError(ConflictError):
    """Another customer owns this identifier: ask for a merge (merge: true) to take it with them."""

    code = "IDENTIFIER_TAKEN"


class IdentifierNotHeldError(NotFoundError):
    """The customer has no such identifier to remove or replace."""

    code = "IDENTIFIER_NOT_HELD"


class NoIdentifierChangeError(ValidationError):
    """A change identifier request names neither a value to add nor one to remove."""

    code = "NO_IDENTIFIER_CHANGE"
