"""Typed errors of interactions (a batch too large is app.transactions.errors.BatchTooLargeError,
a customer not found app.customers.errors.CustomerNotFoundError)."""

from app.kernel.errors import ConflictError


class InteractionConflictError(ConflictError):
    """The message id was recorded before, in this channel, with other details (customer,
    direction, account, template, subject, body preview, sent or delivered time): only its status
    may change. Nothing was written for this item."""

    code = "INTERACTION_CONFLICT"
