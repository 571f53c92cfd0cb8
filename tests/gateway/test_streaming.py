"""Bodies stream both ways without being held whole; body limits and slow or
vanishing clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from keystead.service import Keystead

from .gatewaykit import assert_problem, config_of, head_and_body, raw_exchange, route, site
from .upstreams import (
    Seen,
    Stream,
    echo,
    response,
    serving,
    silent,
)


async def test_a_chunked_answer_streams_before_the_upstream_has_finished(
    keystead: Keystead,
) -> None:
    stream = Stream(first=b"first part;", rest=[b"second;", b"third"])
    async with serving(stream) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        async with s.client.stream("GET", "/events") as answer:
            parts = answer.aiter_raw()
            first = await anext(parts)
            upstream_was_done = stream.finished.is_set()
            stream.go.set()
            rest = b"".join([chunk async for chunk in parts])

    assert answer.status_code == 200
    assert "content-length" not in answer.headers
    assert first == b"first part;"
    assert not upstream_was_done
    assert rest == b"second;third"


async def test_a_chunked_request_body_streams_to_the_upstream(keystead: Keystead) -> None:
    arrived_early: list[bool] = []

    async def upload(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await seen.first_body.wait()
        arrived_early.append(not seen.complete.is_set())
        await echo(seen, writer)

    async with serving(upload) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:

        async def body() -> AsyncIterator[bytes]:
            yield b"part one;"
            while not up.seen or not up.seen[0].first_body.is_set():
                await asyncio.sleep(0.01)
            yield b"part two"

        answer = await s.client.post("/upload", content=body())

    seen = answer.json()
    assert answer.status_code == 201
    assert seen["body"] == "part one;part two"
    assert ["transfer-encoding", "chunked"] in seen["headers"]
    assert arrived_early == [True]


async def test_a_large_body_passes_both_ways_unchanged(keystead: Keystead) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB

    async def mirror(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await seen.complete.wait()
        writer.write(response(200, bytes(seen.body)))

    async with serving(mirror) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        answer = await s.client.put("/blob", content=payload)

    assert answer.status_code == 200
    assert answer.content == payload
    assert up.seen[0].header("content-length") == str(len(payload))


async def test_an_answer_ended_by_closing_the_connection_is_relayed(keystead: Keystead) -> None:
    async def until_close(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await seen.complete.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    async with serving(until_close) as up:
        async with site(keystead, config_of([route(up.url, auth="none")])) as s:
            answer = await s.client.get("/")

    assert answer.status_code == 200
    assert answer.content == b"all of it"


async def test_a_body_over_the_route_limit_gives_413(keystead: Keystead) -> None:
    async with serving(echo) as up:
        config = config_of([route(up.url, auth="none", max_body_bytes=1000)])
        async with site(keystead, config) as s:
            declared = await s.client.post("/", content=b"x" * 1001)

            async def endless() -> AsyncIterator[bytes]:
                for _ in range(100):
                    yield b"y" * 100

            streamed = await s.client.post("/", content=endless())
            fits = await s.client.post("/", content=b"x" * 1000)

    assert "1000 bytes" in assert_problem(declared, 413)["detail"]
    assert_problem(streamed, 413)
    assert fits.status_code == 201
    assert [seen.header("content-length") for seen in up.seen if seen.complete.is_set()] == ["1000"]


async def test_a_body_that_does_not_arrive_in_time_gives_408(keystead: Keystead) -> None:
    async with serving(echo) as up:
        config = config_of([{"upstream": {"url": up.url, "timeout_s": 0.3}, "auth": "none"}])
        async with site(keystead, config) as s:
            raw = await raw_exchange(
                s.url,
                b"POST /slow-upload HTTP/1.1\r\nHost: g\r\nContent-Length: 100\r\n\r\nonly some",
                until=b"}",
            )

    status, headers, body = head_and_body(raw)
    assert status.startswith("HTTP/1.1 408")
    assert headers["content-type"] == "application/problem+json"
    assert b"did not arrive in time" in body
    assert not up.seen or not up.seen[0].complete.is_set()


async def test_a_client_that_leaves_cancels_the_upstream_request(keystead: Keystead) -> None:
    async with serving(silent) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        host, port = s.url.removeprefix("http://").split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /long-poll HTTP/1.1\r\nHost: gw\r\n\r\n")
        await writer.drain()
        while not up.seen:
            await asyncio.sleep(0.01)
        writer.close()
        await asyncio.wait_for(up.closed_by_peer.wait(), 5)
