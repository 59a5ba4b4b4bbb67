"""A webhook receiver for the tests: a Starlette app served by uvicorn on a loopback port in its
own thread, recording every request and answering as the test scripts it (a status, or a hang
longer than the sender's timeout)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest import mock

import orjson
import uvicorn
from standardwebhooks import Webhook, webhooks
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HANG = "hang"  # answer nothing for longer than the sender waits


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def message(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed

    def verify(self, secret: str, at: datetime) -> Any:
        """Webhook.verify as a receiver whose clock reads `at` (the sender's test clock) runs it."""

        class Clock(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return at

        with mock.patch.object(webhooks, "datetime", Clock):
            return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # Answers in order, one a request; past the end, `default`.
    script: list[int | str] = field(default_factory=list)
    default: int | str = 200
    # Answers for one event's requests (by webhook-id), before `script`: concurrent requests arrive
    # in any order, so a test that refuses one event names it.
    script_by_webhook_id: dict[str, list[int | str]] = field(default_factory=dict)
    hang_seconds: float = 30.0
    answer_delay_seconds: float = 0.0

    def endpoint(self, path: str = "/hooks") -> str:
        return self.url + path

    def webhook_ids(self) -> list[str]:
        return [request.webhook_id for request in self.received]

    def types(self) -> list[str]:
        return [request.message["type"] for request in self.received]

    def wait_for(self, count: int, timeout_seconds: float = 60) -> None:
        deadline = time.monotonic() + timeout_seconds
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} requests arrived"
            time.sleep(0.05)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver = Receiver(url=f"http://127.0.0.1:{sock.getsockname()[1]}")

    async def hook(request: Request) -> Response:
        receiver.received.append(Received(request.url.path, dict(request.headers), await request.body()))
        own = receiver.script_by_webhook_id.get(request.headers.get("webhook-id", ""))
        general = receiver.script
        answer = own.pop(0) if own else (general.pop(0) if general else receiver.default)
        if answer == HANG:
            await asyncio.sleep(receiver.hang_seconds)
            return Response(status_code=200)
        if receiver.answer_delay_seconds:
            await asyncio.sleep(receiver.answer_delay_seconds)
        assert isinstance(answer, int)
        return Response(status_code=answer)

    app = Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        server.force_exit = True
        thread.join(timeout=10)
        sock.close()
