"""What the client gets when the upstream fails: 502, 504, a cut connection;
and HTTPS upstreams whose certificate is checked."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from keystead.service import Keystead

from .gatewaykit import assert_problem, config_of, route, site
from .upstreams import (
    Seen,
    canned,
    echo,
    hang_up,
    self_signed,
    serving,
    silent,
)


async def test_an_upstream_that_hangs_up_gives_502(keystead: Keystead) -> None:
    async with serving(hang_up) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        answer = await s.client.get("/")

    assert "closed the connection" in assert_problem(answer, 502)["detail"]


async def test_an_upstream_nobody_listens_on_gives_502(keystead: Keystead) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    config = config_of([route(f"http://127.0.0.1:{port}", auth="none")])
    async with site(keystead, config) as s:
        answer = await s.client.get("/")

    assert "cannot connect" in assert_problem(answer, 502)["detail"]


async def test_an_upstream_that_sends_garbage_gives_502(keystead: Keystead) -> None:
    async with serving(canned(b"SMTP ready\r\n\r\n")) as up:
        async with site(keystead, config_of([route(up.url, auth="none")])) as s:
            answer = await s.client.get("/")

    assert "not valid HTTP" in assert_problem(answer, 502)["detail"]


async def test_a_status_outside_http_gives_502(keystead: Keystead) -> None:
    async with serving(canned(b"HTTP/1.1 777 Lucky\r\ncontent-length: 0\r\n\r\n")) as up:
        async with site(keystead, config_of([route(up.url, auth="none")])) as s:
            answer = await s.client.get("/")

    assert "777" in assert_problem(answer, 502)["detail"]


async def test_an_upstream_that_does_not_answer_in_time_gives_504(keystead: Keystead) -> None:
    async with serving(silent) as up:
        config = config_of([{"upstream": {"url": up.url, "timeout_s": 0.3}, "auth": "none"}])
        async with site(keystead, config) as s:
            answer = await s.client.get("/slow")

    assert "took too long" in assert_problem(answer, 504)["detail"]


async def test_an_answer_cut_short_is_not_passed_off_as_whole(keystead: Keystead) -> None:
    async def short(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await seen.complete.wait()
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b")
        await writer.drain()
        writer.transport.abort()

    async with serving(short) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        with pytest.raises(httpx.RemoteProtocolError):
            await s.client.get("/")


async def test_https_upstreams_are_verified(keystead: Keystead, tmp_path: Path) -> None:
    tls, cert = self_signed(tmp_path)
    async with serving(echo, tls=tls) as up:
        trusted = {"url": up.tls_url, "ca_file": str(cert)}
        config = config_of(
            [
                {"upstream": trusted, "auth": "none", "match": {"path_prefix": "/trusted"}},
                {"upstream": {"url": up.tls_url}, "auth": "none"},
            ]
        )
        async with site(keystead, config) as s:
            verified = await s.client.get("/trusted")
            unknown_issuer = await s.client.get("/other")

    assert verified.status_code == 200
    assert verified.json()["target"] == "/trusted"
    assert "certificate" in assert_problem(unknown_issuer, 502)["detail"].lower()


async def test_an_upstream_that_does_not_accept_in_time_gives_504(keystead: Keystead) -> None:
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)  # never accepted: once one connection waits, others cannot connect
        port = full.getsockname()[1]
        _, waiting = await asyncio.open_connection("127.0.0.1", port)
        try:
            upstream = {"url": f"http://127.0.0.1:{port}", "connect_timeout_s": 0.3}
            async with site(keystead, config_of([{"upstream": upstream, "auth": "none"}])) as s:
                answer = await s.client.get("/")
        finally:
            waiting.close()

    assert "connecting to the upstream took too long" in assert_problem(answer, 504)["detail"]
