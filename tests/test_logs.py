"""The server's logs: JSON lines that say which request, organisation and operation they belong
to, one access line a request, tracebacks kept server-side, no secrets (issue 12)."""

from __future__ import annotations

import io
import json
import logging
import re
import sys

import httpx
import pytest

from app.http.app import create_app
from app.http.logs import JsonFormatter, RequestFields, configure_logging
from app.kernel.settings import Settings
from tests.documents import ADD_TRANSACTION
from tests.factories import bill


@pytest.fixture
def log_lines(caplog):
    """What the server logged, as its JSON lines would say it."""
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestFields())
    formatter = JsonFormatter()

    def lines() -> list[dict]:
        server = ("pointledger", "app", "strawberry")  # not the test client's own (httpx)
        return [
            json.loads(formatter.format(record)) for record in caplog.records if record.name.split(".")[0] in server
        ]

    yield lines
    caplog.handler.removeFilter(RequestFields)


async def test_a_request_logs_one_access_line_with_its_request_organisation_and_operation(api, log_lines):
    response = await api.client.post(
        "/graphql",
        json={"query": "query Org { organization { code } }", "operationName": "Org"},
        headers={"Authorization": api.credentials.header, "X-Request-Id": "till-42.7"},
    )

    access = [line for line in log_lines() if line["logger"] == "pointledger.access"]
    assert response.headers["x-request-id"] == "till-42.7"
    assert len(access) == 1
    line = access[0]
    assert set(line) == {
        "time", "level", "logger", "message", "request_id", "organization", "operation", "method", "path", "status",
        "duration_ms",
    }  # fmt: skip
    assert (line["level"], line["message"], line["request_id"], line["organization"], line["operation"]) == (
        "INFO", "request", "till-42.7", "acme", "Org",
    )  # fmt: skip
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
    assert api.credentials.secret not in json.dumps(log_lines())


async def test_a_request_id_that_is_not_a_sane_token_is_replaced_by_a_new_one(api, log_lines):
    first = await api.client.get("/health", headers={"X-Request-Id": "a b\\n{injected}"})
    second = await api.client.get("/health")

    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(re.fullmatch(r"[0-9a-f]{13,}", request_id) for request_id in ids), ids
    assert ids[0] != ids[1]
    assert [line["request_id"] for line in log_lines()] == ids


async def test_an_unexpected_error_is_masked_for_the_client_and_logged_with_its_traceback(api, log_lines, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr("app.transactions.service._add", broken)

    response = await api.client.post(
        "/graphql",
        json={"query": ADD_TRANSACTION, "variables": {"input": bill()}},
        headers={"Authorization": api.credentials.header, "X-Request-Id": "bill-1"},
    )
    body = response.json()

    assert [error["message"] for error in body["errors"]] == ["Unexpected error."]
    assert "disk" not in json.dumps(body)
    failures = [line for line in log_lines() if "traceback" in line]
    assert len(failures) == 1
    assert failures[0]["request_id"] == "bill-1"
    assert "RuntimeError: the disk is on fire" in failures[0]["traceback"]


async def test_a_client_that_leaves_mid_body_is_one_warning_line_not_a_traceback(api, log_lines):
    app = api.client._transport.app  # the ASGI app, driven by hand to send half a body and go
    sent = []
    messages = iter(
        [{"type": "http.request", "body": b'{"query": "{ __t', "more_body": True}, {"type": "http.disconnect"}]
    )

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
        "headers": [(b"authorization", api.credentials.header.encode()), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    await app(scope, receive, send)

    lines = log_lines()
    assert [line["message"] for line in lines if line["level"] == "WARNING"] == [
        "the client disconnected before sending its whole request"
    ]
    assert not any("traceback" in line for line in lines)
    assert [line["status"] for line in lines if line["message"] == "request"] == [499]


async def test_without_access_lines_requests_still_carry_their_id(database, clock, log_lines):
    app = create_app(Settings(database_url=database.url, access_log=False), database=database, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.get("/health", headers={"X-Request-Id": "probe-1"})

    assert response.headers["x-request-id"] == "probe-1"
    assert [line for line in log_lines() if line["logger"] == "pointledger.access"] == []


@pytest.fixture
def configured_logging(monkeypatch):
    """The process's logging as `pointledger serve` sets it up, writing to a buffer; put back after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("INFO", json_lines=True)
    yield stream
    root.handlers, root.level = saved
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).propagate = True


async def test_the_access_line_written_straight_to_the_configured_handler_is_the_records_line(api, configured_logging):
    response = await api.client.post(
        "/graphql",
        json={"query": "query Org { organization { code } }", "operationName": "Org"},
        headers={"Authorization": api.credentials.header, "X-Request-Id": "till-42.8"},
    )
    logging.getLogger("pointledger.access").info("after", extra={"method": "GET", "path": "/x", "status": 204})

    lines = [json.loads(line) for line in configured_logging.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "pointledger.access"]
    assert response.status_code == 200
    assert [(line["message"], line["level"]) for line in access] == [("request", "INFO"), ("after", "INFO")]
    direct, through_a_record = access
    assert list(direct) == [
        "time", "level", "logger", "message", "method", "path", "status", "duration_ms", "request_id", "organization",
        "operation",
    ]  # fmt: skip
    assert list(through_a_record)[:7] == list(direct)[:7]  # the same shape, made both ways
    assert (direct["request_id"], direct["organization"], direct["operation"]) == ("till-42.8", "acme", "Org")
    assert (direct["method"], direct["path"], direct["status"]) == ("POST", "/graphql", 200)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", direct["time"])
