"""What one client may hold of `pointledger serve`: the real server in a subprocess on a free
loopback port (a fresh SQLite file), met with real sockets, once on each HTTP implementation (h11
and httptools: each enforces every limit). Its limits are set small here so that each test takes
a second or two: headers within 2 s, a body within 1 s plus 1 s per KiB, 4
requests or connections at once, 6 connections at most. Every socket has a timeout, so a server
that does not enforce a limit fails a test instead of hanging it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.sync import client as websocket_client
from websockets.typing import Subprotocol

SOCKET_TIMEOUT_SECONDS = 20
LIMITS = {
    "POINTLEDGER_HEADER_TIMEOUT_SECONDS": "2",
    "POINTLEDGER_BODY_TIMEOUT_SECONDS": "1",
    "POINTLEDGER_BODY_RATE_MIN_BYTES": "1024",
    "POINTLEDGER_LIMIT_CONCURRENCY": "4",
    "POINTLEDGER_CONNECTIONS_MAX": "6",
}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    authorization: bytes  # the demo organisation's key, as an HTTP header line

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=SOCKET_TIMEOUT_SECONDS)

    def health_status(self) -> int:
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=SOCKET_TIMEOUT_SECONDS)
        try:
            client.request("GET", "/health")
            return client.getresponse().status
        finally:
            client.close()

    def resident_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kib) * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module", params=["h11", "httptools"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("serve")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("POINTLEDGER_")}
    environment |= LIMITS | {
        "POINTLEDGER_HTTP_IMPLEMENTATION": request.param,
        "POINTLEDGER_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'pointledger.db'}",
        "POINTLEDGER_IMPORT_DIRECTORY": str(directory / "imports"),
        "POINTLEDGER_MAINTENANCE_INTERVAL_SECONDS": "0",
        "POINTLEDGER_LOG_LEVEL": "ERROR",
    }
    # The demo organisation and its key (written to the directory), so a request's body is read.
    (directory / "demo").mkdir()
    shutil.copyfile(Path(__file__).parents[1] / "demo" / "org.toml", directory / "demo" / "org.toml")
    program = str(Path(sys.executable).parent / "pointledger")
    subprocess.run([program, "demo"], cwd=directory, env=environment, check=True, capture_output=True)
    key = json.loads((directory / ".pointledger-demo-key.json").read_text())
    authorization = b"Authorization: Basic " + base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()) + b"\r\n"
    port = free_port()
    process = subprocess.Popen(
        [program, "serve", "--port", str(port)], cwd=directory, env=environment, stderr=subprocess.DEVNULL
    )
    running = Server(process, port, authorization)
    try:
        for _ in range(600):  # migrating a fresh file and starting: seconds
            assert process.poll() is None, "the server exited"
            try:
                if running.health_status() == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def answer_or_close(connection: socket.socket) -> bytes:
    """What the server sent before it closed the connection (b"" when it only closed it)."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass  # closed with our unread bytes in its buffer: the kernel resets
    return received


def read_responses(connection: socket.socket, count: int = 1) -> list[tuple[int, bytes]]:
    """The status and body of the server's next `count` answers (however many packets they take)."""
    reader = connection.makefile("rb")
    answers = []
    for _ in range(count):
        status = int(reader.readline().split()[1])
        headers = http.client.parse_headers(reader)
        answers.append((status, reader.read(int(headers["content-length"]))))
    return answers


def closed_by_server(connection: socket.socket) -> bool:
    """Whether the server has closed the connection (without waiting for it)."""
    connection.setblocking(False)
    try:
        return connection.recv(65536) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        connection.setblocking(True)


def trickle(connection: socket.socket, data: bytes, piece_bytes: int = 1) -> int:
    """Send `data` a piece every 0.1 s; the number of bytes sent when the server closed (or all)."""
    for sent in range(0, len(data), piece_bytes):
        if closed_by_server(connection):
            return sent
        try:
            connection.sendall(data[sent : sent + piece_bytes])
        except (BrokenPipeError, ConnectionResetError):
            return sent
        time.sleep(0.1)
    return len(data)


def graphql_head(server: Server, body_bytes: int) -> bytes:
    """A POST to /graphql up to its body: the server reads the body before it answers."""
    return (
        b"POST /graphql HTTP/1.1\r\nHost: pointledger\r\nContent-Type: application/json\r\n"
        + server.authorization
        + b"Content-Length: %d\r\n\r\n" % body_bytes
    )


