"""The member-care console: static files at /console (plain HTML, CSS and ES modules, no build
step) that call the public GraphQL API and downloads with the key signed in, as a brand's own
frontend would. The page holds no data of its own, so its files need no key.

Security headers: a Content-Security-Policy that allows only this origin's scripts and styles
(no inline script or style, no other origin), no framing, no referrer. The API's own answers
are never stored (app/http/no_store.py)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

STATIC_DIRECTORY = Path(__file__).parent / "static"
DOCUMENTS_DIRECTORY = STATIC_DIRECTORY / "documents"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",  # /graphql, /downloads and the documents
        "img-src 'self'",
        "form-action 'none'",  # forms are read by the scripts, never submitted by the browser
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
CONSOLE_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    # Revalidated on each load (ETag): a new server version's files are used at once.
    (b"cache-control", b"no-cache"),
]


def _with_headers(message: Message, extra: list[tuple[bytes, bytes]]) -> Message:
    names = {name for name, _ in extra}
    headers = [(name, value) for name, value in message.get("headers", []) if name.lower() not in names]
    return {**message, "headers": [*headers, *extra]}


class ConsoleFiles:
    """The console's static files, each with the console's security headers."""

    def __init__(self) -> None:
        self.files = StaticFiles(directory=STATIC_DIRECTORY, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_headers(message, CONSOLE_HEADERS)
            await send(message)

        await self.files(scope, receive, send_with_headers)


async def _to_console(request: Request) -> Response:
    return RedirectResponse("/console/", status_code=308)


def routes() -> list[BaseRoute]:
    return [Route("/console", _to_console, methods=["GET", "HEAD"]), Mount("/console", app=ConsoleFiles())]
