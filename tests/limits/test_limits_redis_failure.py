"""A Redis that goes away fails decisions fast with LimiterUnavailable (the
caller's fail-open/closed policy takes it from there), and one that comes
back serves again. Uses a redis-server of its own on a free port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from keystead.errors import LimiterUnavailable
from keystead.limits import Check, RateLimit, open_limiter
from keystead.limits.redis_sync import SyncRedisLimiter

from ._support import NOW

pytestmark = [pytest.mark.redis, pytest.mark.slow]
CHECK = [Check("{fail}rl", RateLimit("r", 1000, 1.0))]


class Server:
    """One throwaway redis-server: no persistence, loopback only."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.binary = binary
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    def pause(self, paused: bool) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP if paused else signal.SIGCONT)


@pytest.fixture
def server() -> Iterator[Server]:
    own = Server()
    own.start()
    try:
        yield own
    finally:
        if own.process is not None:
            own.pause(False)
        own.stop()


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
