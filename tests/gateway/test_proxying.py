"""Forwarding: requests and answers pass through whole; hop-by-hop headers,
X-Forwarded-*, Host and paths are handled; kept-alive connections are reused."""

from __future__ import annotations

import asyncio
import json

from keystead.service import Keystead

from .gatewaykit import assert_problem, config_of, head_and_body, raw_exchange, route, site
from .upstreams import (
    Seen,
    canned,
    echo,
    response,
    serving,
)

HOP_REQUEST = (
    b"GET /hop HTTP/1.1\r\n"
    b"Host: gw.test\r\n"
    b"Connection: keep-alive, X-Private-Hop\r\n"
    b"X-Private-Hop: 1\r\n"
    b"Keep-Alive: timeout=5\r\n"
    b"TE: trailers\r\n"
    b"Trailer: X-Checksum\r\n"
    b"Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
    b"Proxy-Connection: keep-alive\r\n"
    b"Expect: something\r\n"
    b"X-End-To-End: kept\r\n"
    b"\r\n"
)


async def test_a_request_and_its_answer_pass_through_whole(keystead: Keystead) -> None:
    async with serving(echo) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        answer = await s.client.post("/orders/7?expand=items&x=%2F", content=b'{"n": 1}')

    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/json"
    seen = answer.json()
    assert seen["method"] == "POST"
    assert seen["target"] == "/orders/7?expand=items&x=%2F"
    assert seen["body"] == '{"n": 1}'
    assert ["content-length", "8"] in seen["headers"]
    assert int(answer.headers["content-length"]) == len(answer.content)


async def test_hop_by_hop_headers_are_removed_towards_the_upstream(keystead: Keystead) -> None:
    async with serving(echo) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        raw = await raw_exchange(s.url, HOP_REQUEST, until=b"}")

    status, _, body = head_and_body(raw)
    assert status.startswith("HTTP/1.1 200")
    names = {name for name, _ in json.loads(body)["headers"]}
    for hop in (
        "connection",
        "x-private-hop",
        "keep-alive",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
        "expect",
        "transfer-encoding",
    ):
        assert hop not in names, hop
    assert "x-end-to-end" in names


async def test_hop_by_hop_headers_are_removed_towards_the_client(keystead: Keystead) -> None:
    answer = response(
        200,
        b"fine",
        [
            ("Connection", "X-Upstream-Hop"),
            ("X-Upstream-Hop", "secret"),
            ("Keep-Alive", "timeout=30"),
            ("Proxy-Authenticate", "Basic"),
            ("Trailer", "X-Sum"),
            ("Upgrade", "h2c"),
            ("Proxy-Connection", "keep-alive"),
            ("X-End-To-End", "kept"),
            ("Via", "1.0 origin"),
        ],
    )
    async with serving(canned(answer)) as up:
        async with site(keystead, config_of([route(up.url, auth="none")])) as s:
            raw = await raw_exchange(s.url, b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n", until=b"fine")

    _, headers, body = head_and_body(raw)
    assert body == b"fine"
    for hop in ("x-upstream-hop", "keep-alive", "proxy-authenticate", "trailer", "upgrade"):
        assert hop not in headers, hop
    assert "proxy-connection" not in headers
    assert headers["x-end-to-end"] == "kept"
    assert headers["via"] == "1.0 origin, 1.1 keystead"


async def test_forwarded_headers_are_appended_and_host_is_the_upstreams(
    keystead: Keystead,
) -> None:
    async with serving(echo) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        answer = await s.client.get(
            "/", headers={"host": "shop.example", "x-forwarded-for": "203.0.113.9", "via": "1.0 lb"}
        )

    headers = dict(answer.json()["headers"])
    assert headers["host"] == f"127.0.0.1:{up.port}"
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "shop.example"
    assert headers["via"] == "1.0 lb, 1.1 keystead"


async def test_preserve_host_keeps_the_clients_host(keystead: Keystead) -> None:
    async with serving(echo) as up:
        config = config_of([route(up.url, auth="none", preserve_host=True)])
        async with site(keystead, config) as s:
            answer = await s.client.get("/", headers={"host": "shop.example:8443"})

    assert dict(answer.json()["headers"])["host"] == "shop.example:8443"


async def test_strip_prefix_and_the_upstream_base_path_shape_the_target(
    keystead: Keystead,
) -> None:
    async with serving(echo) as up:
        config = config_of(
            [
                {
                    **route(f"{up.url}/base/"),
                    "auth": "none",
                    "match": {"path_prefix": "/api/"},
                    "strip_prefix": True,
                }
            ]
        )
        async with site(keystead, config) as s:
            nested = await s.client.get("/api/v1/items%2Fx?q=1")
            exact = await s.client.get("/api/")
            encoded = await s.client.get("/%61pi/caf%C3%A9")

    assert nested.json()["target"] == "/base/v1/items%2Fx?q=1"
    assert exact.json()["target"] == "/base/"
    assert encoded.json()["target"] == "/base/caf%C3%A9"


async def test_head_and_interim_answers_keep_the_connection_usable(keystead: Keystead) -> None:
    async def varied(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await seen.complete.wait()
        if seen.method == "HEAD":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + response(200, b"hello"))

    async with serving(varied) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        head = await s.client.head("/")
        got = await s.client.get("/")
        again = await s.client.get("/")

    assert head.status_code == 200
    assert head.headers["content-length"] == "5"
    assert head.content == b""
    assert (got.status_code, got.content, again.content) == (200, b"hello", b"hello")
    assert up.connections == 1  # one kept-alive upstream connection served all three


async def test_a_kept_connection_the_upstream_dropped_is_retried_once(keystead: Keystead) -> None:
    answered: set[int] = set()

    async def once_per_connection(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await seen.complete.wait()
        if id(writer) in answered:  # closes as if its keep-alive timeout had just passed
            writer.transport.abort()
            return
        answered.add(id(writer))
        writer.write(response(200, b"ok"))

    async with serving(once_per_connection) as up:
        async with site(keystead, config_of([route(up.url, auth="none")])) as s:
            statuses = [(await s.client.get("/")).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert up.connections == 3


async def test_paths_with_dot_segments_are_refused(keystead: Keystead) -> None:
    async with serving(echo) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        plain = await raw_exchange(
            s.url, b"GET /public/../admin HTTP/1.1\r\nHost: g\r\n\r\n", until=b"}"
        )
        encoded = await s.client.get("/public/%2e%2e/admin")

    assert head_and_body(plain)[0].startswith("HTTP/1.1 400")
    assert_problem(encoded, 400)
    assert up.seen == []
