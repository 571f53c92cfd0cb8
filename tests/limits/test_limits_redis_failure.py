"""A Redis that goes away fails decisions fast with LimiterUnavailable (the
caller's fail-open/closed policy takes it from there), and one that comes
back serves again. Uses a redis-server of its own on a free port
(``tests/redisserver.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from keystead.errors import LimiterUnavailable
from keystead.limits import Check, RateLimit, open_limiter
from keystead.limits.redis_sync import SyncRedisLimiter
from redisserver import Server, running

from ._support import NOW

pytestmark = [pytest.mark.redis, pytest.mark.slow]
CHECK = [Check("{fail}rl", RateLimit("r", 1000, 1.0))]


@pytest.fixture
def server() -> Iterator[Server]:
    with running() as own:
        yield own


CLIENTS = pytest.mark.parametrize("query", ["", "?client=redis-py"], ids=["resp", "redis-py"])


@CLIENTS
async def test_down_fails_fast_and_recovers(server: Server, query: str) -> None:
    limiter = open_limiter(server.url + query)
    try:
        assert (await limiter.decide(CHECK, NOW)).allowed
        server.stop()
        started = time.monotonic()
        with pytest.raises(LimiterUnavailable):
            await limiter.decide(CHECK, NOW)
        with pytest.raises(LimiterUnavailable):
            await limiter.ping()
        assert time.monotonic() - started < 3.0
        server.start()
        assert (await limiter.decide(CHECK, NOW)).allowed
    finally:
        await limiter.close()


@CLIENTS
async def test_stalled_server_times_out(server: Server, query: str) -> None:
    limiter = open_limiter(server.url + query)
    try:
        assert (await limiter.decide(CHECK, NOW)).allowed
        server.pause(True)
        started = time.monotonic()
        with pytest.raises(LimiterUnavailable):
            await limiter.decide(CHECK, NOW)
        assert time.monotonic() - started < 3.0  # socket timeout 0.5 s, one retry
        server.pause(False)
        assert (await limiter.decide(CHECK, NOW)).allowed
    finally:
        await limiter.close()


def test_sync_limiter_down_and_back(server: Server) -> None:
    limiter = SyncRedisLimiter(server.url)
    try:
        assert limiter.decide_now(CHECK, NOW).allowed
        server.stop()
        started = time.monotonic()
        with pytest.raises(LimiterUnavailable):
            limiter.decide_now(CHECK, NOW)
        assert time.monotonic() - started < 3.0
        server.start()  # a new server: the script is loaded again on NOSCRIPT
        assert limiter.decide_now(CHECK, NOW).allowed
        server.pause(True)
        started = time.monotonic()
        with pytest.raises(LimiterUnavailable):
            limiter.decide_now(CHECK, NOW)
        assert time.monotonic() - started < 2.0
        server.pause(False)
        assert limiter.decide_now(CHECK, NOW).allowed
    finally:
        limiter.close()
