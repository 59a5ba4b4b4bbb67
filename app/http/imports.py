"""Plain HTTP entry points of imports, beside GraphQL, with the same API-key authentication:

    POST /imports/points?program=CODE[&template=NAME][&errorPolicy=KEEP_VALID|REJECT_FILE]
         [&dryRun=true][&importKey=KEY][&registerUnknownCustomers=false][&createMissingSubledgers=false]
         body: the CSV file as is (curl --data-binary @points.csv)
      -> 202 {"job": {...}, "existing": false}  (200 with existing: true for a file submitted before)
    GET  /imports/{id}            -> the job as JSON
    GET  /imports/{id}/rejects.csv -> the rejected rows as they were, plus row_number, error_column,
                                     error_code, error_message

The body is streamed to the import directory, never held in memory; over the size limit it is
refused with 413 FILE_TOO_LARGE. Errors are JSON: {"error": {"code", "message", "field"}}; a key
without the route's role (app/organizations/roles.py: admin) gets 403 FORBIDDEN.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.graphql.core.rate_limits import RequestRateLimits
from app.http.auth import UNAUTHORIZED_BODY, authorization_header
from app.http.logs import note_request
from app.imports import service
from app.imports.errors import FileTooLargeError
from app.imports.models import ErrorPolicy, ImportProfile
from app.kernel.decimals import ID_MAX, read_whole_number
from app.kernel.errors import DomainError, ForbiddenError, NotFoundError, RateLimitedError, ValidationError
from app.organizations.roles import RoleRequiredError, roles_for

DECLARED_BYTES_MAX = 10**18  # a Content-Length past this is refused as too large all the same
TRUE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _json(status: int, body: Any) -> Response:
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, (ImportProfile, ErrorPolicy)):
            return value.value
        raise TypeError

    return Response(orjson.dumps(body, default=default), status_code=status, media_type="application/json")


def error_status(error: DomainError) -> int:
    return (
        429
        if isinstance(error, RateLimitedError)
        else 403
        if isinstance(error, ForbiddenError)
        else 413
        if isinstance(error, FileTooLargeError)
        else 404
        if isinstance(error, NotFoundError)
        else 422
        if isinstance(error, ValidationError)
        else 409
    )


def error_response(error: DomainError) -> Response:
    status = error_status(error)
    return _json(status, {"error": {"code": error.code, "message": error.message, "field": error.field}})


def job_document(job: service.JobView) -> dict[str, Any]:
    document = dataclasses.asdict(job)
    document.pop("file_path")
    document.pop("org_id")
    for name, value in document.items():
        if isinstance(value, datetime):
            document[name] = value.isoformat()
        elif hasattr(value, "value"):
            document[name] = value.value
    document["rejects_csv_path"] = f"/imports/{job.id}/rejects.csv"
    return document


def unauthorized_response() -> Response:
    return Response(
        UNAUTHORIZED_BODY,
        status_code=401,
        media_type="application/json",
        headers={"www-authenticate": 'Basic realm="pointledger", charset="UTF-8"'},
    )


async def request_caller(
    request: Request,
    header: bytes | None = None,
    *,
    unauthorized: Callable[[], Response] = unauthorized_response,
    refuse: Callable[[DomainError], Response] = error_response,
) -> Any:
    """The key's caller, or the response refusing it: 401 without valid credentials, 403 when
    the key holds none of the route's roles (app/organizations/roles.py). AmbiguousCredentialsError
    with several Authorization headers. `header` stands for the Authorization header when a route
    reads credentials another way (app/http/talon_one.py); `unauthorized` and `refuse` shape the
    refusals for routes that answer in another API's format."""
    services = request.app.state.services
    caller = await services.authenticator.authenticate(
        header if header is not None else authorization_header(request.scope["headers"])
    )
    if caller is None:
        return unauthorized()
    note_request(organization=caller.org.code)
    method = "GET" if request.method == "HEAD" else request.method  # Starlette answers HEAD with GET
    roles = roles_for(f"{method} {request.scope['route'].path}")
    if roles.isdisjoint(caller.roles):
        return refuse(RoleRequiredError(f"{request.method} {request.url.path}", roles))
    account = RequestRateLimits(
        services.rate_limiter, caller.org, caller.roles, services.metrics.count_rate_limit_refusals
    )
    try:
        await account.count(f"{request.method} {request.url.path}", roles)
    except RateLimitedError as error:
        refused = refuse(error)
        refused.headers.update(account.response_headers())
        return refused
    return caller


