"""HTTP Basic authentication with an org's API key, as a small ASGI middleware.

Every request to the API must carry `Authorization: Basic base64(key_id:secret)`. Missing,
malformed, unknown, revoked or wrong credentials all get the same 401 with WWW-Authenticate.
The request then carries the key's org and roles (`org_of`, `roles_of`).
Stored keys and org snapshots are cached and refreshed every `cache_ttl_seconds` (in the
background, see app/kernel/cache.py), so a revoked key stops working within about that time and the hot
path does no database round trip.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.logs import note_request
from app.kernel.cache import RefreshingCache
from app.organizations.config import OrgConfig, OrgConfigCache
from app.organizations.roles import Role
from app.organizations.service import StoredKey, find_api_key, secret_matches
from app.storage.database import Database

SCOPE_ORG_KEY = "pointledger.org"
SCOPE_ROLES_KEY = "pointledger.roles"
UNAUTHORIZED_BODY = orjson.dumps(
    {
        "errors": [
            {
                "message": "Authentication required: HTTP Basic with an API key id and secret.",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }
)
TOO_LARGE_BODY = orjson.dumps(
    {"errors": [{"message": "Request body too large.", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}
)


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """The error body of every HTTP-level refusal, shaped like GraphQL's errors."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class AmbiguousCredentialsError(Exception):
    """More than one Authorization header: which one counts is not ours to guess."""


AMBIGUOUS_CREDENTIALS = "Send one Authorization header, not several."


def authorization_header(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    found = [value for name, value in headers if name == b"authorization"]
    if len(found) > 1:
        raise AmbiguousCredentialsError
    return found[0] if found else None


def parse_basic(header: bytes | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.partition(b" ")
    if scheme.lower() != b"basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key_id, separator, secret = decoded.partition(":")
    if not separator or not key_id or not secret:
        return None
    return key_id, secret


@dataclass(frozen=True)
class Caller:
    org: OrgConfig
    roles: frozenset[Role]


class Authenticator:
    def __init__(self, database: Database, org_cache: OrgConfigCache, ttl_seconds: float) -> None:
        self.database = database
        self.org_cache = org_cache
        self._keys: RefreshingCache[str, StoredKey | None] = RefreshingCache(self._load_key, ttl_seconds)

    async def _load_key(self, key_id: str) -> StoredKey | None:
        async with self.database.read() as connection:
            return await find_api_key(connection, key_id)

    async def authenticate(self, header: bytes | None) -> Caller | None:
        credentials = parse_basic(header)
        if credentials is None:
            return None
        key_id, secret = credentials
        if len(key_id) > 64 or len(secret) > 256:
            return None
        stored = await self._keys.get(key_id)
        if stored is None or not stored.is_active or not secret_matches(stored, secret):
            return None
        return Caller(org=await self.org_cache.get(stored.org_id), roles=stored.roles)

    def forget(self) -> None:
        self._keys.forget()


class ApiGuard:
    """Authenticates, limits the body size, and hands the org to the app through the scope.

    Every request to /graphql, multipart uploads included, is held to `max_body_size_bytes`:
    a declared length over it is refused before the body is read, and a body without a length
    is counted while the app reads it (never buffered here) and refused once over it. Large
    import files go to the streaming routes (POST /imports/..., their own size limit) or the CLI.
    """

    def __init__(self, app: ASGIApp, authenticator: Authenticator, max_body_size_bytes: int) -> None:
        self.app = app
        self.authenticator = authenticator
        self.max_body_size_bytes = max_body_size_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            caller = await self.authenticator.authenticate(authorization_header(scope["headers"]))
        except AmbiguousCredentialsError:
            await json_error(400, "BAD_REQUEST", AMBIGUOUS_CREDENTIALS)(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if caller is None:
            await _respond(
                send, 401, UNAUTHORIZED_BODY, [(b"www-authenticate", b'Basic realm="pointledger", charset="UTF-8"')]
            )
            return
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_size_bytes):
            await _respond(send, 413, TOO_LARGE_BODY)
            return
        scope[SCOPE_ORG_KEY] = caller.org
        scope[SCOPE_ROLES_KEY] = caller.roles
        note_request(organization=caller.org.code)
        if declared is not None:
            await self.app(scope, receive, send)
            return
        responded = False

        async def tracked_send(message: Message) -> None:
            nonlocal responded
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counted(receive, self.max_body_size_bytes), tracked_send)
        except BodyTooLargeError:
            if not responded:
                await _respond(send, 413, TOO_LARGE_BODY)


class BodyTooLargeError(Exception):
    """Raised from `receive` when a body without a declared length passes the limit."""


def _counted(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise BodyTooLargeError
        return message

    return counted


async def _respond(
    send: Send, status: int, body: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": body})


def org_of(scope: Any) -> OrgConfig:
    return scope[SCOPE_ORG_KEY]


def roles_of(scope: Any) -> frozenset[Role]:
    return scope[SCOPE_ROLES_KEY]
