"""uvicorn's h11 protocol with read deadlines and a connection cap (`pointledger serve` uses it).

uvicorn closes an idle kept-alive connection, but once a client has sent one byte it waits for
the rest of the request as long as the client likes: a client trickling its headers or body a
byte at a time holds a connection (and its buffers) forever. An ASGI guard cannot help with
headers (the app is called only once they are complete), so the deadlines live here:
- headers: complete within `header_timeout_seconds` of the connection opening or of the
  previous response;
- body: within `body_timeout_seconds`, plus one second per `body_rate_min_bytes` received (a
  minimum average rate, as Apache's mod_reqtimeout has), so a large upload at a fair speed goes
  on and a trickle is cut;
- a connection past `connections_max` is closed as soon as it is accepted.
A connection past a deadline is closed without an answer (nothing useful can be said to it).

One timer per connection; it is armed when the request's phase changes, and when it fires
inside the body phase it moves itself to the deadline the bytes received since have earned.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.kernel.settings import get_settings

logger = logging.getLogger(__name__)


class DeadlineH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.header_timeout_seconds = settings.header_timeout_seconds
        self.body_timeout_seconds = settings.body_timeout_seconds
        self.body_rate_min_bytes = settings.body_rate_min_bytes
        self.connections_max = settings.connections_max
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._phase_started_at = 0.0  # loop time: when the headers, or the body, began to be owed
        self._body_bytes = 0
        self._watched_cycle: object = None  # the request whose body is being timed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.connections_max:
            logger.warning("connection refused: %d connections open (connections_max)", len(self.connections) - 1)
            transport.abort()
            return
        self._owe_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.SEND_BODY:
            if self.cycle is not self._watched_cycle:  # this request's headers just completed
                # (these bytes are mostly headers: they earn the body no time)
                self._watched_cycle = self.cycle
                self._phase_started_at, self._body_bytes = self.loop.time(), 0
                self._arm(self._body_deadline())
            else:
                self._body_bytes += len(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._owe_headers()  # the next request on this kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._arm(None)
        super().connection_lost(exc)

    def _owe_headers(self) -> None:
        self._phase_started_at = self.loop.time()
        self._arm(self._phase_started_at + self.header_timeout_seconds)

    def _body_deadline(self) -> float:
        earned = self._body_bytes / self.body_rate_min_bytes
        return self._phase_started_at + self.body_timeout_seconds + earned

    def _arm(self, deadline: float | None) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline_timer = None if deadline is None else self.loop.call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._deadline_timer = None
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:  # headers (or their first byte) still owed
            what = f"request headers not complete after {self.header_timeout_seconds:g} s"
        elif state is h11.SEND_BODY:
            deadline = self._body_deadline()
            if deadline > self.loop.time():  # bytes arrived meanwhile and earned more time
                self._arm(deadline)
                return
            what = f"request body slower than {self.body_rate_min_bytes} bytes a second"
        else:
            return  # the request is read: the app has it, and uvicorn times the idle connection after
        logger.warning("connection closed: %s", what)
        self.transport.close()
