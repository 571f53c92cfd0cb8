"""Timeouts, retries and errors, against real servers on loopback: a scripted one
that fails on demand, and ports where nothing listens. Both clients."""

from __future__ import annotations

import socket
import time

import pytest

from keystead.client import ApiError, ConnectionFailed, Timeout
from keystead.client._retry import RetryPolicy, retry_after

from .flavours import FAST, FLAVOURS, ROOT_KEY, call
from .scripted import Answer, scripted

both = pytest.mark.parametrize("flavour", FLAVOURS)

API = {"id": "api_1", "name": "x"}
BUSY = {"title": "Service Unavailable", "status": 503, "detail": "busy"}


@both
async def test_an_idempotent_call_is_retried_past_5xx(flavour: str) -> None:
    answers = [Answer(503, BUSY), Answer(502, b"<html>"), Answer(200, API)]
    with scripted(*answers) as server:
        got = await call(flavour, server.url, "get_api", "api_1", **FAST)

    assert got == API
    assert server.methods_and_paths == [("GET", "/v1/apis/api_1")] * 3


@both
async def test_retries_give_up_with_the_last_answer(flavour: str) -> None:
    with scripted(*[Answer(504, BUSY)] * 4) as server:
        with pytest.raises(ApiError) as caught:
            await call(flavour, server.url, "get_api", "api_1", retries=2, **FAST)

    assert caught.value.status == 504
    assert len(server.seen) == 3


@both
async def test_retries_zero_disables_them(flavour: str) -> None:
    with scripted(Answer(503, BUSY), Answer(200, API)) as server:
        with pytest.raises(ApiError):
            await call(flavour, server.url, "get_api", "api_1", retries=0, **FAST)

    assert len(server.seen) == 1


@both
async def test_a_post_is_not_retried_once_sent(flavour: str) -> None:
    with scripted(Answer(503, BUSY), Answer(201, API)) as server:
        with pytest.raises(ApiError) as caught:
            await call(flavour, server.url, "create_api", "x", **FAST)

    assert caught.value.status == 503
    assert server.methods_and_paths == [("POST", "/v1/apis")]


@both
async def test_a_short_retry_after_is_honoured(flavour: str) -> None:
    answers = [Answer(429, BUSY, {"Retry-After": "1"}), Answer(200, API)]
    with scripted(*answers) as server:
        started = time.monotonic()
        got = await call(flavour, server.url, "get_api", "api_1", **FAST)

    assert got == API
    assert time.monotonic() - started >= 0.9  # waited the server's second, not the backoff


@both
async def test_a_long_retry_after_is_the_callers_to_handle(flavour: str) -> None:
    with scripted(Answer(503, BUSY, {"Retry-After": "120"}), Answer(200, API)) as server:
        with pytest.raises(ApiError) as caught:
            await call(flavour, server.url, "get_api", "api_1", **FAST)

    assert caught.value.status == 503
    assert len(server.seen) == 1


@both
async def test_a_slow_server_times_out_and_is_retried(flavour: str) -> None:
    with scripted(Answer(200, API, pause_s=1.0), Answer(200, API)) as server:
        got = await call(flavour, server.url, "get_api", "api_1", timeout=0.3, **FAST)

    assert got == API
    assert len(server.seen) == 2


@both
async def test_a_timeout_is_a_connection_failure_without_secrets(flavour: str) -> None:
    with scripted(*[Answer(200, API, pause_s=1.0)] * 2) as server:
        with pytest.raises(Timeout) as caught:
            await call(flavour, server.url, "get_api", "api_1", timeout=0.2, retries=1, **FAST)

    assert isinstance(caught.value, ConnectionFailed)
    assert server.url in str(caught.value)
    assert ROOT_KEY not in str(caught.value) and ROOT_KEY not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@both
async def test_a_slow_post_is_not_sent_twice(flavour: str) -> None:
    with scripted(Answer(201, API, pause_s=1.0), Answer(201, API)) as server:
        with pytest.raises(Timeout):
            await call(flavour, server.url, "create_api", "x", timeout=0.2, **FAST)
        time.sleep(0.9)  # let the first answer finish: nothing else came

    assert len(server.seen) == 1


@both
async def test_nothing_listening_is_retried_even_for_a_post(flavour: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as caught:
            await call(flavour, url, "create_api", "x", retries=3, backoff_base_s=0.05)

    assert not isinstance(caught.value, Timeout)
    assert "cannot reach" in str(caught.value) and "ConnectError" in str(caught.value)
    assert time.monotonic() - started < 2.0


def test_backoff_is_full_jitter_under_the_cap() -> None:
    policy = RetryPolicy(base_s=0.1, cap_s=2.0)
    waits = [policy.backoff(attempt) for attempt in range(12) for _ in range(50)]
    assert all(0.0 <= wait <= 2.0 for wait in waits)
    assert max(policy.backoff(0) for _ in range(200)) <= 0.1
    assert max(waits) > 1.0  # later attempts wait longer, up to the cap


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(" 0 ") == 0.0
    assert retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    for bad in ("soon", "-1", "1.5", "²", "", None):
        assert retry_after(bad) is None, bad
