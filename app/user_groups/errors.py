"""Typed errors of user groups."""

from app.errors import ConflictError, NotFoundError, ValidationError


class UserGroupNotFoundError(NotFoundError):
    code = "USER_GROUP_NOT_FOUND"


class UserGroupExistsError(ConflictError):
    """A group with this external id already exists in the org."""

    code = "USER_GROUP_EXISTS"


class NotACustomerError(ValidationError):
    """A user group's account holder was named where a customer is needed (e.g. as a member)."""

    code = "NOT_A_CUSTOMER"
