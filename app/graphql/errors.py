"""Expected failures as schema types: each implements `Error` (code, message, field).

Resolvers let domain errors propagate; the exception handlers below turn them into the
matching member of the field's result union. Anything unexpected is masked by the schema.
"""

from __future__ import annotations

from typing import Any

import strawberry

from app import errors as domain
from app.transactions.errors import DuplicateBillNumberError as DomainDuplicateBillNumber


@strawberry.interface(description="An expected failure: a stable code, a message, and the input field at fault.")
class Error:
    code: str
    message: str
    field: str | None


@strawberry.type(description="The input is malformed or breaks a rule; nothing was written.")
class InvalidInputError(Error):
    pass


@strawberry.type(description="What the input names does not exist in this organisation.")
class NotFoundError(Error):
    pass


@strawberry.type(description="The bill number was already used in this store within the uniqueness window, with a different payload.")
class DuplicateBillNumberError(Error):
    existing_transaction_id: strawberry.ID


@strawberry.type(description="An unexpected failure of one item of a batch; the detail is in the server log.")
class InternalError(Error):
    pass


def to_graphql_error(error: domain.DomainError) -> Any:
    if isinstance(error, DomainDuplicateBillNumber):
        return DuplicateBillNumberError(code=error.code, message=error.message, field=error.field,
                                        existing_transaction_id=strawberry.ID(str(error.existing_transaction_id)))
    if isinstance(error, domain.NotFoundError):
        return NotFoundError(code=error.code, message=error.message, field=error.field)
    if isinstance(error, domain.InternalError):
        return InternalError(code=error.code, message=error.message, field=error.field)
    if isinstance(error, domain.ValidationError):
        return InvalidInputError(code=error.code, message=error.message, field=error.field)
    return None  # not a type this schema knows: let it surface (masked) as an unexpected error


class _Handler:
    def handle(self, exception: domain.DomainError, *, field: Any, info: Any) -> Any:
        return to_graphql_error(exception)


class InvalidInputHandler(_Handler, strawberry.ExceptionHandler[domain.ValidationError, InvalidInputError]):
    pass


class NotFoundHandler(_Handler, strawberry.ExceptionHandler[domain.NotFoundError, NotFoundError]):
    pass


class DuplicateBillNumberHandler(_Handler, strawberry.ExceptionHandler[DomainDuplicateBillNumber, DuplicateBillNumberError]):
    pass


EXCEPTION_HANDLERS = (DuplicateBillNumberHandler(), NotFoundHandler(), InvalidInputHandler())
