"""The Starlette application: GraphQL at /graphql behind API-key authentication, /health open."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import orjson
from cross_web import HTTPException  # strawberry's HTTP layer (its own package), raised by its parsers
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from app.graphql.core.context import Context
from app.graphql.core.limits import QueryLimitsByRole
from app.graphql.core.rate_limits import RequestRateLimits
from app.graphql.core.schema import schema
from app.graphql.core.subscription_context import SubscriptionContext
from app.graphql.core.time_limit import QueryDeadline, RunningQueries, timeout_error
from app.http import import_profiles as import_profile_routes
from app.http import imports as import_routes
from app.http import talon_one
from app.http.auth import (
    AMBIGUOUS_CREDENTIALS,
    AmbiguousCredentialsError,
    ApiGuard,
    Authenticator,
    json_error,
    org_of,
    roles_of,
)
from app.http.console import routes as console_routes
from app.http.downloads.routes import routes as download_routes
from app.http.import_runner import ImportRunner
from app.http.logs import AccessLog, configure_logging, note_request
from app.http.maintenance import MaintenanceTask
from app.http.metrics import BAD_REQUEST, Metrics, request_outcome
from app.http.no_store import ApiResponsesNotStored
from app.http.operation_gate import OperationGate, OperationRefusedError
from app.http.webhook_delivery import WebhookDeliveryTask
from app.kernel.clock import Clock, SystemClock
from app.kernel.rate_limits import RateLimiter
from app.kernel.settings import Settings, get_settings
from app.organizations.config import OrgConfigCache
from app.organizations.roles import roles_for
from app.outbox.feed import OutboxFeed
from app.storage import migrate
from app.storage.database import UNAVAILABLE_ERRORS, Database
from app.subscriptions.service import Streams

logger = logging.getLogger("pointledger")
# Where a GraphQL request's execution leaves what its metrics say (operation, result, error codes).
SCOPE_OUTCOME_KEY = "pointledger.outcome"
# Subscriptions one WebSocket connection may run at once (each holds a feed subscription).
SUBSCRIPTIONS_PER_CONNECTION_MAX = 20
# Either marks an upload as sent by a script (Apollo's clients send the second).
PREFLIGHT_HEADERS = ("x-pointledger-csrf", "apollo-require-preflight")


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames; Strawberry sends bytes when encode_json
    (orjson here) gives bytes, which clients refuse."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class PointledgerGraphQL(GraphQL[Context | SubscriptionContext, None]):
    websocket_adapter_class = TextWebSocketAdapter

    def __init__(self, services: Services) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if services.settings.graphiql and not services.production else None,
            allow_queries_via_get=True,
            multipart_uploads_enabled=True,  # importPoints takes its file as an upload
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=SUBSCRIPTIONS_PER_CONNECTION_MAX,
        )
        self.services = services

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context | SubscriptionContext:
        services = self.services
        if isinstance(request, WebSocket):  # authenticated by its connection_init (on_ws_connect)
            return SubscriptionContext(streams=Streams(services.database, services.outbox_feed))
        org, roles = org_of(request.scope), roles_of(request.scope)
        return Context(
            database=services.database.for_request(share_key=org.id),
            org=org,
            clock=services.clock,
            settings=services.settings,
            start_import=services.imports.submit,
            roles=roles,
            rate_limits=RequestRateLimits(
                services.rate_limiter, org, roles, services.metrics.count_rate_limit_refusals
            ),
            query_limits=services.query_limits.for_roles(roles),
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context | SubscriptionContext,
        root_value: Any,
        sub_response: Response,
    ) -> Any:
        assert isinstance(context, Context)  # an HTTP request's (subscriptions run over WebSocket)
        context.deadline = deadline = QueryDeadline(
            self.services.running_queries
        )  # armed by a query (RequestExecutionContext)
        try:
            if isinstance(request_data, GraphQLRequestData):  # a batch is refused by Strawberry itself
                self.services.operation_gate.admit(request_data, context.roles)
            result = await super().execute_operation(
                request=request,
                request_adapter=request_adapter,
                request_data=request_data,
                context=context,
                root_value=root_value,
                sub_response=sub_response,
            )
            deadline.disarm()  # before any other wait: a timer firing now would cancel what follows
            sub_response.headers.update(context.rate_limits.response_headers())
            if context.rate_limits.all_refused:
                sub_response.status_code = 429
        except asyncio.CancelledError:
            if not deadline.expired:
                raise
            current_task = asyncio.current_task()
            assert current_task is not None
            current_task.uncancel()  # ours: the request goes on, to answer
            limit = self.services.settings.request_time_limit_seconds
            logger.warning("query stopped at the request time limit (%g s)", limit)
            result = ExecutionResult(data=None, errors=[timeout_error(limit)])
        finally:
            deadline.disarm()
            await context.database.close()  # the request's read snapshot ends with the operation
        operation_name = context.operation_name or getattr(request_data, "operation_name", None)
        request.scope[SCOPE_OUTCOME_KEY] = (operation_name, *request_outcome(result, context.error_codes))
        return result

    async def on_ws_connect(self, context: Context | SubscriptionContext) -> UnsetType:
        """A WebSocket connection's `connection_init` carries the API key as HTTP requests do:
        `{"Authorization": "Basic base64(key_id:secret)"}`. Anything else closes the socket with
        4403 (graphql-transport-ws's Forbidden); a `subscribe` before it, with 4401."""
        assert isinstance(context, SubscriptionContext)
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        caller = await self.services.authenticator.authenticate(header.encode() if isinstance(header, str) else None)
        if caller is None:
            raise ConnectionRejectionError
        context.org, context.roles = caller.org, caller.roles
        context.query_limits = self.services.query_limits.for_roles(caller.roles)
        note_request(organization=caller.org.code)
        return UNSET  # a connection_ack without payload

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # orjson's error is a json.JSONDecodeError, which Strawberry answers with a 400; it also
        # covers bodies that are not UTF-8 (the stdlib decoder raised UnicodeDecodeError: a 500).
        document = orjson.loads(data)
        if not isinstance(document, dict | list):  # a list is a batch, which Strawberry refuses itself
            raise HTTPException(400, "The request body must be a JSON object.")
        return document

    async def parse_multipart(self, request: Any) -> dict[str, str]:
        """A multipart upload (GraphQL multipart request spec), refused with a 400 when malformed:
        `operations` not an object, `map` not an object of lists of paths, a path into nothing.

        A browser sends a multipart form to any site without asking (with the Basic credentials
        it cached for GraphiQL), so an upload must carry a header only a script can set, which
        makes the browser ask first (CORS preflight): a cross-site form cannot run a mutation."""
        if not any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
            raise HTTPException(
                400, f"A multipart request needs the {PREFLIGHT_HEADERS[0]} header (any value), against CSRF."
            )
        try:
            operations = await super().parse_multipart(request)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as error:
            raise HTTPException(400, "Malformed multipart request: the map does not fit the operations.") from error
        if not isinstance(operations, dict | list):
            raise HTTPException(400, "Malformed multipart request: operations must be a JSON object.")
        return operations

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request's operation, refused before any parsing or conversion when its text is
        longer than the limit (the parse cache holds documents: the limit bounds its memory) or
        its variables hold a list longer than any input takes (converting 65,000 line items to
        refuse them cost seconds of the event loop)."""
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and data.operation_name:
            note_request(operation=data.operation_name)
        limits = self.services.settings
        for item in data if isinstance(data, list) else [data]:
            if item.query is not None and len(item.query) > limits.query_length_max:
                raise HTTPException(400, f"The query is longer than {limits.query_length_max:,} characters.")
            too_long = _list_longer_than(item.variables, limits.input_list_length_max, "variables")
            if too_long is not None:
                raise HTTPException(400, f"{too_long}: at most {limits.input_list_length_max:,} items.")
        return data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry answers a request it cannot parse in plain text; clients read JSON errors."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            response = json_error(error.status_code, "BAD_REQUEST", error.reason)
            scope[SCOPE_OUTCOME_KEY] = (None, BAD_REQUEST, ())
        except OperationRefusedError as error:
            response = json_error(200, error.code, error.message)  # as GraphQL answers a refused document
            scope[SCOPE_OUTCOME_KEY] = (None, error.code, (error.code,))
        outcome = scope.pop(SCOPE_OUTCOME_KEY, None)
        if outcome is not None:  # None: no operation (GraphiQL's page)
            self.services.metrics.record_request(*outcome, seconds=time.perf_counter() - started)
        await response(scope, receive, send)


def _list_longer_than(value: Any, length_max: int, path: str) -> str | None:
    """The path of the first list in `value` (JSON) longer than `length_max`, if any (a path is
    written only for the lists and objects walked into: every request's variables pass here)."""
    if isinstance(value, list):
        if len(value) > length_max:
            return path
        items: Any = enumerate(value)
        form = "{}[{}]"
    elif isinstance(value, dict):
        items = value.items()
        form = "{}.{}"
    else:
        return None
    for key, item in items:
        if isinstance(item, list | dict):
            found = _list_longer_than(item, length_max, form.format(path, key))
            if found is not None:
                return found
    return None


class Services:
    """What the app holds for its lifetime; tests build one around their own database."""

    def __init__(self, settings: Settings, database: Database | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.database = database or Database(
            settings.database_url,
            pool_size=settings.pool_size,
            write_retries_max=settings.write_retries_max,
            snapshots_per_share_max=settings.organization_connections_max,
        )
        self.metrics = Metrics(
            self.database,
            operation_names_max=settings.metrics_operation_names_max,
            token=settings.metrics_token,
            clock=self.clock,
        )
        self.org_cache = OrgConfigCache(self.database, settings.cache_ttl_seconds)
        self.authenticator = Authenticator(self.database, self.org_cache, settings.cache_ttl_seconds)
        self.maintenance = MaintenanceTask(
            self.database,
            self.clock,
            interval_seconds=settings.maintenance_interval_seconds,
            idempotency_retention=timedelta(hours=settings.idempotency_retention_hours),
            metrics=self.metrics,
            webhook_retention=timedelta(days=settings.webhook_retention_days),
        )
        self.imports = ImportRunner(self.database, self.clock, metrics=self.metrics)
        self.webhooks = WebhookDeliveryTask(self.database, self.clock, settings, metrics=self.metrics)
        self.outbox_feed = OutboxFeed(self.database, poll_interval_seconds=settings.subscription_poll_interval_seconds)
        self.rate_limiter = RateLimiter(settings.rate_limit_storage)
        self.query_limits = QueryLimitsByRole(settings.query_limits_by_role)
        self.running_queries = RunningQueries(settings.request_time_limit_seconds)
        self.production = settings.environment == "production"
        self.operation_gate = OperationGate.from_settings(settings, schema._schema)


def create_app(
    settings: Settings | None = None, database: Database | None = None, clock: Clock | None = None
) -> Starlette:
    """The app; tests hand it their own database and a clock they set."""
    services = Services(settings or get_settings(), database, clock)
    graphql_app = PointledgerGraphQL(services)
    guarded = ApiGuard(graphql_app, services.authenticator, services.settings.max_body_size_bytes)

    async def health(request: Request) -> JSONResponse:
        """The process lives (a liveness probe): says nothing of the database."""
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        """The database answers and its schema is current (a readiness probe)."""
        async with services.database.read() as connection:
            current = await migrate.current_revision(connection)
        if current != migrate.head_revision():
            return json_error(
                503, "SERVICE_UNAVAILABLE", "The database schema is not current: run `pointledger db upgrade`."
            )
        return JSONResponse({"status": "ready"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services.maintenance.start()
        services.imports.start()
        await services.imports.resume_unfinished()  # imports a crash or restart left unfinished
        services.webhooks.start()
        try:
            yield
        finally:
            await services.webhooks.stop()
            await services.imports.stop()
            await services.maintenance.stop()
        if database is None:
            await services.database.dispose()

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", services.metrics.endpoint),
            Route("/graphql", guarded, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),  # subscriptions: authenticated by connection_init
            Route("/imports/points", import_routes.post_points, methods=["POST"]),
            Route("/imports/promotion", import_profile_routes.post_promotion, methods=["POST"]),
            Route("/imports/tracker", import_profile_routes.post_tracker, methods=["POST"]),
            Route("/imports/leads", import_profile_routes.post_leads, methods=["POST"]),
            Route("/imports/segments", import_profile_routes.post_segment_members, methods=["POST"]),
            Route("/imports/{job_id:int}", import_routes.get_job, methods=["GET"]),
            Route("/imports/{job_id:int}/rejects.csv", import_routes.get_rejects, methods=["GET"]),
            Route("/imports/{job_id:int}/corrections.csv", import_profile_routes.get_corrections, methods=["GET"]),
            *download_routes(),
            Route("/imports/interactions", import_profile_routes.post_interactions, methods=["POST"]),
            Route("/imports/behavioural-events", import_profile_routes.post_behavioural_events, methods=["POST"]),
            Route("/imports/points-debits", import_profile_routes.post_points_debits, methods=["POST"]),
            Route("/imports/opening-balances", import_profile_routes.post_opening_balances, methods=["POST"]),
            Route("/v1/loyalty_programs/{program_id}/import_points", talon_one.post_import_points, methods=["POST"]),
            *console_routes(),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(AccessLog, access_lines=services.settings.access_log),
            Middleware(ApiResponsesNotStored),
        ],
        exception_handlers={
            AmbiguousCredentialsError: _ambiguous_credentials,
            **dict.fromkeys(UNAVAILABLE_ERRORS, _unavailable),
        },
    )
    app.state.services = services
    for route in app.routes:  # a route under /imports or /downloads that declares no roles stops the app here
        if isinstance(route, Route) and route.path.startswith(("/imports", "/downloads", "/v1")):
            for method in (route.methods or set()) - {"HEAD"}:
                roles_for(f"{method} {route.path}")
    return app


async def _unavailable(request: Request, error: Exception) -> Response:
    logger.warning("the database is unavailable: %s", error)
    return json_error(
        503, "SERVICE_UNAVAILABLE", "The database is unavailable; try again shortly.", headers={"Retry-After": "5"}
    )


async def _ambiguous_credentials(request: Request, error: Exception) -> Response:
    return json_error(400, "BAD_REQUEST", AMBIGUOUS_CREDENTIALS)


def app_factory() -> Any:
    """For `uvicorn --factory app.http.app:app_factory`: the server's logging, then its app."""
    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_format == "json")
    application = create_app(settings)
    # What start-up built (modules, the schema, its plans: ~225,000 objects) lives as long as the
    # process: out of the collector's sight, a full collection no longer walks it. Measured under
    # scripts/bench's bills: the collector's CPU a bill fell from 0.35-0.55 ms to 0.17-0.23.
    gc.collect()
    gc.freeze()
    gc.set_threshold(settings.garbage_young_allocations, *gc.get_threshold()[1:])
    return application
