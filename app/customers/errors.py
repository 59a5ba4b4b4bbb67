from app.errors import NotFoundError, ValidationError


class InvalidIdentifierError(ValidationError):
    code = "INVALID_IDENTIFIER"


class CustomerNotFoundError(NotFoundError):
    code = "CUSTOMER_NOT_FOUND"
