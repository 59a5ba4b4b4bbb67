"""`Cache-Control: no-store` on every answer of the API: they carry customer data, which no
browser cache or shared proxy should keep (the console and a brand's own frontends read them)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PATH_PREFIXES = ("/graphql", "/downloads", "/imports", "/v1")  # /v1: the Talon.One-compatible import
NO_STORE = (b"cache-control", b"no-store")


class ApiResponsesNotStored:
    """`Cache-Control: no-store` on every answer of the API (GraphQL, downloads, imports): they
    carry customer data, which no browser cache or shared proxy should keep."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PATH_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_not_stored(message: Message) -> None:
            if message["type"] == "http.response.start":  # the API sets no Cache-Control of its own
                message = {**message, "headers": [*message.get("headers", ()), NO_STORE]}
            await send(message)

        await self.app(scope, receive, send_not_stored)
