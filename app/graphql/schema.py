"""The one GraphQL schema, assembled from the domain modules."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache

from app.errors import DomainError
from app.graphql.customers import CustomerQuery
from app.graphql.errors import EXCEPTION_HANDLERS
from app.graphql.ledger import LedgerQuery
from app.graphql.organization import OrganizationQuery
from app.graphql.scalars import DecimalScalar
from app.graphql.transactions import TransactionMutation


@strawberry.type
class Query(OrganizationQuery, CustomerQuery, LedgerQuery):
    pass


@strawberry.type
class Mutation(TransactionMutation):
    pass


def _is_expected(error: Exception) -> bool:
    """Errors the client should read as they are: GraphQL's own (syntax, validation, variable
    coercion) and typed domain errors. Everything else is masked."""
    original = getattr(error, "original_error", None)
    return original is None or isinstance(original, DomainError)


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        scalar_overrides={Decimal: DecimalScalar},
        exception_handlers=EXCEPTION_HANDLERS,
        extensions=[
            # The caches key on the document text: cursors and ids travel as variables.
            lambda: ParserCache(maxsize=1024),
            lambda: ValidationCache(maxsize=1024),
            lambda: QueryDepthLimiter(max_depth=12),
            lambda: MaxTokensLimiter(max_token_count=5000),
            lambda: MaxAliasesLimiter(max_alias_count=50),
            lambda: MaskErrors(should_mask_error=lambda error: not _is_expected(error), error_message="Unexpected error."),
        ],
    )


schema = build_schema()