def query_flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() not in TRUE_WORDS:
        raise ValidationError("must be true or false", field=name)
    return TRUE_WORDS[raw.lower()]


def _points_configuration(request: Request) -> dict[str, Any]:
    return {
        "program_code": request.query_params.get("program", ""),
        "register_unknown_customers": query_flag(request, "registerUnknownCustomers", True),
        "create_missing_subledgers": query_flag(request, "createMissingSubledgers", True),
    }


def check_declared_size(request: Request, limit_bytes: int | None = None) -> None:
    """FILE_TOO_LARGE for a Content-Length over the import size limit (or `limit_bytes`: a body
    that wraps the file), before a byte is read."""
    file_limit_bytes = request.app.state.services.settings.import_size_limit_bytes
    limit_bytes = file_limit_bytes if limit_bytes is None else limit_bytes
    declared = read_whole_number(request.headers.get("content-length") or "", DECLARED_BYTES_MAX, minimum=0)
    if declared is not None and declared > limit_bytes:
        raise FileTooLargeError(file_limit_bytes)


async def spool_and_submit(
    request: Request,
    caller: Any,
    import_request: service.ImportRequest,
    chunks: AsyncIterator[bytes],
    file_name: Callable[[], str | None],
) -> service.Submitted:
    """Stream the file's bytes to the import directory, submit its job (or find the one that has
    the file already) and queue it for the runner. `file_name` is asked once the file is read
    (a multipart part names it in its headers)."""
    services = request.app.state.services
    settings = services.settings
    stored = await service.spool(
        chunks, Path(settings.import_directory) / "uploads", settings.import_size_limit_bytes, None
    )
    stored = dataclasses.replace(stored, name=file_name())
    submitted = await service.submit(services.database, caller.org, import_request, stored, now=services.clock.now())
    if not submitted.existing:
        services.imports.submit(submitted.job.id)
    return submitted


async def post_import(
    request: Request, profile: ImportProfile, configuration: Callable[[Request], dict[str, Any]]
) -> Response:
    """Every profile's POST: the profile's own query parameters are read by `configuration`
    (not at all when a template is named)."""
    caller = await request_caller(request)
    if isinstance(caller, Response):
        return caller
    try:
        check_declared_size(request)
        policy_text = request.query_params.get("errorPolicy", ErrorPolicy.KEEP_VALID.value)
        if policy_text not in ErrorPolicy.__members__:
            raise ValidationError(f"must be one of {', '.join(ErrorPolicy.__members__)}", field="errorPolicy")
        template = request.query_params.get("template")
        import_request = service.ImportRequest(
            profile=profile,
            template_name=template,
            configuration=None if template is not None else configuration(request),
            error_policy=ErrorPolicy(policy_text),
            dry_run=query_flag(request, "dryRun", False),
            import_key=request.query_params.get("importKey"),
        )
        submitted = await spool_and_submit(
            request, caller, import_request, request.stream(), lambda: request.query_params.get("fileName")
        )
    except DomainError as error:
        return error_response(error)
    return _json(
        200 if submitted.existing else 202, {"existing": submitted.existing, "job": job_document(submitted.job)}
    )


async def post_points(request: Request) -> Response:
    return await post_import(request, ImportProfile.TALON_ONE_POINTS, _points_configuration)


async def requested_job(request: Request) -> tuple[Any, service.JobView | None, Response | None]:
    caller = await request_caller(request)
    if isinstance(caller, Response):
        return None, None, caller
    job_id = request.path_params["job_id"]
    job = None
    if job_id <= ID_MAX:  # a larger number names no job (and would overflow the database's integer)
        async with request.app.state.services.database.read() as connection:
            job = await service.get_job(connection, caller.org.id, job_id)
    if job is None:
        return (
            caller,
            None,
            _json(404, {"error": {"code": "IMPORT_JOB_NOT_FOUND", "message": "no such import job", "field": "id"}}),
        )
    return caller, job, None


async def get_job(request: Request) -> Response:
    _, job, refused = await requested_job(request)
    if refused is not None:
        return refused
    assert job is not None
    return _json(200, {"job": job_document(job)})


async def get_rejects(request: Request) -> Response:
    _, job, refused = await requested_job(request)
    if refused is not None:
        return refused
    assert job is not None
    return StreamingResponse(
        service.rejects_csv(request.app.state.services.database, job),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="import-{job.id}-rejects.csv"'},
    )
