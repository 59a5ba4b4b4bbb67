"""The one GraphQL schema, assembled from the domain packages' Query and Mutation mixins."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    ParserCache,
    SchemaExtension,
)
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext

from app.graphql.adjustments.mutations import AdjustmentMutation
from app.graphql.behavioural_events.mutations import BehaviouralEventMutation
from app.graphql.behavioural_events.queries import BehaviouralEventQuery
from app.graphql.cards.mutations import CardMutation
from app.graphql.core import variable_values
from app.graphql.core.compiled import execute_compiled, program_for
from app.graphql.core.context import Context
from app.graphql.core.error_codes import error_code_enum
from app.graphql.core.errors import EXCEPTION_HANDLERS
from app.graphql.core.extension_hooks import PlannedExtensionsRunner
from app.graphql.core.input_conversion import compile_input_conversions
from app.graphql.core.limits import CallerQueryLimits
from app.graphql.core.permissions import guard_root_fields, guard_subscription_fields
from app.graphql.core.rate_limits import limit_root_fields
from app.graphql.core.scalars import DateTimeScalar, DecimalScalar
from app.graphql.core.time_limit import arm_query_time_limit
from app.graphql.core.validation_cache import DocumentValidationCache
from app.graphql.coupons.mutations import CouponMutation
from app.graphql.coupons.queries import CouponQuery
from app.graphql.currencies.mutations import AlternateCurrencyMutation
from app.graphql.customer_promotions.mutations import CustomerPromotionMutation
from app.graphql.customer_promotions.queries import CustomerPromotionHistoryQuery, CustomerPromotionQuery
from app.graphql.customers.mutations import CustomerMutation
from app.graphql.customers.queries import (
    CustomerHistoryQuery,
    CustomerQuery,
    CustomerSearchQuery,
    IdentifierHistoryQuery,
)
from app.graphql.imports.mutations import ImportMutation
from app.graphql.imports.queries import ImportQuery
from app.graphql.imports.subscriptions import ImportSubscription
from app.graphql.interactions.mutations import InteractionMutation
from app.graphql.interactions.queries import InteractionQuery
from app.graphql.leads.mutations import LeadMutation
from app.graphql.leads.queries import LeadQuery
from app.graphql.ledger.mutations import LedgerMutation
from app.graphql.ledger.queries import LedgerQuery, ReconciliationQuery
from app.graphql.ledger.subscriptions import LedgerSubscription
from app.graphql.organization.queries import OrganizationQuery
from app.graphql.promotions.mutations import PromotionMutation
from app.graphql.promotions.queries import PromotionQuery
from app.graphql.redemptions.mutations import RedemptionMutation
from app.graphql.redemptions.queries import RedemptionQuery
from app.graphql.segments.mutations import SegmentMutation
from app.graphql.segments.queries import SegmentQuery
from app.graphql.tiers.queries import TierHistoryQuery
from app.graphql.trackers.mutations import TrackerMutation
from app.graphql.trackers.queries import TrackerQuery
from app.graphql.transactions.mutations import ReturnTransactionMutation, TransactionMutation
from app.graphql.transfers.mutations import TransferMutation
from app.graphql.transfers.queries import TransferQuery
from app.graphql.user_groups.mutations import UserGroupMutation
from app.graphql.user_groups.queries import UserGroupQuery
from app.graphql.webhooks.mutations import WebhookMutation
from app.graphql.webhooks.queries import WebhookQuery
from app.kernel.errors import DomainError

logger = logging.getLogger(__name__)


# A type lists its bases' fields in the order of the bases, so these lists fix the order of the
# fields in schema.graphql: keep them, and add a new mixin at the end. Some domains give two mixins
# (customers' history, the ledger's reconciliation, transactions' returns) to keep that order.
@strawberry.type
class Query(
    OrganizationQuery,
    CustomerQuery,
    LedgerQuery,
    CustomerHistoryQuery,
    TransferQuery,
    ReconciliationQuery,
    RedemptionQuery,
    CustomerPromotionQuery,
    UserGroupQuery,
    TrackerQuery,
    PromotionQuery,
    ImportQuery,
    CouponQuery,
    TierHistoryQuery,
    CustomerPromotionHistoryQuery,
    IdentifierHistoryQuery,
    LeadQuery,
    SegmentQuery,
    InteractionQuery,
    BehaviouralEventQuery,
    CustomerSearchQuery,
    WebhookQuery,
):
    pass


@strawberry.type
class Mutation(
    TransactionMutation,
    TransferMutation,
    CustomerMutation,
    RedemptionMutation,
    ReturnTransactionMutation,
    LedgerMutation,
    CustomerPromotionMutation,
    UserGroupMutation,
    TrackerMutation,
    PromotionMutation,
    ImportMutation,
    CouponMutation,
    AdjustmentMutation,
    CardMutation,
    LeadMutation,
    SegmentMutation,
    InteractionMutation,
    BehaviouralEventMutation,
    WebhookMutation,
    AlternateCurrencyMutation,
):
    pass


@strawberry.type
class Subscription(
    LedgerSubscription,
    ImportSubscription,
):
    pass


def _is_expected(error: GraphQLError) -> bool:
    """Errors the client should read as they are: GraphQL's own (syntax, validation, variable
    coercion: these have no path) and typed domain errors. What a resolver raised otherwise is
    masked, its detail kept in the log."""
    return error.path is None or isinstance(error.original_error, DomainError)


class PointledgerSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log unexpected errors with their traceback; a client's mistakes only at debug level."""
        for error in errors:
            if _is_expected(error):
                logger.debug("client error: %s", error.message)
        super().process_errors([error for error in errors if not _is_expected(error)], execution_context)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return PlannedExtensionsRunner(execution_context=execution_context, extensions=extensions)


