"""The verify cache honours revocation: with ``invalidation=True`` the client
follows the server's change stream, against a real server (uvicorn on loopback)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from keystead.client import AsyncClient, Client, ConnectionFailed, VerifyResult
from keystead.client._cache import VerifyCache
from keystead.client._invalidation import Invalidation, SseEvent, SseParser
from keystead.config import Settings
from keystead.http import events

from .live import LiveServer, live_server

PROPAGATION_S = 1.0


def _wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _issue(live: LiveServer) -> tuple[Client, dict[str, str]]:
    admin = Client(live.url, live.root_key)
    api = admin.create_api("guarded")
    return admin, admin.create_key(api["id"])


def test_a_revocation_reaches_another_clients_cache_within_a_second(live: LiveServer) -> None:
    admin, key = _issue(live)
    with admin, Client(live.url, live.root_key, verify_cache_ttl=300, invalidation=True) as app:
        _wait_for(lambda: app.invalidation_ready)
        assert not app.verify(key["key"]).cached
        assert app.verify(key["key"]).cached

        admin.revoke_key(key["id"])
        revoked_at = time.monotonic()
        while (answer := app.verify(key["key"])).cached:
            assert time.monotonic() - revoked_at < PROPAGATION_S, "still answered from cache"
            time.sleep(0.002)

    assert (answer.valid, answer.code) == (False, "REVOKED")


async def test_the_async_client_honours_revocation_too(live: LiveServer) -> None:
    admin, key = await asyncio.to_thread(_issue, live)
    async with AsyncClient(live.url, live.root_key, verify_cache_ttl=300, invalidation=True) as app:
        assert not (await app.verify(key["key"])).cached  # starts the listener
        while not app.invalidation_ready:
            await asyncio.sleep(0.005)
        await app.verify(key["key"])
        assert (await app.verify(key["key"])).cached

        await asyncio.to_thread(admin.disable_key, key["id"])
        disabled_at = time.monotonic()
        while (answer := await app.verify(key["key"])).cached:
            assert time.monotonic() - disabled_at < PROPAGATION_S, "still answered from cache"
            await asyncio.sleep(0.002)
    admin.close()

    assert answer.code == "DISABLED"


def test_other_changes_empty_the_cache(live: LiveServer) -> None:
    admin, key = _issue(live)
    other = admin.create_key(admin.get_key(key["id"])["api_id"])
    with admin, Client(live.url, live.root_key, verify_cache_ttl=300, invalidation=True) as app:
        _wait_for(lambda: app.invalidation_ready)
        app.verify(key["key"])
        app.verify(other["key"])
        cache = app.verify_cache
        assert cache is not None and len(cache) == 2

        admin.update_key(other["id"], {"name": "renamed"})
        _wait_for(lambda: len(cache) == 1)  # a key's change: that key only
        admin.put_owner("org_1", ratelimits=[{"name": "r", "limit": 5, "duration_s": 1}])
        _wait_for(lambda: len(cache) == 0)  # anything else: everything


def test_streams_the_server_ends_are_resumed_without_a_flush(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "DEFAULT_STREAM_S", 0.2)
    admin, key = _issue(live)
    with admin, Client(live.url, live.root_key, verify_cache_ttl=300, invalidation=True) as app:
        _wait_for(lambda: app.invalidation_ready)
        app.verify(key["key"])
        cache = app.verify_cache
        assert cache is not None and len(cache) == 1
        time.sleep(1.0)  # several streams ended and were resumed meanwhile
        # read the cache itself: a verify may fall between a stream's end and
        # its resumption, when the cache does not answer (but is not emptied)
        kept = len(cache)
        _wait_for(lambda: app.invalidation_ready)

        admin.revoke_key(key["id"])
        _wait_for(lambda: not app.verify(key["key"]).cached, PROPAGATION_S)

    assert kept == 1  # a flush (a failed stream, an `all`) would have emptied it


def test_when_the_stream_is_lost_the_cache_is_emptied(settings: Settings) -> None:
    with live_server(settings) as live:
        admin, key = _issue(live)
        app = Client(live.url, live.root_key, verify_cache_ttl=300, invalidation=True, retries=0)
        _wait_for(lambda: app.invalidation_ready)
        app.verify(key["key"])
        admin.close()
    # the server is gone: nothing may be answered from what it said before
    _wait_for(lambda: not app.invalidation_ready)
    cache = app.verify_cache
    assert cache is not None and len(cache) == 0
    with pytest.raises(ConnectionFailed):
        app.verify(key["key"])
    started = time.monotonic()
    app.close()
    assert time.monotonic() - started < 1.0


def test_closing_stops_the_listener_at_once(live: LiveServer) -> None:
    app = Client(live.url, live.root_key, verify_cache_ttl=300, invalidation=True)
    _wait_for(lambda: app.invalidation_ready)

    started = time.monotonic()
    app.close()

    assert time.monotonic() - started < 1.0
    assert not app._listener


# -- the stream's state, line by line --------------------------------------------------


def _feed(parser: SseParser, text: str) -> list[SseEvent]:
    return [event for line in text.split("\n") if (event := parser.feed(line)) is not None]


def test_the_event_stream_format() -> None:
    text = (
        ": ping\n\n"
        'id: ab.1\ndata: {"kind":"key",\ndata: "id":"key_1"}\n\n'
        "event: ready\nid: ab.2\ndata: {}\n\n"
        "retry: 10\nunknown\n\n"
    )
    events_seen = _feed(SseParser(), text)

    assert events_seen == [
        SseEvent("message", '{"kind":"key",\n"id":"key_1"}', "ab.1"),
        SseEvent("ready", "{}", "ab.2"),
    ]


def test_the_state_evicts_flushes_and_resumes() -> None:
    cache = VerifyCache(60)
    state = Invalidation(cache)

    def fill() -> None:
        for key_id in ("key_7", "key_8"):
            result = VerifyResult(valid=True, code="VALID", key_id=key_id)
            cache.put(key_id.encode(), result, cache.generation)

    def held() -> set[str]:
        return {k for k in ("key_7", "key_8") if cache.get(k.encode()) is not None}

    def read(text: str) -> None:
        for line in text.split("\n"):
            state.line(line)

    assert state.headers() == {"Accept": "text/event-stream"}
    fill()
    read('id: e.1\ndata: {"kind":"all"}\n\nevent: ready\nid: e.1\ndata: {}\n\n')
    assert state.ready and held() == set()
    fill()
    read('id: e.2\ndata: {"kind":"key","id":"key_7"}\n\n')
    assert held() == {"key_8"}
    read('id: e.3\ndata: {"kind":"plan","id":"plan_1"}\n\n')
    assert held() == set()
    fill()
    read("id: e.4\ndata: not json\n\n")
    assert held() == set() and state.events == 4
    assert state.headers()["Last-Event-ID"] == "e.4"

    fill()
    state.ended()  # a clean end: resume, keeping the cache
    assert not state.ready and held() == {"key_7", "key_8"}
    wait = state.failed(OSError("gone"))  # a failure: nothing may be trusted
    assert not state.ready and held() == set() and 0 < wait <= 5.0
