"""Talon.One's "Import loyalty points" endpoint, so that an integration written for Talon.One
works by changing its base URL (seed 002):

    POST /v1/loyalty_programs/{programId}/import_points
         Authorization: ManagementKey-v1 KEY_ID:SECRET   (or our usual Basic KEY_ID:SECRET)
         Content-Type: multipart/form-data; the CSV file in the part named upFile
      -> 200 {"id", "created", "accountId", "userId", "entity", "amount"}   (Talon.One's Import)
         Location: /imports/{id}   (the job, as GET /imports/{id} reports it)

What is mapped, and how:
- Talon.One's management keys are one opaque token after `ManagementKey-v1`; ours are a key id
  and a secret. The token here is the two joined by a colon, as in HTTP Basic before encoding.
  The key needs the admin role, as every import does (app/organizations/roles.py).
- programId names one of the organisation's programs: by its code, or else by its numeric id
  (Talon.One's program ids are numbers). An unknown one is 404 PROGRAM_NOT_FOUND.
- The file is the TALON_ONE_POINTS profile's (app/imports/points.py) and runs as its job, with
  the profile's defaults: unknown profiles are registered, missing subledgers created, valid rows
  kept (KEEP_VALID). The rejects are at /imports/{id}/rejects.csv.
- The answer comes once the file is stored and its job queued, not once every row is in: a
  500 MB file takes minutes. `id` is the job's, `created` its creation time, `accountId` the
  organisation's id, `userId` 0 (an API key, not a user, imported), `entity` "LoyaltyPoints",
  and `amount` the rows imported so far (0 for a new job). The same file sent again is not
  imported twice: the answer is the first job's, with its count.
- Refusals have Talon.One's error shape {"message", "errors": [{"title", "details", "source":
  {"parameter"}}], "StatusCode"}: 400 for bad input (no upFile part, not multipart), 401, 403,
  404, 409, 413 (over the import size limit), 429.

The multipart body is parsed as it arrives (python-multipart's streaming parser): the upFile
part's bytes go straight to the import directory, other parts are skipped, and memory holds one
chunk of the request whatever the file's size.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import orjson
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import Response

from app.http.auth import authorization_header
from app.http.imports import check_declared_size, error_status, request_caller, spool_and_submit
from app.imports import service
from app.imports.errors import FileTooLargeError
from app.imports.models import ImportProfile
from app.kernel.errors import DomainError, ValidationError
from app.organizations.config import OrgConfig, ProgramConfig
from app.organizations.errors import ProgramNotFoundError

FILE_FIELD = "upFile"
MANAGEMENT_KEY_SCHEME = b"managementkey-v1"
ENTITY = "LoyaltyPoints"
# What a multipart body may carry beside the file: boundaries, part headers, small fields.
MULTIPART_OVERHEAD_BYTES_MAX = 64 * 1024


def talon_error(status: int, code: str, message: str, field: str | None) -> Response:
    body = {
        "message": message,
        "errors": [{"title": code, "details": message, "source": {"parameter": field} if field else {}}],
        "StatusCode": status,
    }
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def refusal(error: DomainError) -> Response:
    """A domain error as Talon.One answers one (bad input is 400 there, not 422)."""
    status = error_status(error)
    if status == 422:
        status = 400
    return talon_error(status, error.code, error.message, error.field)


def unauthorized() -> Response:
    refused = talon_error(
        401, "UNAUTHENTICATED", "Authentication required: ManagementKey-v1 KEY_ID:SECRET, or HTTP Basic.", None
    )
    refused.headers["www-authenticate"] = 'ManagementKey-v1 realm="pointledger"'
    return refused


def basic_header(request: Request) -> bytes | None:
    """The Authorization header as our authenticator reads it: a ManagementKey-v1 token
    (KEY_ID:SECRET) becomes HTTP Basic; any other header is passed on as it is."""
    header = authorization_header(request.scope["headers"])
    if header is None:
        return None
    scheme, _, token = header.partition(b" ")
    if scheme.lower() != MANAGEMENT_KEY_SCHEME:
        return header
    return b"Basic " + base64.b64encode(token.strip())


def program_named(org: OrgConfig, program_id: str) -> ProgramConfig:
    program = org.program_by_code(program_id)
    if program is None and program_id.isdigit():
        program = next((candidate for candidate in org.programs if candidate.id == int(program_id)), None)
    if program is None:
        raise ProgramNotFoundError(f"no loyalty program {program_id[:100]!r} in this organisation", field="programId")
    return program


class FormFile:
    """One file field of a multipart/form-data request, read as the request arrives: `chunks`
    yields its bytes (one request chunk's worth at a time), then `file_name` is what its part
    header named. Missing field, two of them, or a broken body: INVALID_INPUT naming the field."""

    def __init__(self, request: Request, field_name: str, limit_bytes: int) -> None:
        self.request = request
        self.field_name = field_name
        self.limit_bytes = limit_bytes  # of the whole body
        self.file_name: str | None = None
        self._pending: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._in_field = False
        self._parts_found = 0
        self._ended = False

    def _refused(self, message: str) -> ValidationError:
        return ValidationError(message, field=self.field_name)

    def _parser(self) -> MultipartParser:
        content_type, options = parse_options_header(self.request.headers.get("content-type", ""))
        boundary = options.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise self._refused(f"send the file as multipart/form-data, in a part named {self.field_name}")

        def on_part_begin() -> None:
            self._headers.clear()
            self._in_field = False

        def on_header_field(data: bytes, start: int, end: int) -> None:
            self._header_field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self._header_value += data[start:end]

        def on_header_end() -> None:
            self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
            self._header_field.clear()
            self._header_value.clear()

        def on_headers_finished() -> None:
            _, parameters = parse_options_header(self._headers.get(b"content-disposition", b""))
            self._in_field = parameters.get(b"name") == self.field_name.encode()
            if self._in_field:
                self._parts_found += 1
                name = parameters.get(b"filename")
                self.file_name = name.decode("utf-8", "replace") if name else None

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if self._in_field:
                self._pending.append(data[start:end])

        def on_end() -> None:
            self._ended = True

        return MultipartParser(
            boundary,
            {
                "on_part_begin": on_part_begin,
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
                "on_end": on_end,
            },
        )

    async def chunks(self) -> AsyncIterator[bytes]:
        parser = self._parser()
        received_bytes = 0
        async for chunk in self.request.stream():
            received_bytes += len(chunk)
            if received_bytes > self.limit_bytes:
                raise FileTooLargeError(self.limit_bytes - MULTIPART_OVERHEAD_BYTES_MAX, field=self.field_name)
            try:
                parser.write(chunk)
            except MultipartParseError as error:
                raise self._refused(f"the multipart body is malformed ({error})") from error
            if self._parts_found > 1:
                raise self._refused(f"send one {self.field_name} part, not several")
            if self._pending:
                yield b"".join(self._pending)
                self._pending.clear()
        parser.finalize()
        if not self._ended:
            raise self._refused("the multipart body ends before its closing boundary")
        if self._parts_found == 0:
            raise self._refused(f"the request has no {self.field_name} part (the CSV file)")


def import_document(job: service.JobView) -> dict[str, Any]:
    """The job as Talon.One's Import object."""
    return {
        "id": job.id,
        "created": job.created_at.isoformat().replace("+00:00", "Z"),
        "accountId": job.org_id,
        "userId": 0,
        "entity": ENTITY,
        "amount": job.rows_imported,
    }


async def post_import_points(request: Request) -> Response:
    caller = await request_caller(request, basic_header(request), unauthorized=unauthorized, refuse=refusal)
    if isinstance(caller, Response):
        return caller
    limit_bytes = request.app.state.services.settings.import_size_limit_bytes
    try:
        check_declared_size(request, limit_bytes + MULTIPART_OVERHEAD_BYTES_MAX)
        program = program_named(caller.org, request.path_params["program_id"])
        upload = FormFile(request, FILE_FIELD, limit_bytes + MULTIPART_OVERHEAD_BYTES_MAX)
        submitted = await spool_and_submit(
            request,
            caller,
            service.ImportRequest(ImportProfile.TALON_ONE_POINTS, configuration={"program_code": program.code}),
            upload.chunks(),
            lambda: upload.file_name,
        )
    except DomainError as error:
        if isinstance(error, FileTooLargeError):
            error.field = FILE_FIELD  # the file is this form's part, not our routes' body
        return refusal(error)
    return Response(
        orjson.dumps(import_document(submitted.job)),
        status_code=200,
        media_type="application/json",
        headers={"location": f"/imports/{submitted.job.id}"},
    )