class MaskUnexpectedErrors(MaskErrors):
    """Strawberry's MaskErrors, but it finds a result's errors by reading them: its check of every
    result against a runtime-checkable Protocol cost about 15 us of each request (a sixth of
    `{ __typename }`)."""

    def _process_result(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]


class RequestExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Made once per request, when the operation to run is known: tells the request's context
    which operation runs (the document's named operation when the client sends no operationName:
    the request metrics are labelled with it), and arms a query's time limit (time_limit.py).
    Nothing per field, and no extension hook (each costs a few microseconds a request)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        context = self.context_value
        if isinstance(context, Context):
            if self.operation.name is not None:
                context.operation_name = self.operation.name.value
            arm_query_time_limit(context, self.operation.operation)

    def execute_operation(self, serially: bool | None = None) -> Any:
        """The operation's compiled program when it has one (core/compiled.py), else graphql-core."""
        root = program_for(self) if serially is None else None
        if root is None:
            return super().execute_operation(serially)
        return execute_compiled(self, root)


def build_schema() -> strawberry.Schema:
    variable_values.install()
    built = PointledgerSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[error_code_enum()],  # named by no field: Error.code stays a String
        scalar_overrides={Decimal: DecimalScalar, datetime: DateTimeScalar},
        exception_handlers=EXCEPTION_HANDLERS,
        execution_context_class=RequestExecutionContext,
        extensions=[
            # The caches key on the document text: cursors and ids travel as variables.
            lambda: ParserCache(maxsize=1024),
            DocumentValidationCache,  # Strawberry's ValidationCache, keyed by the parsed document's identity
            CallerQueryLimits,
            lambda: MaskUnexpectedErrors(
                should_mask_error=lambda error: not _is_expected(error), error_message="Unexpected error."
            ),
        ],
    )
    compile_input_conversions(built)
    limit_root_fields(built)
    guard_root_fields(built)  # outermost: a key without the role is refused before it counts
    guard_subscription_fields(built)
    return built


schema = build_schema()
