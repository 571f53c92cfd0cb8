"""Slow and idle clients against real ``keystead serve`` and ``keystead gateway``
processes, over real sockets: a connection that sends nothing, half its headers,
or its headers a byte at a time is closed once the header timeout has passed; past
the connection bound, requests are answered 503 and served again once it clears."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import yaml

from .processes import free_port, keystead, start, stop, store_env, wait_until_up

pytestmark = pytest.mark.slow

HEADER_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 8
SLACK_S = 1.5  # a loaded machine is late to close; far below uvicorn's "never"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """Ports of a running ``keystead serve`` and a ``keystead gateway`` in front of
    it, both with a 1 s header timeout and a bound of 8 connections."""
    home = tmp_path_factory.mktemp("slow-clients")
    env = store_env(home, "slow") | {
        "KEYSTEAD_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "KEYSTEAD_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "KEYSTEAD_SCHEDULER_INTERVAL_S": "0",
    }
    done = subprocess.run(keystead("init", "--json"), env=env, cwd=home, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["root_key"]
    serve_port, gateway_port = free_port(), free_port()
    config = {
        "listen": {"host": "127.0.0.1", "port": gateway_port},
        "routes": [
            {
                "match": {"path_prefix": "/healthz"},
                "upstream": {"url": f"http://127.0.0.1:{serve_port}"},
                "auth": "none",
            }
        ],
    }
    (home / "gateway.yaml").write_text(yaml.safe_dump(config))
    serve_log, gateway_log = home / "serve.log", home / "gateway.log"
    serve = start(keystead("serve", "--port", str(serve_port)), home, env, serve_log)
    gateway = start(keystead("gateway", "--config", "gateway.yaml"), home, env, gateway_log)
    try:
        wait_until_up(f"http://127.0.0.1:{serve_port}/healthz", serve, serve_log)
        wait_until_up(f"http://127.0.0.1:{gateway_port}/healthz", gateway, gateway_log)
        yield {"serve": serve_port, "gateway": gateway_port}
    finally:
        stop(gateway)
        stop(serve)
    for log in (serve_log, gateway_log):
        assert "Traceback" not in log.read_text()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(HEADER_TIMEOUT_S + SLACK_S + 5)
    return sock


def _seconds_until_closed(sock: socket.socket, started: float) -> float:
    """Read until the server closes; what it sent must not be an answer."""
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass
    assert received == b"", received
    return time.monotonic() - started


def _read_answer(sock: socket.socket) -> bytes:
    """One whole answer with a Content-Length body."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(4096)
    return answer


def _get(port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code


@pytest.mark.parametrize("face", ["serve", "gateway"])
def test_a_silent_connection_is_closed_after_the_header_timeout(
    servers: dict[str, int], face: str
) -> None:
    started = time.monotonic()
    with _connect(servers[face]) as sock:
        elapsed = _seconds_until_closed(sock, started)
    assert HEADER_TIMEOUT_S - 0.2 <= elapsed <= HEADER_TIMEOUT_S + SLACK_S


@pytest.mark.parametrize("face", ["serve", "gateway"])
def test_half_headers_are_closed_after_the_header_timeout(
    servers: dict[str, int], face: str
) -> None:
    started = time.monotonic()
    with _connect(servers[face]) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slo")
        elapsed = _seconds_until_closed(sock, started)
    assert elapsed <= HEADER_TIMEOUT_S + SLACK_S


@pytest.mark.parametrize("face", ["serve", "gateway"])
def test_headers_sent_a_byte_at_a_time_do_not_extend_the_deadline(
    servers: dict[str, int], face: str
) -> None:
    started = time.monotonic()
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: a\r\n" * 20
    closed_after = None
    with _connect(servers[face]) as sock:
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
            time.sleep(0.1)
        if closed_after is None:
            closed_after = _seconds_until_closed(sock, started)
    assert closed_after <= HEADER_TIMEOUT_S + SLACK_S


@pytest.mark.parametrize("face", ["serve", "gateway"])
def test_a_kept_alive_connection_has_the_deadline_for_its_next_request(
    servers: dict[str, int], face: str
) -> None:
    with _connect(servers[face]) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _read_answer(sock).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and no more
        elapsed = _seconds_until_closed(sock, started)
    assert elapsed <= HEADER_TIMEOUT_S + SLACK_S


@pytest.mark.parametrize("face", ["serve", "gateway"])
def test_past_the_connection_bound_requests_get_503_until_it_clears(
    servers: dict[str, int], face: str
) -> None:
    port = servers[face]
    held = [_connect(port) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)  # every connection accepted
        refused = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["connection"] == "close"
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + HEADER_TIMEOUT_S + SLACK_S
    while _get(port) != 200:
        assert time.monotonic() < deadline, "still refused after the bound cleared"
        time.sleep(0.1)


@pytest.mark.parametrize("face", ["serve", "gateway"])
def test_idle_connections_past_the_bound_are_dropped_by_the_header_timeout(
    servers: dict[str, int], face: str
) -> None:
    """Clients that never close their silent connections do not keep the
    server refusing: the header timeout frees their places."""
    port = servers[face]
    held = [_connect(port) for _ in range(MAX_CONNECTIONS * 4)]
    try:
        time.sleep(HEADER_TIMEOUT_S + SLACK_S)
        assert _get(port) == 200
        for sock in held:
            assert sock.recv(1) == b""  # closed by the server
    finally:
        for sock in held:
            sock.close()
