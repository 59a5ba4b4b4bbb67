"""uvicorn's HTTP protocols (httptools and h11) with read deadlines, a header size limit and a
connection cap (`pointledger serve` uses one of them, `http_implementation`).

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
h11 limits the header size itself (`h11_max_incomplete_event_size`); httptools has no limit, so
its protocol counts the bytes received while the headers are incomplete.

`ReadDeadlines` holds all of that but the header size; each protocol tells it the request's
phase (headers owed, body owed, request read) from its parser. One timer per connection: a
phase change arms it only when the new deadline is earlier than the pending one, and when it
fires it moves itself to the deadline of the current phase (the body's grows with the bytes
received), so a fast request costs no timer operation.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.kernel.settings import get_settings

logger = logging.getLogger(__name__)


class Phase(enum.Enum):
    HEADERS = "headers owed"
    BODY = "body owed"
    READ = "request read"  # the app has it; uvicorn times the idle connection after the response
    UPGRADED = "websocket"  # the websocket protocol took the connection: nothing is owed here again


class ReadDeadlines(asyncio.Protocol):
    """Put first among the bases of a uvicorn protocol, which provides what is declared here."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    connections: Any
    cycle: Any  # the request being read or answered last (its response_complete)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.header_timeout_seconds = settings.header_timeout_seconds
        self.body_timeout_seconds = settings.body_timeout_seconds
        self.body_rate_min_bytes = settings.body_rate_min_bytes
        self.connections_max = settings.connections_max
        self.phase = Phase.HEADERS
        self._phase_started_at = 0.0  # loop time: when the headers, or the body, began to be owed
        self._body_bytes = 0
        self._deadline_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.connections_max:
            logger.warning("connection refused: %d connections open (connections_max)", len(self.connections) - 1)
            transport.abort()
            return
        self._owe_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        # A request read ahead (pipelined) and still unanswered keeps its phase.
        if self.phase is Phase.READ and self.cycle.response_complete and not self.transport.is_closing():
            self._owe_headers()  # the next request on this kept-alive connection

    def handle_websocket_upgrade(self, *args: Any) -> None:
        self.phase = Phase.UPGRADED
        super().handle_websocket_upgrade(*args)  # type: ignore[misc]

    # --- the phases, as each protocol's parser sees them ---

    def _owe_headers(self) -> None:
        self.phase, self._phase_started_at = Phase.HEADERS, self.loop.time()
        self._arm_by(self._phase_started_at + self.header_timeout_seconds)

    def _owe_body(self) -> None:
        self.phase, self._phase_started_at, self._body_bytes = Phase.BODY, self.loop.time(), 0
        self._arm_by(self._body_deadline())

    def _body_received(self, size: int) -> None:
        self._body_bytes += size  # more time earned: the timer moves itself when it fires

    def _request_read(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            # Answered before its body was read (an error, a 503), or no request for the app (an
            # upgrade uvicorn refused): the next request is owed.
            self._owe_headers()
        else:
            self.phase = Phase.READ  # a pending timer finds nothing owed and lapses

    # --- the timer ---

    def _body_deadline(self) -> float:
        earned = self._body_bytes / self.body_rate_min_bytes
        return self._phase_started_at + self.body_timeout_seconds + earned

    def _deadline(self) -> float | None:
        if self.phase is Phase.HEADERS:
            return self._phase_started_at + self.header_timeout_seconds
        return self._body_deadline() if self.phase is Phase.BODY else None

    def _arm_by(self, deadline: float) -> None:
        """Have the timer fire at `deadline` or before (before: it moves itself then)."""
        if self._deadline_timer is not None:
            if self._deadline_timer.when() <= deadline:
                return
            self._deadline_timer.cancel()
        self._deadline_timer = self.loop.call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._deadline_timer = None
        deadline = self._deadline()
        if deadline is None or self.transport.is_closing():
            return
        if deadline > self.loop.time():  # armed for an earlier phase, or the body earned more time
            self._deadline_timer = self.loop.call_at(deadline, self._on_deadline)
            return
        if self.phase is Phase.HEADERS:
            what = f"request headers not complete after {self.header_timeout_seconds:g} s"
        else:
            what = f"request body slower than {self.body_rate_min_bytes} bytes a second"
        logger.warning("connection closed: %s", what)
        self.transport.close()


class DeadlineHttpToolsProtocol(ReadDeadlines, HttpToolsProtocol):
    """httptools, the faster parser: its callbacks mark the phases."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_size_max_bytes = get_settings().header_size_max_bytes
        self._header_bytes = 0  # received while this request's headers were incomplete

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing: a read carrying small headers and the start of a large body
        # completes the headers, and the body is not counted as headers.
        if self.phase is Phase.HEADERS and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.header_size_max_bytes:
                logger.warning(
                    "request refused: headers over %d bytes (header_size_max_bytes)", self.header_size_max_bytes
                )
                self.send_400_response("Request headers too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.phase is Phase.READ:  # read ahead while the previous request is answered
            self._owe_headers()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._header_bytes = 0
        self._owe_body()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._body_received(len(body))

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._request_read()


class DeadlineH11Protocol(ReadDeadlines, H11Protocol):
    """h11: the phase follows h11's state of the client after each read."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_h11(len(data))

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may read the next request, already buffered
        self._follow_h11(0)

    def _follow_h11(self, received_bytes: int) -> None:
        # Refused (a protocol error, headers too large) or done; or upgraded, where h11 still holds
        # the upgrade request's end unread and so sees its body owed.
        if self.transport.is_closing() or self.phase is Phase.UPGRADED:
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if self.phase is Phase.BODY:
                self._body_received(received_bytes)
            else:  # the headers just completed (these bytes are mostly headers: they earn nothing)
                self._owe_body()
        elif state is not h11.IDLE and self.phase is not Phase.READ:  # DONE, or the connection ends
            self._request_read()