def test_oversize_headers_are_refused_as_they_arrive_and_memory_stays_flat(server):
    before = server.resident_bytes()
    partial = b"GET /health HTTP/1.1\r\nHost: pointledger\r\nX-Big: " + b"a" * (8 * 1024 * 1024)
    connections, answers = [], []
    for _ in range(5):  # 40 MiB of headers that never end, on connections held open
        connection = server.connect()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused while it was sent
            connection.sendall(partial)
        connections.append(connection)
    grown = server.resident_bytes() - before
    for connection in connections:
        answers.append(answer_or_close(connection).split(b"\r\n", 1)[0])
        connection.close()

    assert set(answers) <= {b"HTTP/1.1 400 Bad Request", b""}
    assert grown < 16 * 1024 * 1024
    assert server.health_status() == 200


def test_a_large_body_sent_with_its_headers_is_not_counted_as_headers(server):
    body = b'{"query": "{ __typename }"}'.ljust(200 * 1024)  # past the 64 KiB of headers allowed
    with server.connect() as connection:
        connection.sendall(graphql_head(server, len(body)) + body)  # one write: a read may take both
        answer = read_responses(connection)

    assert answer == [(200, b'{"data":{"__typename":"Query"}}')]


def test_kept_alive_and_pipelined_requests_are_served_past_the_header_timeout(server):
    request = b"GET /health HTTP/1.1\r\nHost: pointledger\r\n\r\n"
    answers = []
    with server.connect() as connection:
        for _ in range(3):  # 3 s on one connection: the 2 s for headers start anew with each request
            connection.sendall(request * 2)  # pipelined: the second is read while the first is answered
            answers += [status for status, _ in read_responses(connection, 2)]
            time.sleep(1)

    assert answers == [200] * 6


def test_a_websocket_upgrade_is_handed_to_the_app_and_outlives_the_read_deadlines(server):
    credentials = server.authorization.decode().split(": ", 1)[1].strip()
    with websocket_client.connect(
        f"ws://127.0.0.1:{server.port}/graphql",
        subprotocols=[Subprotocol("graphql-transport-ws")],
        open_timeout=SOCKET_TIMEOUT_SECONDS,
        close_timeout=1,
    ) as websocket:
        websocket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": credentials}}))
        acknowledged = json.loads(websocket.recv(timeout=SOCKET_TIMEOUT_SECONDS))
        time.sleep(2.5)  # past the header (2 s) and body (1 s) deadlines: the websocket owes neither
        websocket.send(json.dumps({"type": "ping"}))
        answered = json.loads(websocket.recv(timeout=SOCKET_TIMEOUT_SECONDS))

    assert (acknowledged, answered) == ({"type": "connection_ack"}, {"type": "pong"})


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_client_trickling_its_headers_or_body_is_disconnected(server, part):
    body = b'{"query": "{ __typename }"}'.ljust(200)
    head, trickled = (
        (b"", b"GET /health HTTP/1.1\r\nHost: pointledger\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n")
        if part == "headers"
        else (graphql_head(server, len(body)), body)
    )
    with server.connect() as connection:
        connection.sendall(head)
        sent = trickle(connection, trickled)  # 15-20 s for all of it; the server allows 2 s (headers), 1.2 (body)

    assert 0 < sent < len(trickled)
    assert server.health_status() == 200


def test_a_body_at_a_fair_rate_may_take_longer_than_the_body_timeout(server):
    body = b'{"query": "{ __typename }"}'.ljust(3000)
    with server.connect() as connection:
        connection.sendall(graphql_head(server, len(body)))
        sent = trickle(connection, body, piece_bytes=256)  # 2.5 KiB a second, for 1.2 s

        answer = read_responses(connection)

    assert sent == len(body)
    assert answer == [(200, b'{"data":{"__typename":"Query"}}')]


def test_requests_past_the_concurrency_limit_get_503_connections_past_the_cap_are_closed(server):
    idle = [server.connect() for _ in range(4)]  # open, no request yet: they count
    busy = server.health_status()
    idle += [server.connect() for _ in range(2)]  # 6: the cap
    with server.connect() as refused:
        closed = answer_or_close(refused) == b""
    for connection in idle:
        connection.close()
    statuses = [server.health_status()]
    while statuses[-1] == 503 and len(statuses) < 100:  # until the server has seen them close
        time.sleep(0.05)
        statuses.append(server.health_status())

    assert busy == 503
    assert closed
    assert statuses[-1] == 200
