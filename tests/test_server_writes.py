"""The answers of ``keystead._server``'s protocol, over a real socket to uvicorn: the
head and the body leave together, yet a head sent alone (a stream waiting for more
of the request, a ``HEAD`` answer, a ``100 Continue``) still reaches the client
before anything else happens."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from keystead._server import PROTOCOL


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/echo``: the body read whole, then answered; ``/stream``: the head first,
    then (once the client, having read it, sends the rest of its body) the body."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await receive()  # the first chunk
        await send({"type": "http.response.start", "status": 200, "headers": []})
        rest = await receive()
        await send({"type": "http.response.body", "body": b"got " + rest["body"]})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = b"echo " + body
    headers = [(b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free: int = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free, http=PROTOCOL, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    assert server.started
    yield free
    server.should_exit = True
    thread.join(10)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_until(sock: socket.socket, end: bytes, received: bytes = b"") -> bytes:
    while end not in received:
        chunk = sock.recv(4096)
        assert chunk, f"closed before {end!r}: {received!r}"
        received += chunk
    return received


def test_answers_follow_each_other_on_one_connection(port: int) -> None:
    with _connect(port) as sock:
        for word in (b"one", b"two"):
            request = b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n%s"
            sock.sendall(request % (len(word), word))
            answer = _read_until(sock, b"echo " + word)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
            assert answer.endswith(b"\r\n\r\necho " + word)


def test_a_head_sent_alone_reaches_the_client_before_the_body(port: int) -> None:
    """The app answers its head, then waits for more of the request, which this
    client sends only once it has read that head: a held head would hang here."""
    with _connect(port) as sock:
        head = b"POST /stream HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
        sock.sendall(head + b"3\r\nabc\r\n")
        received = _read_until(sock, b"\r\n\r\n")
        assert received.startswith(b"HTTP/1.1 200 OK\r\n")
        sock.sendall(b"4\r\nmore\r\n0\r\n\r\n")
        assert b"got more" in _read_until(sock, b"got more", received)


def test_a_head_answer_has_its_head(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(b"HEAD /echo HTTP/1.1\r\nhost: x\r\n\r\n")
        answer = _read_until(sock, b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"content-length: 5" in answer


def test_100_continue_is_sent_before_the_body_is(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n"
        )
        assert _read_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"hi")
        assert _read_until(sock, b"echo hi").endswith(b"\r\n\r\necho hi")
