"""Logs an operator can search: one JSON object a line, each with the request it belongs to.

`configure_logging` sets the process up at start (uvicorn's loggers included). `AccessLog` wraps
the app: every HTTP request gets a request id (the client's `X-Request-Id` when it is a sane
token, else a new one, echoed in the response), and every line logged while it runs carries that
id, the caller's organisation and the GraphQL operation; the request ends with one access line
(method, path, status, duration). Secrets never reach a log: no header or body is logged. A
client that goes away mid-request is one warning line, not a traceback.
"""

from __future__ import annotations

import itertools
import logging
import re
import sys
import time
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("pointledger.access")

# What the request being served has said about itself; read by every log line it causes.
request_fields: ContextVar[dict[str, Any] | None] = ContextVar("request_fields", default=None)
REQUEST_ID_HEADER = b"x-request-id"
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
# A request id this process makes: unique across processes (a random prefix per process) and
# cheap (a counter, where a uuid4 per request read the system's random source).
_PROCESS_PREFIX = uuid.uuid4().hex[:12]
_request_numbers = itertools.count(1)
RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({})))  # what every record has: the rest is `extra`


def note_request(**fields: Any) -> None:
    """Add to what this request's log lines say (the organisation once authenticated, the operation)."""
    current = request_fields.get()
    if current is not None:
        current.update(fields)


class RequestFields(logging.Filter):
    """Stamps each record with its request's fields, in the context where it was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (request_fields.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def json_line(created: float, level: str, logger_name: str, message: str, fields: dict[str, Any]) -> str:
    """One log line: when, how grave, whose, what, then the line's own fields."""
    document: dict[str, Any] = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger_name,
        "message": message,
    }
    document.update(fields)
    return orjson.dumps(document, default=str).decode()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {
            name: value for name, value in vars(record).items() if name not in RECORD_ATTRIBUTES and name != "message"
        }
        if record.exc_info:
            fields["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json_line(record.created, record.levelname, record.name, record.getMessage(), fields)


class JsonLines(logging.StreamHandler):
    """The handler `configure_logging` installs: JSON lines stamped with their request's fields."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestFields())

    def write_line(self, line: str) -> None:
        """A line made without a LogRecord (the access line: see `_access_line`)."""
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line + self.terminator)
            self.flush()


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    """One handler on the root logger, to stderr; uvicorn's loggers pass their lines to it."""
    # Not read by the JSON lines, and each costs a call per record (the logging cookbook's advice).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = JsonLines()
    if not json_lines:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # AccessLog writes the access lines


class AccessLog:
    """The request id, the request's log fields, and its access line (see the module doc)."""

    def __init__(self, app: ASGIApp, *, access_lines: bool = True) -> None:
        self.app = app
        self.access_lines = access_lines  # off: ids and fields still stamp every other line

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == REQUEST_ID_HEADER), b"")
        request_id = (
            given.decode() if SANE_REQUEST_ID.fullmatch(given) else f"{_PROCESS_PREFIX}{next(_request_numbers):x}"
        )
        fields: dict[str, Any] = {"request_id": request_id}
        token = request_fields.set(fields)
        status = 500  # unless the app answers
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status = 499  # the client went away before it finished sending its request
            logger.warning("the client disconnected before sending its whole request")
        finally:
            if self.access_lines and logger.isEnabledFor(logging.INFO):
                _access_line(scope, status, time.perf_counter() - started)
            request_fields.reset(token)


def _access_line(scope: Scope, status: int, seconds: float) -> None:
    """The access line. Logged as configured at start (JSON lines to stderr and nothing else), it
    is written straight to that handler: the same line, without the LogRecord, the filter and the
    formatter that would make it (together a twentieth of `{ __typename }`). Otherwise it is a
    record like any other, made as `logger.info` would but without looking up the caller's source
    line (which no line shows)."""
    fields: dict[str, Any] = {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
    }
    root = logging.root
    handler = root.handlers[0] if len(root.handlers) == 1 else None
    if isinstance(handler, JsonLines) and isinstance(handler.formatter, JsonFormatter) and not logger.handlers:
        for name, value in (request_fields.get() or {}).items():
            fields.setdefault(name, value)  # as RequestFields stamps a record
        handler.write_line(json_line(time.time(), "INFO", logger.name, "request", fields))
        return
    logger.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, "request", (), None, extra=fields))
