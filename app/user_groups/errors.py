"""Typed errors of user groups."""

from app.customers.errors import NotACustomerError
from app.kernel.errors import ConflictError, NotFoundError

__all__ = ["NotACustomerError", "UserGroupExistsError", "UserGroupNotFoundError"]


class UserGroupNotFoundError(NotFoundError):
    code = "USER_GROUP_NOT_FOUND"


class UserGroupExistsError(ConflictError):
    """A group with this external id already exists in the org."""

    code = "USER_GROUP_EXISTS"
